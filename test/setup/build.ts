// Global setup of the projects that run the built package (integration, journeys): dist/ and the published spec files
// (not the HTML reference), rebuilt only when their sources changed (the code copied from the journeys' pack when they
// run), in the background: the files that need it wait for its outcome (`buildError()` in test/support/setup-jobs.ts).
import type { TestProject } from "vitest/node";
import { build } from "../../scripts/build.js";
import { inBackground, once, startAll, started } from "./start.js";

/**
 * When the journeys run, their fresh copy of the sources is built by its prepack anyway: the code is copied from there
 * instead of compiled twice at once (about 9 s of CPU on two cores). `startAll` starts the pack first.
 */
export const start = () =>
  once("build", () =>
    build({
      parts: ["code", "spec"],
      ifChanged: true,
      reuse: started<{ built: Promise<string | undefined> }>("package")?.then((pack) => pack.built),
      log: () => {},
    }).then(() => null),
  );

export default async function setup(project: TestProject) {
  await startAll(project);
  // Not awaited: the files that run the built package wait for it (test/support/setup-jobs.ts, `buildError()`).
  const { dir, teardown } = await inBackground("build", start());
  project.provide("setupJobsDir", dir);
  return () => teardown();
}
