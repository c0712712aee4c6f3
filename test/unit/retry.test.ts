// The retry policy: the retry table code by code and Retry-After (src/request/failure.ts), backoff and the cancellable
// sleep (src/request/transport.ts).
import { afterEach, describe, expect, it, vi } from "vitest";
import { isRetryable, retryAfterMs } from "../../src/request/failure.js";
import { backoffDelayMs, sleep } from "../../src/request/transport.js";

describe("isRetryable", () => {
  // The documented table: HTTP status as Kling sends it, code, and whether api.md retries it.
  const table: Array<[status: number, code: number, retry: boolean]> = [
    [401, 1000, false],
    [401, 1001, false],
    [401, 1002, false],
    [401, 1003, false],
    [401, 1004, false],
    [429, 1100, false],
    [429, 1101, false],
    [429, 1102, false],
    [403, 1103, false],
    [400, 1200, false],
    [400, 1201, false],
    [404, 1202, false],
    [404, 1203, false],
    [400, 1300, false],
    [400, 1301, false],
    [429, 1302, true],
    [429, 1303, true],
    [429, 1304, false],
    [500, 5000, true],
    [503, 5001, true],
    [504, 5002, true],
  ];
  it.each(table)("HTTP %i code %i → %s", (status, code, retry) => {
    expect(isRetryable(status, code)).toBe(retry);
  });

  it("decides on the code, not the status: 429 out of credit is final, 200 carrying 1303 is retried", () => {
    expect(isRetryable(429, 1102)).toBe(false);
    expect(isRetryable(200, 1303)).toBe(true);
    expect(isRetryable(200, 5001)).toBe(true);
    expect(isRetryable(503, 1201)).toBe(false);
  });

  it.each([429, 500, 502, 503, 504])("HTTP %i without a code is retried", (status) => {
    expect(isRetryable(status, undefined)).toBe(true);
    expect(isRetryable(status, 0)).toBe(true);
  });

  it.each([400, 401, 403, 404, 409, 422, 501, 505, 200])("HTTP %i without a code is not retried", (status) => {
    expect(isRetryable(status, undefined)).toBe(false);
  });

  it("falls back to the status for codes the table does not know", () => {
    expect(isRetryable(503, 9999)).toBe(true);
    expect(isRetryable(400, 9999)).toBe(false);
    expect(isRetryable(undefined, undefined)).toBe(false);
  });
});

describe("backoffDelayMs", () => {
  it("doubles from 500 ms up to the 8 s cap, without jitter at random=0", () => {
    const delays = [0, 1, 2, 3, 4, 5, 6].map((retry) => backoffDelayMs(retry, undefined, () => 0));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it("jitters down by at most 25%", () => {
    expect(backoffDelayMs(0, undefined, () => 0.999999)).toBe(375);
    expect(backoffDelayMs(4, undefined, () => 1)).toBe(6000);
    for (let i = 0; i < 200; i++) {
      const delay = backoffDelayMs(2, undefined);
      expect(delay).toBeGreaterThanOrEqual(1500);
      expect(delay).toBeLessThanOrEqual(2000);
    }
  });

  it("starts at 1 s for 1303 and never goes below 1 s on the first retry", () => {
    expect([0, 1, 2, 3, 4].map((retry) => backoffDelayMs(retry, 1303, () => 0))).toEqual([
      1000, 2000, 4000, 8000, 8000,
    ]);
    expect(backoffDelayMs(0, 1303, () => 1)).toBe(1000);
    expect(backoffDelayMs(1, 1303, () => 1)).toBe(1500);
  });

  it("uses the normal base for other codes", () => {
    expect(backoffDelayMs(0, 1302, () => 0)).toBe(500);
    expect(backoffDelayMs(0, 5000, () => 0)).toBe(500);
  });
});

describe("retryAfterMs", () => {
  const now = Date.UTC(2025, 0, 1, 12, 0, 0);
  const h = (init: Record<string, string>) => new Headers(init);

  it("reads retry-after-ms first, in milliseconds", () => {
    expect(retryAfterMs(h({ "retry-after-ms": "250", "retry-after": "9" }), now)).toBe(250);
    expect(retryAfterMs(h({ "retry-after-ms": "1.6" }), now)).toBe(2);
  });

  it("reads Retry-After in seconds", () => {
    expect(retryAfterMs(h({ "Retry-After": "3" }), now)).toBe(3000);
    expect(retryAfterMs(h({ "Retry-After": "0.5" }), now)).toBe(500);
    expect(retryAfterMs(h({ "Retry-After": "0" }), now)).toBe(0);
  });

  it("reads Retry-After as an HTTP date relative to now", () => {
    expect(retryAfterMs(h({ "Retry-After": new Date(now + 7000).toUTCString() }), now)).toBe(7000);
    expect(retryAfterMs(h({ "Retry-After": new Date(now - 7000).toUTCString() }), now)).toBe(0);
  });

  it("caps at 60 s", () => {
    expect(retryAfterMs(h({ "Retry-After": "120" }), now)).toBe(60_000);
    expect(retryAfterMs(h({ "retry-after-ms": "600000" }), now)).toBe(60_000);
    expect(retryAfterMs(h({ "Retry-After": new Date(now + 3_600_000).toUTCString() }), now)).toBe(60_000);
  });

  it("clamps negatives to 0 and ignores garbage", () => {
    expect(retryAfterMs(h({ "Retry-After": "-5" }), now)).toBe(0);
    expect(retryAfterMs(h({ "Retry-After": "soon" }), now)).toBeUndefined();
    expect(retryAfterMs(h({ "Retry-After": "" }), now)).toBeUndefined();
    expect(retryAfterMs(h({ "Retry-After": "1e3" }), now)).toBeUndefined();
    expect(retryAfterMs(h({ "retry-after-ms": "abc", "Retry-After": "2" }), now)).toBe(2000);
    expect(retryAfterMs(h({}), now)).toBeUndefined();
  });
});

afterEach(() => {
  vi.useRealTimers();
});

describe("sleep", () => {
  it("resolves after the delay", async () => {
    vi.useFakeTimers();
    let done = false;
    const promise = sleep(1000).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await promise;
    expect(done).toBe(true);
  });

  it("rejects at once with the reason when aborted mid-sleep, and clears its timer", async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const reason = new Error("stop");
    const promise = sleep(60_000, controller.signal);
    expect(vi.getTimerCount()).toBe(1);
    controller.abort(reason);
    await expect(promise).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rejects immediately for an already-aborted signal, without a timer", async () => {
    vi.useFakeTimers();
    const reason = { why: "already" };
    await expect(sleep(10, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("stops listening to the signal once it resolves", async () => {
    const controller = new AbortController();
    const add = vi.spyOn(controller.signal, "addEventListener");
    const remove = vi.spyOn(controller.signal, "removeEventListener");
    await sleep(1, controller.signal);
    expect(add).toHaveBeenCalledTimes(1);
    expect(remove).toHaveBeenCalledWith("abort", add.mock.calls[0]?.[1]);
    controller.abort(new Error("late"));
  });

  it("treats a negative delay as zero", async () => {
    await expect(sleep(-5)).resolves.toBeUndefined();
  });
});
