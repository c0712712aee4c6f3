// The journeys' side of the package made once per run (test/support/journey-package.ts, started by
// test/setup/package.ts): waits for it, and runs its bin, small Node programs and long-running servers in the consumer.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  binOf,
  type InstalledPackage,
  type Program,
  type RunOptions,
  type RunResult,
  run,
  startBinMock,
  startProgram,
} from "./journey-package.js";
import { outcomeOf } from "./setup-jobs.js";

export {
  binOf,
  children,
  cleanEnv,
  type InstalledPackage,
  killChildren,
  type Program,
  type RunOptions,
  type RunResult,
  run,
} from "./journey-package.js";

/** The packed and installed package of this run, once test/setup/package.ts has made it. */
export async function installedPackage(): Promise<InstalledPackage> {
  const outcome = await outcomeOf<InstalledPackage>("package", "test/setup/package.ts (the pack and installs)");
  if (!outcome.ok) throw new Error(outcome.error);
  return outcome.value;
}

/** The run's shared mocks; throws why they could not start (a broken bin, a missing Prism). */
export function mocksOf(pkg: InstalledPackage): { fast: string; slow: string } {
  if (pkg.mocks.error) throw new Error(`the shared kling-v2a mocks did not start: ${pkg.mocks.error}`);
  return pkg.mocks;
}

/** Runs the installed `kling-v2a` through its node_modules/.bin symlink, from the consumer folder. */
export function kling(pkg: InstalledPackage, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return run(binOf(pkg.consumer), args, { cwd: pkg.consumer, ...options });
}

let scripts = 0;

export interface NodeOptions extends RunOptions {
  /** ES module or CommonJS. @default "mjs" */
  type?: "mjs" | "cjs";
  /** Where the program is written and run. @default the consumer folder */
  dir?: string;
}

/**
 * Writes `source` as a program in the consumer folder (`.mjs` ES module or `.cjs` CommonJS) and runs it with this
 * Node; it imports the package by name, as an app does.
 */
async function node(pkg: InstalledPackage, source: string, options: NodeOptions = {}): Promise<RunResult> {
  const dir = options.dir ?? pkg.consumer;
  const file = join(dir, `journey-${process.pid}-${++scripts}.${options.type ?? "mjs"}`);
  await writeFile(file, source);
  return run(process.execPath, ["--no-warnings", file], { cwd: dir, ...options });
}

/** Runs `source` (see `node`) and parses the last line of its stdout as JSON; throws with its output otherwise. */
export async function nodeJson<T = any>(pkg: InstalledPackage, source: string, options: NodeOptions = {}): Promise<T> {
  const result = await node(pkg, source, options);
  const last = result.stdout.trim().split("\n").pop() ?? "";
  try {
    if (result.code !== 0) throw new Error("non-zero exit");
    return JSON.parse(last) as T;
  } catch {
    throw new Error(
      `the program exited ${result.code ?? result.signal}:\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
    );
  }
}

/** Starts `kling-v2a mock --port 0 ...` from the installed bin; resolves with its URL once it prints its banner. */
export function startMock(pkg: InstalledPackage, args: string[] = []): Promise<Program> {
  return startBinMock(pkg.consumer, args);
}

/**
 * Writes `source` as a program in the consumer folder and starts it (see `startProgram`); it prints its URL when ready.
 */
export async function startNode(pkg: InstalledPackage, source: string, ready: RegExp): Promise<Program> {
  const file = join(pkg.consumer, `journey-${process.pid}-${++scripts}.mjs`);
  await writeFile(file, source);
  return startProgram(process.execPath, ["--no-warnings", file], pkg.consumer, ready);
}
