// The package as users get it, made once per test run and shared by every journey: packed from a fresh copy of the
// sources (as from a clone: no dist/, so `prepack` must build), installed into consumer folders outside the repo,
// and helpers that run its bin and small Node programs there.
//
// Once per run across vitest's worker processes: the first caller takes a lock (an atomic mkdir in the run's folder
// that test/global-setup.ts provides), packs and installs, and writes `ready.json`; every other
// caller waits for that file (fs.watch, with a slow poll as a safety net). The folder is removed at the end of the run.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, watch } from "node:fs";
import { copyFile, mkdir, readdir, readFile, rename, symlink, writeFile } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The optional Prism peers, pinned as README's Install section tells users to install them for `kling-v2a mock`. */
export const PRISM_PEERS = ["@stoplight/prism-core@5.8.0", "@stoplight/prism-http@5.12.0", "@stoplight/prism-http-server@5.12.2"];

export interface InstalledPackage {
  /** The `npm pack` tarball. */
  tarball: string;
  /** Every path in the tarball, sorted (from `npm pack --json`). */
  files: string[];
  /** Whether the fresh copy had a dist/ before `npm pack` (it must not: the point is that prepack builds). */
  distBeforePack: boolean;
  /** A consumer with the tarball and the optional Prism peers: what the journeys drive. */
  consumer: string;
  /** A consumer with the tarball alone, as `npm i kling-video-to-audio` leaves it. */
  bare: string;
  /** Top-level packages in the bare consumer's node_modules, sorted. */
  bareTopLevel: string[];
  /** Copy + `npm pack` (the prepack build included), and the two installs (run side by side), in ms. */
  packMs: number;
  installMs: number;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  /** Added to the clean environment (see `cleanEnv`). */
  env?: Record<string, string>;
  /** Kill the process (SIGKILL) after this long; generous, for a loaded machine. @default 90_000 */
  timeoutMs?: number;
}

const children = new Set<ChildProcess>();

/**
 * The environment of a user's shell: PATH without the repo's node_modules/.bin (which `npm test` prepends), no
 * Kling variables, no npm_* variables of the `npm test` that runs us.
 */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || /^(KLING_|DEERAPI_|NODE_OPTIONS$|NODE_PATH$|VITEST|TEST$)/i.test(key)) continue;
    // npm's own settings (cache, registry, user config) stay; the rest describes the `npm test` that runs us.
    if (/^npm_/i.test(key) && !/^npm_config_(cache|registry|userconfig|globalconfig)$/i.test(key)) continue;
    env[key] = value;
  }
  env.PATH = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => !`${dir}/`.startsWith(root))
    .join(delimiter);
  env.NO_COLOR = "1";
  return { ...env, ...extra };
}

/** Runs a program to its end and collects its output; never rejects (the exit code is the answer). */
export function run(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: options.cwd, env: cleanEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 90_000);
    child.on("error", (error) => {
      // spawn failed (no such file): there will be no "close"
      clearTimeout(timer);
      children.delete(child);
      resolve({ code: null, signal: null, stdout, stderr: `${stderr}${error}` });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Kills every child still running (for afterAll). */
export async function killChildren(): Promise<void> {
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("close", () => resolve());
          child.kill("SIGKILL");
        }),
    ),
  );
}

function npm(args: string[], cwd: string): Promise<RunResult> {
  return run(process.platform === "win32" ? "npm.cmd" : "npm", args, { cwd, timeoutMs: 240_000 });
}

function failed(what: string, result: RunResult): Error {
  return new Error(`${what} failed (exit ${result.code ?? result.signal}):\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`);
}

/** The files a clone of the repo would hold, as they are in the working tree (tracked and new, not ignored). */
async function sourceFiles(): Promise<string[]> {
  const listed = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root });
  if (listed.code !== 0) throw failed("git ls-files", listed);
  return listed.stdout.split("\0").filter((path) => path !== "" && existsSync(join(root, path)));
}

