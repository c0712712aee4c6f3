// Starts the work of every global setup this run needs at once (Prism, the build, the pack), from whichever setup
// vitest calls first: vitest awaits the projects' setups one after another, so each would otherwise wait for the last.
import type { TestProject } from "vitest/node";

/** One job per run, by name, held on globalThis: each project loads its setup files in a module graph of its own. */
export function once<T>(name: string, job: () => Promise<T>): Promise<T> {
  const shared = globalThis as { klingSetupJobs?: Map<string, Promise<unknown>> };
  shared.klingSetupJobs ??= new Map();
  const jobs = shared.klingSetupJobs;
  if (!jobs.has(name)) jobs.set(name, job());
  return jobs.get(name) as Promise<T>;
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
