// What the test files read of the global setups' background jobs (the build, Prism, the pack): each job writes its
// outcome into a file of this run's folder, whole, when it ends, and a file waits for the outcome it needs. So no
// setup holds back the files that need none of them: the unit files start at once.
import { existsSync, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { inject } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** This run's folder (under the OS temp dir) where the global setups' jobs write their outcomes. */
    setupJobsDir: string;
  }
}

/** A job's outcome as written: its value, or why it failed. */
export type JobOutcome<T> = { ok: true; value: T } | { ok: false; error: string };

/** The file of job `name` in `dir`. */
export const outcomeFile = (dir: string, name: string) => join(dir, `${name}.json`);

/** Resolves with the file's text once it exists (written whole, by rename), or rejects after `timeoutMs`. */
async function waitForFile(path: string, timeoutMs: number, what: string): Promise<string> {
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
      reject(new Error(`${path} did not appear within ${timeoutMs} ms: ${what} did not finish`));
    }, timeoutMs);
    const cleanup = () => {
      watcher.close();
      clearInterval(poll);
      clearTimeout(timer);
    };
    check();
  });
}

const waiting = new Map<string, Promise<JobOutcome<unknown>>>();

/** The outcome of the setup job `name`, once it has ended (read once per file's worker, then shared). */
export function outcomeOf<T>(name: string, what: string): Promise<JobOutcome<T>> {
  let outcome = waiting.get(name);
  if (outcome === undefined) {
    outcome = waitForFile(outcomeFile(inject("setupJobsDir"), name), 300_000, what).then(
      (text) => JSON.parse(text) as JobOutcome<unknown>,
    );
    waiting.set(name, outcome);
  }
  return outcome as Promise<JobOutcome<T>>;
}

/** Why the build (test/setup/build.ts) failed, or null once dist/ is ready. */
export async function buildError(): Promise<string | null> {
  const outcome = await outcomeOf<null>("build", "test/setup/build.ts (npm run build --skip-docs)");
  return outcome.ok ? null : outcome.error;
}

/** The URL of the run's Prism server (test/setup/prism.ts), once it has started; throws why it did not. */
export async function prismUrl(): Promise<string> {
  const outcome = await outcomeOf<string>("prism", "test/setup/prism.ts (starting Prism)");
  if (!outcome.ok) throw new Error(`Prism did not start: ${outcome.error}`);
  return outcome.value;
}