/** A fresh copy of the sources in `dir`, with the repo's node_modules linked in (what `npm ci` would give it). */
async function copySources(dir: string): Promise<void> {
  for (const path of await sourceFiles()) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await copyFile(join(root, path), join(dir, path));
  }
  await symlink(join(root, "node_modules"), join(dir, "node_modules"), "dir");
}

async function pack(source: string, destination: string): Promise<{ tarball: string; files: string[] }> {
  // Scripts run (prepack builds), their output kept off stdout so that it is the JSON alone.
  const packed = await npm(["pack", "--json", "--foreground-scripts=false", "--pack-destination", destination], source);
  if (packed.code !== 0) throw failed("npm pack in a fresh copy of the sources", packed);
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as { filename: string; files: { path: string }[] }[];
  if (!info) throw new Error(`npm pack printed no result:\n${packed.stdout}`);
  return { tarball: join(destination, info.filename), files: info.files.map((f) => f.path).sort() };
}

/**
 * Installs into a new folder as a user would. `--prefer-offline`: the cache is warm after `npm ci`, but `--offline`
 * fails there (the lockfile install caches tarballs, not the packuments a fresh resolution reads; ENOTCACHED fp-ts).
 */
async function install(dir: string, packages: string[], extra: string[] = []): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "package.json"), `${JSON.stringify({ name: "consumer", private: true, version: "1.0.0" }, null, 2)}\n`);
  const installed = await npm(["install", ...packages, "--prefer-offline", "--no-audit", "--no-fund", ...extra], dir);
  if (installed.code !== 0) throw failed(`npm install ${packages.join(" ")}`, installed);
}

async function make(dir: string): Promise<InstalledPackage> {
  const started = performance.now();
  const source = join(dir, "source");
  await copySources(source);
  const distBeforePack = existsSync(join(source, "dist"));
  const { tarball, files } = await pack(source, dir);
  const packed = performance.now();
  const consumer = join(dir, "consumer");
  const bare = join(dir, "bare");
  await Promise.all([install(consumer, [tarball, ...PRISM_PEERS]), install(bare, [tarball], ["--no-package-lock"])]);
  const bareTopLevel = (await readdir(join(bare, "node_modules"))).filter((n) => !n.startsWith(".")).sort();
  return { tarball, files, distBeforePack, consumer, bare, bareTopLevel, packMs: packed - started, installMs: performance.now() - packed };
}

