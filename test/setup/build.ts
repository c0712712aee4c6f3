// Global setup of the projects that run the built package (integration, journeys): dist/ and the published spec files
// (not the HTML reference), rebuilt only when their sources changed; the outcome given as inject("buildError").
import type { TestProject } from "vitest/node";
import { build } from "../../scripts/build.js";
import { once, startAll } from "./start.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Why `npm run build --skip-docs` failed, or null when it worked. Only the packaging tests fail on it. */
    buildError: string | null;
  }
}

export const start = () =>
  once("build", () =>
    build({ parts: ["code", "spec"], ifChanged: true, log: () => {} }).then(
      () => null,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    ),
  );

export default async function setup(project: TestProject) {
  await startAll(project);
  project.provide("buildError", await start());
}
