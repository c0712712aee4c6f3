// Once per test run, concurrently: starts one real Prism server on a free port and hands its URL to the tests, builds
// the package (dist/ and the published spec files, not the HTML reference) for the CLI and packaging tests, and makes
// the run's scratch folder where test/support/journey.ts packs and installs the package once for the journeys.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startPrism } from "../mocks/prism.js";
import { build } from "../scripts/build.js";

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
  const prism = await startPrism({ errors: true });
  project.provide("prismUrl", prism.url);
  project.provide("buildError", await building);
  return async () => {
    await prism.close();
    await rm(journeyDir, { recursive: true, force: true });
  };
}
