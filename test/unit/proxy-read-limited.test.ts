// readLimited, the bounded body reader under the proxy (and for the client to reuse): exact limits, cancellation,
// abort.
import { describe, expect, it } from "vitest";
import { ReadLimitError, readLimited } from "../../src/read-limited.js";

/** A stream of `chunks` chunks of `size` bytes, recording whether it was cancelled and how many chunks were pulled. */
function source(chunks: number, size: number) {
  const seen = { pulled: 0, cancelled: false as unknown };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (seen.pulled === chunks) return controller.close();
      seen.pulled++;
      controller.enqueue(new Uint8Array(size).fill(seen.pulled));
    },
    cancel(reason) {
      seen.cancelled = reason ?? true;
    },
  });
  return { stream, seen };
}

describe("readLimited", () => {
  it("returns the whole body when it is exactly at the limit, and nothing for null", async () => {
    const { stream } = source(4, 25);
    const bytes = await readLimited(stream, 100);
    expect(bytes.byteLength).toBe(100);
    expect([bytes[0], bytes[99]]).toEqual([1, 4]);
    expect((await readLimited(null, 0)).byteLength).toBe(0);
  });

  it("throws ReadLimitError one byte past the limit and cancels the source there", async () => {
    const { stream, seen } = source(1000, 25);
    const error = await readLimited(stream, 99).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReadLimitError);
    expect((error as ReadLimitError).maxBytes).toBe(99);
    expect(seen.pulled).toBeLessThanOrEqual(6);
    expect(seen.cancelled).toBe(error);
  });

  it("rejects with the signal's reason and cancels a source that never sends another byte", async () => {
    const cancelled: unknown[] = [];
    const stalled = new ReadableStream<Uint8Array>({
      pull: () => new Promise(() => {}),
      cancel: (reason) => void cancelled.push(reason),
    });
    const controller = new AbortController();
    const reading = readLimited(stalled, 100, { signal: controller.signal });
    const reason = new Error("gone");
    controller.abort(reason);
    await expect(reading).rejects.toBe(reason);
    expect(cancelled).toEqual([reason]);
    await expect(readLimited(source(1, 1).stream, 10, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });
});