async function waitForFile(path: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!existsSync(path)) return;
      cleanup();
      readFile(path, "utf8").then(resolve, reject);
    };
    const watcher = watch(dirname(path), check);
    const poll = setInterval(check, 1000);
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${path} did not appear within ${timeoutMs} ms: the worker packing the package died or hangs`));
    }, timeoutMs);
    const cleanup = () => {
      watcher.close();
      clearInterval(poll);
      clearTimeout(timer);
    };
    check();
  });
}

let mine: Promise<InstalledPackage> | undefined;

/** The packed and installed package of this run (made by the first caller of the run, whichever worker it is in). */
export function installedPackage(): Promise<InstalledPackage> {
  mine ??= (async () => {
    const dir = inject("journeyDir");
    const ready = join(dir, "ready.json");
    let owner = false;
    try {
      await mkdir(join(dir, "lock"));
      owner = true;
    } catch {
      // another worker is making it
    }
    if (owner) {
      let result: { ok: true; value: InstalledPackage } | { ok: false; error: string };
      try {
        result = { ok: true, value: await make(dir) };
      } catch (error) {
        result = { ok: false, error: error instanceof Error ? error.message : String(error) };
      }
      await writeFile(`${ready}.tmp`, JSON.stringify(result));
      await rename(`${ready}.tmp`, ready); // whole, or not there: a waiter never reads half a file
    }
    const result = JSON.parse(await waitForFile(ready, 300_000));
    if (!result.ok) throw new Error(result.error);
    return result.value as InstalledPackage;
  })();
  return mine;
}

/** Path of the installed bin, the symlink npm made in node_modules/.bin. */
export function binOf(consumer: string): string {
  return join(consumer, "node_modules", ".bin", "kling-v2a");
}

/** Runs the installed `kling-v2a` through its node_modules/.bin symlink, from the consumer folder. */
export function kling(pkg: InstalledPackage, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return run(binOf(pkg.consumer), args, { cwd: pkg.consumer, ...options });
}

let scripts = 0;

/**
 * Writes `source` as a program in the consumer folder (`.mjs` ES module or `.cjs` CommonJS) and runs it with this
 * Node; it imports the package by name, as an app does.
 */
export async function node(pkg: InstalledPackage, source: string, options: RunOptions & { type?: "mjs" | "cjs"; dir?: string } = {}): Promise<RunResult> {
  const dir = options.dir ?? pkg.consumer;
  const file = join(dir, `journey-${process.pid}-${++scripts}.${options.type ?? "mjs"}`);
  await writeFile(file, source);
  return run(process.execPath, ["--no-warnings", file], { cwd: dir, ...options });
}

/** Runs `source` (see `node`) and parses the last line of its stdout as JSON; throws with its output otherwise. */
export async function nodeJson<T = any>(pkg: InstalledPackage, source: string, options: Parameters<typeof node>[2] = {}): Promise<T> {
  const result = await node(pkg, source, options);
  const last = result.stdout.trim().split("\n").pop() ?? "";
  try {
    if (result.code !== 0) throw new Error("non-zero exit");
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`the program exited ${result.code ?? result.signal}:\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
}

export interface Program {
  /** The first capture group of `ready` in its stdout (a URL). */
  url: string;
  child: ChildProcess;
  /** What it printed so far. */
  output(): { stdout: string; stderr: string };
  /** Stops it with `signal` (SIGINT is Ctrl-C) and resolves its exit. */
  stop(signal?: NodeJS.Signals): Promise<RunResult>;
}

/** Starts a long-running program and resolves once its stdout matches `ready` (event-driven; no sleeps). */
export function startProgram(file: string, args: string[], cwd: string, ready: RegExp, timeoutMs = 90_000): Promise<Program> {
  const child = spawn(file, args, { cwd, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let stdout = "";
  let stderr = "";
  const closed = new Promise<RunResult>((resolve) => {
    child.on("close", (code, signal) => {
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on("error", (error) => {
      clearTimeout(timer);
      children.delete(child);
      reject(new Error(`cannot start ${file}: ${error.message}`));
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${file} ${args.join(" ")} printed nothing matching ${ready} within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const url = ready.exec(stdout)?.[1];
      if (url === undefined) return;
      clearTimeout(timer);
      resolve({
        url,
        child,
        output: () => ({ stdout, stderr }),
        stop: (signal = "SIGINT") => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return closed;
        },
      });
    });
    closed.then((result) => {
      clearTimeout(timer);
      reject(new Error(`${file} ${args.join(" ")} exited (${result.code ?? result.signal}) before it was ready:\n${result.stdout}\n${result.stderr}`));
    });
  });
}

/** Starts `kling-v2a mock --port 0 ...` from the installed bin; resolves with its URL once it prints its banner. */
export function startBinMock(pkg: InstalledPackage, args: string[] = []): Promise<Program> {
  return startProgram(binOf(pkg.consumer), ["mock", "--port", "0", ...args], pkg.consumer, /mock on (http:\/\/\S+)/);
}

/** Writes `source` as a program in the consumer folder and starts it (see `startProgram`); it prints its URL when ready. */
export async function startNode(pkg: InstalledPackage, source: string, ready: RegExp): Promise<Program> {
  const file = join(pkg.consumer, `journey-${process.pid}-${++scripts}.mjs`);
  await writeFile(file, source);
  return startProgram(process.execPath, ["--no-warnings", file], pkg.consumer, ready);
}
