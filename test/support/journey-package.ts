// Makes the package as users get it, once per test run (test/setup/package.ts calls `makePackage` in the background):
// a fresh copy of the sources (as a clone has them: no dist/, so `prepack` must build), `npm pack`, and installs into
// consumer folders outside the repo. Also the child-process primitives the journeys share. No vitest import: this runs
// in vitest's main process.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The optional Prism peers, pinned as README's Install section tells users to install them for `kling-v2a mock`. */
const PRISM_PEERS = [
  "@stoplight/prism-core@5.8.0",
  "@stoplight/prism-http@5.12.0",
  "@stoplight/prism-http-server@5.12.2",
];

/** The optional peer of `./preflight` (and `kling-v2a check`), as docs/preflight.md tells users to install it. */
const PREFLIGHT_PEER = "mediabunny@^1.61.0";

export interface InstalledPackage {
  /** The `npm pack` tarball. */
  tarball: string;
  /** Every path in the tarball, sorted (from `npm pack --json`). */
  files: string[];
  /** Whether the fresh copy had a dist/ before `npm pack` (it must not: the point is that prepack builds). */
  distBeforePack: boolean;
  /** A consumer with the tarball, the optional Prism peers (linked in from `prismPeers`) and the preflight's peer:
   *  what the journeys drive. */
  consumer: string;
  /** A consumer with the tarball alone, as `npm i kling-video-to-audio` leaves it. */
  bare: string;
  /** Top-level packages in the bare consumer's node_modules, sorted. */
  bareTopLevel: string[];
  /** `kling-v2a mock` servers started from the consumer's bin for the whole run: `fast` (FAST_MOCK) and `slow`
   *  (SLOW_MOCK); `error` when they could not start (read them through `mocksOf`). */
  mocks: { fast: string; slow: string; error?: string };
  /** Milliseconds. From the start: `packMs` (copy, prepack build, pack) and `peersMs` (the Prism peers' install beside
   *  the pack, or ~0 when an earlier run left them). `installMs`: from the end of the pack to the end of the tarball's
   *  installs. `mocksMs`: starting the mocks. */
  timings: { packMs: number; peersMs: number; installMs: number; mocksMs: number };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** The working folder. @default this process's */
  cwd?: string;
  /** Added to the clean environment (see `cleanEnv`). @default none */
  env?: Record<string, string>;
  /** Kill the process (SIGKILL) after this long; generous, for a loaded machine. @default 90_000 */
  timeoutMs?: number;
}

/** Children started by this process, for `killChildren`. */
export const children = new Set<ChildProcess>();

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
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      stdio: ["ignore", "pipe", "pipe"],
    });
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
  return new Error(
    `${what} failed (exit ${result.code ?? result.signal}):\n` +
      `${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`,
  );
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
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as {
    filename: string;
    files: { path: string }[];
  }[];
  if (!info) throw new Error(`npm pack printed no result:\n${packed.stdout}`);
  return { tarball: join(destination, info.filename), files: info.files.map((f) => f.path).sort() };
}

/**
 * Installs into a new folder as a user would. `--prefer-offline`: the cache is warm after `npm ci`, but `--offline`
 * fails there (the lockfile install caches tarballs, not the packuments a fresh resolution reads; ENOTCACHED fp-ts).
 */
async function install(dir: string, packages: string[], extra: string[] = []): Promise<void> {
  await mkdir(dir, { recursive: true });
  const manifest = join(dir, "package.json");
  if (!existsSync(manifest))
    await writeFile(manifest, `${JSON.stringify({ name: "consumer", private: true, version: "1.0.0" }, null, 2)}\n`);
  const installed = await npm(["install", ...packages, "--prefer-offline", "--no-audit", "--no-fund", ...extra], dir);
  if (installed.code !== 0) throw failed(`npm install ${packages.join(" ")}`, installed);
}

/**
 * The Prism peers as `npm install` gives them (the README's command), in a folder under the OS temp dir keyed by their
 * versions and kept between runs: their ~130 packages are most of what an install costs, and they never change for
 * a given key. Made in a temporary folder and renamed into place, so a run never sees half of it, and two runs that
 * make it at once both end with the same complete folder.
 */
async function prismPeers(): Promise<string> {
  const key = createHash("sha256").update(PRISM_PEERS.join(" ")).digest("hex").slice(0, 16);
  const folder = join(tmpdir(), `kling-journeys-prism-${key}`);
  if (existsSync(join(folder, COMPLETE))) return folder;
  const making = await mkdtemp(`${folder}.making-`);
  try {
    await install(making, PRISM_PEERS);
    await writeFile(join(making, COMPLETE), `${PRISM_PEERS.join("\n")}\n`);
    await rename(making, folder);
  } catch (error) {
    await rm(making, { recursive: true, force: true });
    if (!existsSync(join(folder, COMPLETE))) throw error; // not just another run that finished first
  }
  return folder;
}

/** Written last into the peers' folder: its presence means the install finished. */
const COMPLETE = ".complete";

