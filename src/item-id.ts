// The external task id of a batch item: the caller's, or derived from the batch id and the input (the same on every run).
import type { CreateTaskInput } from "./types.js";

/**
 * The external_task_id of a batch item: the caller's, else `<batchId>-<hash of the input>`, the same on every run,
 * so a rerun of the batch finds what an earlier run created. Identical inputs in one batch share a task.
 */
export async function batchItemId(batchId: string, input: CreateTaskInput): Promise<string> {
  const own = (input as { external_task_id?: unknown } | null | undefined)?.external_task_id;
  if (typeof own === "string" && own !== "") return own;
  const digest = new Uint8Array(
    await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonicalJson(input))),
  );
  const hex = Array.from(digest.subarray(0, 12), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${batchId}-${hex}`;
}

/** The input as JSON with its keys sorted; an invalid input (not an object, or not serialisable) still gets a stable text. */
function canonicalJson(input: unknown): string {
  try {
    if (typeof input === "object" && input !== null) {
      return JSON.stringify(
        Object.keys(input)
          .sort()
          .map((key) => [key, (input as Record<string, unknown>)[key]]),
      );
    }
    return JSON.stringify([["input", input]]) ?? String(input);
  } catch {
    return String(input);
  }
}
