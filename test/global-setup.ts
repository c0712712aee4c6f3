// Starts one real Prism server on a free port for the whole test run and hands its URL to the tests.
import type { TestProject } from "vitest/node";
import { startPrism } from "../mocks/prism.js";

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