/**
 * Packs and installs into `dir` (test/setup/package.ts runs it in the background and writes its outcome for the
 * journeys). `onPacked` is told the fresh copy of the sources once its prepack has built it (test/setup/build.ts
 * copies that build rather than make its own).
 */
export async function makePackage(
  dir: string,
  onPacked: (source: string) => void = () => {},
): Promise<InstalledPackage> {
  const started = performance.now();
  // A space and a non-ASCII letter in the path, as in many users' home folders: paths must survive URL round trips.
  const consumer = join(dir, "my app ü");
  // Beside the pack: the peers do not need the tarball.
  const peers = prismPeers().then((folder) => ({ folder, ms: performance.now() - started }));
  peers.catch(() => {}); // awaited below; a pack failure must not leave it unhandled
  const source = join(dir, "source");
  await copySources(source);
  const distBeforePack = existsSync(join(source, "dist"));
  const { tarball, files } = await pack(source, dir);
  onPacked(source);
  const packMs = performance.now() - started;
  const bare = join(dir, "bare");
  const [{ folder, ms: peersMs }] = await Promise.all([
    peers,
    install(bare, [tarball], ["--no-package-lock"]),
    install(consumer, [tarball, PREFLIGHT_PEER]),
  ]);
  // Node resolves the link to its real path, so Prism's own dependencies come from the peers' folder.
  await symlink(join(folder, "node_modules", "@stoplight"), join(consumer, "node_modules", "@stoplight"), "dir");
  const installMs = performance.now() - started - packMs;
  const bareTopLevel = (await readdir(join(bare, "node_modules"))).filter((n) => !n.startsWith(".")).sort();
  const mocksStarted = performance.now();
  // A mock that cannot start fails the journeys that use it, not the package's own checks.
  const mocks = await Promise.all([startBinMock(consumer, FAST_MOCK), startBinMock(consumer, SLOW_MOCK)]).then(
    ([fast, slow]) => ({ fast: fast.url, slow: slow.url }),
    (error: unknown) => ({ fast: "", slow: "", error: error instanceof Error ? error.message : String(error) }),
  );
  return {
    tarball,
    files,
    distBeforePack,
    consumer,
    bare,
    bareTopLevel,
    mocks,
    timings: { packMs, peersMs, installMs, mocksMs: performance.now() - mocksStarted },
  };
}

/** The shared mock's lifecycle: a task ends about 0.6 s after its create. */
const FAST_MOCK = ["--submitted-ms", "200", "--processing-ms", "400"];
/** Tasks that stay `submitted` for 10 minutes: only a timeout or an abort can end a wait there. */
const SLOW_MOCK = ["--submitted-ms", "600000"];

export interface Program {
  /** The first capture group of `ready` in its stdout (a URL). */
  url: string;
  child: ChildProcess;
  /** What it printed so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves with stderr once it contains `text` (a log line may come just after the answer it logs). */
  waitForStderr(text: string, timeoutMs?: number): Promise<string>;
  /** Stops it with `signal` (SIGINT is Ctrl-C) and resolves its exit. */
  stop(signal?: NodeJS.Signals): Promise<RunResult>;
}

/**
 * Starts a long-running program and resolves once its stdout matches `ready` (event-driven; no sleeps); `timeoutMs`
 * (default 90 000) bounds the wait.
 */
export function startProgram(
  file: string,
  args: string[],
  cwd: string,
  ready: RegExp,
  timeoutMs = 90_000,
): Promise<Program> {
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
  const waitForStderr = (text: string, timeoutMs = 30_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        if (!stderr.includes(text)) return;
        child.stderr.off("data", check);
        clearTimeout(timer);
        resolve(stderr);
      };
      const timer = setTimeout(() => {
        child.stderr.off("data", check);
        reject(new Error(`no "${text}" on stderr within ${timeoutMs} ms:\n${stderr}`));
      }, timeoutMs);
      child.stderr.on("data", check);
      check();
    });
  return new Promise((resolve, reject) => {
    child.on("error", (error) => {
      clearTimeout(timer);
      children.delete(child);
      reject(new Error(`cannot start ${file}: ${error.message}`));
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `${file} ${args.join(" ")} printed nothing matching ${ready} within ${timeoutMs} ms:\n${stdout}\n${stderr}`,
        ),
      );
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
        waitForStderr,
        stop: (signal = "SIGINT") => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return closed;
        },
      });
    });
    closed.then((result) => {
      clearTimeout(timer);
      reject(
        new Error(
          `${file} ${args.join(" ")} exited (${result.code ?? result.signal}) before it was ` +
            `ready:\n${result.stdout}\n${result.stderr}`,
        ),
      );
    });
  });
}

/** Path of a consumer's installed bin: the symlink npm made in node_modules/.bin. */
export function binOf(consumer: string): string {
  return join(consumer, "node_modules", ".bin", "kling-v2a");
}

/** Starts `kling-v2a mock --port 0 ...` from a consumer folder's bin; resolves once it prints its URL. */
export function startBinMock(consumer: string, args: string[] = []): Promise<Program> {
  return startProgram(binOf(consumer), ["mock", "--port", "0", ...args], consumer, /mock on (http:\/\/\S+)/);
}
