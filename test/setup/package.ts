// Global setup of the journeys project: packs and installs the package in the background
// (test/support/journey-package.ts) into a folder of this run; its outcome is written for the journeys, which wait for
// it (`installedPackage()` in test/support/journey.ts).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { killChildren, makePackage } from "../support/journey-package.js";
import { inBackground, once, startAll } from "./start.js";

/**
 * Resolves with the folder at once; `making` ends when the package is made (or rejects why not); `built` gives the
 * fresh copy of the sources once its prepack has built it, or `undefined` when the pack failed.
 */
export const start = () =>
  once("package", async () => {
    // Outside the repo, so nothing installed there can resolve a package from the repo's node_modules.
    const journeyDir = await mkdtemp(join(tmpdir(), "kling-journeys-"));
    let packed: (source: string | undefined) => void = () => {};
    const built = new Promise<string | undefined>((resolve) => (packed = resolve));
    const making = makePackage(journeyDir, packed);
    making.finally(() => packed(undefined)).catch(() => {}); // the failure is the outcome's
    return { journeyDir, making, built };
  });

export default async function setup(project: TestProject) {
  await startAll(project);
  // The pack is not awaited: it runs beside the other projects' tests.
  const { journeyDir, making } = await start();
  const { dir, teardown } = await inBackground("package", making);
  project.provide("setupJobsDir", dir);
  return async () => {
    await killChildren(); // a pack or install still running when the run was cut short
    await teardown();
    await killChildren(); // a mock the pack started after the first kill
    await rm(journeyDir, { recursive: true, force: true });
  };
}
