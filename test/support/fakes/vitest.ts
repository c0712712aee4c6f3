// A small stand-in for Vitest's test API, for docs examples that are test files: hooks and tests are collected, then
// run in Vitest's order by `runCollected` (a test inside a running test is not allowed in the real Vitest).
export { expect } from "vitest";

type Fn = () => unknown;
const collected = { beforeAll: [] as Fn[], beforeEach: [] as Fn[], afterEach: [] as Fn[], afterAll: [] as Fn[] };
const tests: Array<{ name: string; fn: Fn }> = [];

export const beforeAll = (fn: Fn) => void collected.beforeAll.push(fn);
export const beforeEach = (fn: Fn) => void collected.beforeEach.push(fn);
export const afterEach = (fn: Fn) => void collected.afterEach.push(fn);
export const afterAll = (fn: Fn) => void collected.afterAll.push(fn);
export const test = (name: string, fn: Fn) => void tests.push({ name, fn });
export { test as it };

/** Runs what the examples collected (then forgets it): each test's name with its error, undefined when it passed. */
export async function runCollected(): Promise<Array<{ name: string; error?: unknown }>> {
  const results: Array<{ name: string; error?: unknown }> = [];
  try {
    for (const fn of collected.beforeAll) await fn();
    for (const { name, fn } of tests) {
      try {
        for (const hook of collected.beforeEach) await hook();
        await fn();
        results.push({ name });
      } catch (error) {
        results.push({ name, error });
      } finally {
        for (const hook of collected.afterEach) await hook();
      }
    }
  } finally {
    for (const fn of collected.afterAll) await fn();
    for (const list of Object.values(collected)) list.length = 0;
    tests.length = 0;
  }
  return results;
}
