// Starts the work of every global setup this run needs at once (Prism, the build, the pack), from whichever setup
// vitest calls first: vitest awaits the projects' setups one after another, so each would otherwise wait for the last.
import { mkdtemp, rename, rm, rmdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { type JobOutcome, outcomeFile } from "../support/setup-jobs.js";

/** One job per run, by name, held on globalThis: each project loads its setup files in a module graph of its own. */
export function once<T>(name: string, job: () => Promise<T>): Promise<T> {
  const shared = globalThis as { klingSetupJobs?: Map<string, Promise<unknown>> };
  shared.klingSetupJobs ??= new Map();
  const jobs = shared.klingSetupJobs;
  if (!jobs.has(name)) jobs.set(name, job());
  return jobs.get(name) as Promise<T>;
}

/** The job `name` if this run has started it (see `startAll`), else `undefined`. */
export function started<T>(name: string): Promise<T> | undefined {
  return (globalThis as { klingSetupJobs?: Map<string, Promise<unknown>> }).klingSetupJobs?.get(name) as
    | Promise<T>
    | undefined;
}

/** A global setup file that can start its work before vitest calls it (its `start`, which must be a `once` job). */
interface StartableSetup {
  start?: () => Promise<unknown>;
}

/**
 * Calls `start()` of the global setup files of every project that has a file in this run, without waiting for them;
 * each setup then awaits its own job. Projects with no file in the run start nothing.
 */
export function startAll(project: TestProject): Promise<void> {
  return once("start all", async () => {
    const paths = project.vitest.state.getPaths();
    const running = project.vitest.projects.filter((p) => paths.some((path) => p.matchesTestGlob(path)));
    const files = new Set(running.flatMap((p) => p.config.globalSetup));
    for (const file of files) {
      const setup = (await import(file)) as StartableSetup;
      setup.start?.().catch(() => {}); // its own setup awaits it and reports the failure
    }
  });
}

/**
 * Runs `job` in the background and writes its outcome to this run's folder when it ends (read by
 * test/support/setup-jobs.ts in the test files that need it), so the setup can return at once. Gives the folder (the
 * setup provides it as `setupJobsDir`) and a teardown that waits for the job, then hands its value to `close`.
 */
export async function inBackground<T>(
  name: string,
  job: Promise<T>,
  outcome: (value: T) => unknown = (value) => value,
): Promise<{ dir: string; teardown: (close?: (value: T) => unknown) => Promise<void> }> {
  const dir = await jobsDir();
  const written = once(`${name} outcome`, async () => {
    const result: JobOutcome<unknown> = await job.then(
      (value) => ({ ok: true, value: outcome(value) }),
      (error: unknown) => ({ ok: false, error: error instanceof Error ? error.message : String(error) }),
    );
    const path = outcomeFile(dir, name);
    await writeFile(`${path}.tmp`, JSON.stringify(result));
    await rename(`${path}.tmp`, path); // whole, or not there
  });
  const teardown = async (close?: (value: T) => unknown) => {
    await written;
    const value = await job.catch(() => undefined);
    if (close && value !== undefined) await close(value);
    // The folder is shared by the run's jobs: the last teardown removes it, once no job's file is left.
    await rm(outcomeFile(dir, name), { force: true });
    await rmdir(dir).catch(() => {});
  };
  return { dir, teardown };
}

/** This run's folder for the jobs' outcomes, outside the repo. */
const jobsDir = () => once("setup jobs dir", () => mkdtemp(join(tmpdir(), "kling-setup-jobs-")));
