// Global setup of the contract project: one real Prism server (errors on) for the run, its URL given to the tests as
// inject("prismUrl").
import type { TestProject } from "vitest/node";
import { startPrism } from "../../mocks/prism.js";
import { once, startAll } from "./start.js";

declare module "vitest" {
  export interface ProvidedContext {
    prismUrl: string;
  }
}

export const start = () => once("prism", () => startPrism({ errors: true }));

export default async function setup(project: TestProject) {
  await startAll(project);
  const prism = await start();
  project.provide("prismUrl", prism.url);
  return () => prism.close();
}
