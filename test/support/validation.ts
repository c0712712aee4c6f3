// What a refused input or option names: the `field` of the KlingValidationError it throws (sync or async).
import { expect } from "vitest";
import { KlingValidationError } from "../../src/errors.js";

/**
 * The field the call's KlingValidationError names; undefined when it does not throw. Any other error fails the test.
 */
export function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(KlingValidationError);
    return (error as KlingValidationError).field;
  }
  return undefined;
}

/** The same for a promise. */
export async function rejectedField(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KlingValidationError);
    return (error as KlingValidationError).field;
  }
  return undefined;
}
