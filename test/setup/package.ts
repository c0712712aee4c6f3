// Global setup of the journeys project: packs and installs the package in the background
// (test/support/journey-package.ts) into this run's folder, given as inject("journeyDir"); the journeys wait for it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { killChildren, makePackage } from "../support/journey-package.js";
import { once, startAll } from "./start.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** This run's folder outside the repo (under the OS temp dir) for the packed and installed package; removed at
     *  the end. */
    journeyDir: string;
  }
}

/**
 * Resolves with the folder at once; `packing` (never rejects) ends when the package is made; `built` gives the fresh
 * copy of the sources once its prepack has built it, or `undefined` when the pack failed.
 */
export const start = () =>
  once("package", async () => {
    // Outside the repo, so nothing installed there can resolve a package from the repo's node_modules.
    const journeyDir = await mkdtemp(join(tmpdir(), "kling-journeys-"));
    let packed: (source: string | undefined) => void = () => {};
    const built = new Promise<string | undefined>((resolve) => (packed = resolve));
    const packing = makePackage(journeyDir, packed).finally(() => packed(undefined));
    return { journeyDir, packing, built };
  });

export default async function setup(project: TestProject) {
  await startAll(project);
  // The pack is not awaited: it runs beside the other projects' tests. The journeys wait for its ready file.
  const { journeyDir, packing } = await start();
  project.provide("journeyDir", journeyDir);
  return async () => {
    await killChildren(); // a pack or install still running when the run was cut short
    await packing;
    await rm(journeyDir, { recursive: true, force: true });
  };
}
