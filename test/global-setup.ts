// Once per test run, concurrently: starts one real Prism server on a free port and hands its URL to the tests, builds
// the package (dist/ and the published spec files, not the HTML reference) for the CLI tests, and, when the run
// includes a test of the installed package, packs and installs it in the background (test/support/journey-package.ts)
// while the other tests run (test/sequencer.ts runs those tests last).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startPrism } from "../mocks/prism.js";
import { build } from "../scripts/build.js";
import { killChildren, makePackage, needsPackage } from "./support/journey-package.js";

declare module "vitest" {
  export interface ProvidedContext {
    prismUrl: string;
    /** Why `npm run build --skip-docs` failed, or null when it worked. Only the packaging tests fail on it. */
    buildError: string | null;
    /** This run's folder outside the repo (under the OS temp dir) for the packed and installed package; removed at the end. */
    journeyDir: string;
  }
}

export default async function setup(project: TestProject) {
  const building = build({ parts: ["code", "spec"], ifChanged: true, log: () => {} }).then(
    () => null,
    (error: unknown) => (error instanceof Error ? error.message : String(error)),
  );
  // Outside the repo, so nothing installed there can resolve a package from the repo's node_modules.
  const journeyDir = await mkdtemp(join(tmpdir(), "kling-journeys-"));
  project.provide("journeyDir", journeyDir);
  const { testFiles } = await project.globTestFiles(project.vitest.config.filters);
  // Not awaited: it runs beside the other tests. The tests that need it wait for its ready file.
  const packing = testFiles.some(needsPackage) ? makePackage(journeyDir) : Promise.resolve();
  const prism = await startPrism({ errors: true });
  project.provide("prismUrl", prism.url);
  project.provide("buildError", await building);
  return async () => {
    await prism.close();
    await killChildren(); // a pack or install still running when the run was cut short
    await packing;
    await rm(journeyDir, { recursive: true, force: true });
  };
}
