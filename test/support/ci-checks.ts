// What the .ci/run harnesses in test/ci/ share: the PASS/FAIL check recorder and its closing "N passed, N failed"
// line, assert, a child-process runner that captures output (and npm pack with it), and the Chromium they launch.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, rm } from "node:fs/promises";
import { build } from "../../scripts/build.js";

/** Debian's chromium (`apt-get install -y chromium`) unless CHROMIUM_PATH names another. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * The launch flags known to work on this machine: no sandbox (runs as root), no background networking or updates (a
 * closed network). A harness adds its own (autoplay, say) at the launch.
 */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Why Chromium cannot be launched (no browser at CHROMIUM), or undefined when it is there. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM)
    ? undefined
    : `no browser at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** `PASS name: detail` (or `FAIL ...`; no colon part when the detail is empty). */
function colonLine(result: CheckResult): string {
  return `${result.ok ? "PASS" : "FAIL"} ${result.name}${result.detail ? `: ${result.detail}` : ""}`;
}

/**
 * One PASS/FAIL line per recorded check (`line` formats it), then `close()` prints "N passed, N failed", the last
 * line .ci/run adds up, and returns the exit code: 0 only when something was checked and nothing failed.
 */
export function checkRecorder(line: (result: CheckResult) => string = colonLine) {
  const results: CheckResult[] = [];
  function record(name: string, ok: boolean, detail = ""): void {
    const result = { name, ok, detail };
    results.push(result);
    console.log(line(result));
  }
  /** Runs `body`: PASS with what it returns, FAIL with what it throws. */
  async function check(name: string, body: () => Promise<string>): Promise<void> {
    try {
      record(name, true, await body());
    } catch (error) {
      record(name, false, error instanceof Error ? error.message : String(error));
    }
  }
  function close(): 0 | 1 {
    const passed = results.filter((result) => result.ok).length;
    console.log(`${passed} passed, ${results.length - passed} failed`);
    return results.length > 0 && passed === results.length ? 0 : 1;
  }
  /** close(), then exit with its code. */
  function finish(): never {
    process.exit(close());
  }
  return { results, record, check, close, finish };
}

export function assert(condition: unknown, why: string): asserts condition {
  if (!condition) throw new Error(why);
}

/** Runs a command to its end (no time limit), stdout and stderr together in `output`; `env` adds to this process's. */
export function runCaptured(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    let output = "";
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("close", (code) => resolve({ code, output }));
    child.on("error", (error) => resolve({ code: null, output: error.message }));
  });
}

/** `npm pack` of the checkout at `root` into `packDir` (no scripts: build first); returns the tarball's file name. */
async function packCheckout(root: string, packDir: string): Promise<string> {
  const pack = await runCaptured("npm", ["pack", "--ignore-scripts", "--pack-destination", packDir], root);
  if (pack.code !== 0) throw new Error(`npm pack failed: ${pack.output.slice(-500)}`);
  const tarball = (await readdir(packDir)).find((file) => file.endsWith(".tgz"));
  if (!tarball) throw new Error("npm pack wrote no tarball");
  return tarball;
}

/**
 * The checkout built (code and spec) and packed into `packDir`, after `base` (which holds `packDir` and `appDir`) was
 * emptied and `appDir` made for the consumer that installs it; returns the tarball's name.
 */
export async function freshPack(
  root: string,
  dirs: { base: string; packDir: string; appDir: string },
): Promise<string> {
  await build({ parts: ["code", "spec"], log: () => {} });
  await rm(dirs.base, { recursive: true, force: true });
  await mkdir(dirs.packDir, { recursive: true });
  await mkdir(dirs.appDir, { recursive: true });
  return packCheckout(root, dirs.packDir);
}
