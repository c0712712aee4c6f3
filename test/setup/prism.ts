// Global setup of the contract project: one real Prism server (errors on) for the run, started in the background; the
// tests wait for its URL (`prismUrl()` in test/support/setup-jobs.ts).
import type { TestProject } from "vitest/node";
import { startPrism } from "../../mocks/prism.js";
import { inBackground, once, startAll } from "./start.js";

export const start = () => once("prism", () => startPrism({ errors: true }));

export default async function setup(project: TestProject) {
  await startAll(project);
  const { dir, teardown } = await inBackground("prism", start(), (prism) => prism.url);
  project.provide("setupJobsDir", dir);
  return () => teardown((prism) => prism.close());
}
