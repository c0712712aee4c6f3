// Once per test run, concurrently: starts one real Prism server on a free port and hands its URL to the tests, and
// builds the package (dist/ and the published spec files, not the HTML reference) for the packaging tests.
import type { TestProject } from "vitest/node";
import { startPrism } from "../mocks/prism.js";
import { build } from "../scripts/build.js";

declare module "vitest" {
  export interface ProvidedContext {
    prismUrl: string;
    /** Why `npm run build --skip-docs` failed, or null when it worked. Only the packaging tests fail on it. */
    buildError: string | null;
  }
}

export default async function setup(project: TestProject) {
  const building = build({ parts: ["code", "spec"], ifChanged: true, log: () => {} }).then(
    () => null,
    (error: unknown) => (error instanceof Error ? error.message : String(error)),
  );
  const prism = await startPrism({ errors: true });
  project.provide("prismUrl", prism.url);
  project.provide("buildError", await building);
  return () => prism.close();
}
