// Global setup of the contract project: one real Prism server (errors on) for the run, its URL given to the tests as
// inject("prismUrl").
import type { TestProject } from "vitest/node";
import { startPrism } from "../../mocks/prism.js";

declare module "vitest" {
  export interface ProvidedContext {
    prismUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const prism = await startPrism({ errors: true });
  project.provide("prismUrl", prism.url);
  return () => prism.close();
}
