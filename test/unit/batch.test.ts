// runBatch against a loopback Kling: concurrency, adapting to 1303, per-item errors, resuming, laziness, abort,
// deadline.
import { afterEach, describe, expect, it } from "vitest";
import {
  type CreateTaskInput,
  createClient,
  KlingTaskFailedError,
  KlingTimeoutError,
  KlingValidationError,
} from "../../src/index.js";
import { AdaptiveLimit, type BatchResult, batchItemId } from "../../src/request/batch.js";
import { type FakeKling, startFakeKling } from "../support/fake-kling.js";

let fake: FakeKling | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const clip = (i: number): CreateTaskInput => ({ video_url: `https://example.com/clips/${i}.mp4` });
const clips = (n: number) => Array.from({ length: n }, (_, i) => clip(i));
const quiet = { logLevel: "off" as const };

async function collect(iterable: AsyncIterable<BatchResult>): Promise<BatchResult[]> {
  const out: BatchResult[] = [];
  for await (const result of iterable) out.push(result);
  return out;
}

describe("runBatch", () => {
  it("runs every item, at most `concurrency` at once, and yields each result once", async () => {
    fake = await startFakeKling({ taskDurationMs: 60 });
    const kling = createClient({ baseUrl: fake.url, apiKey: "k-batch-test", ...quiet });
    const results = await collect(kling.runBatch(clips(12), { concurrency: 3, pollIntervalMs: 10 }));
    expect(results).toHaveLength(12);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(new Set(results.map((r) => r.index))).toEqual(new Set(Array.from({ length: 12 }, (_, i) => i)));
    expect(fake.tasks).toHaveLength(12);
    expect(fake.peakRunning).toBeLessThanOrEqual(3);
    expect(fake.duplicates()).toBe(0);
  });

  it("lowers its concurrency on 1303 and still finishes everything without duplicates", async () => {
    fake = await startFakeKling({ taskDurationMs: 80, concurrencyLimit: 2, retryAfterOn1303: 0 });
    const kling = createClient({ baseUrl: fake.url, apiKey: "k-batch-test", ...quiet });
    const results = await collect(kling.runBatch(clips(16), { concurrency: 6, pollIntervalMs: 10 }));
    expect(results.filter((r) => r.ok)).toHaveLength(16);
    expect(fake.rejected1303).toBeGreaterThan(0);
    expect(fake.peakRunning).toBeLessThanOrEqual(2);
    expect(fake.duplicates()).toBe(0);
  });

  it(
    "keeps going when items fail, with typed per-item errors and their index; invalid input sends " + "nothing",
    async () => {
      fake = await startFakeKling({ taskDurationMs: 30 });
      const kling = createClient({ baseUrl: fake.url, apiKey: "k-batch-test", ...quiet });
      const inputs = [
        clip(0),
        { video_url: "https://example.com/fail.mp4" },
        { video_url: "not a url" } as CreateTaskInput,
        clip(3),
      ];
      const results = await collect(kling.runBatch(inputs, { pollIntervalMs: 10 }));
      const byIndex = Object.fromEntries(results.map((r) => [r.index, r]));
      expect(byIndex[0]!.ok && byIndex[3]!.ok).toBe(true);
      expect(byIndex[1]!.ok === false && byIndex[1]!.error).toBeInstanceOf(KlingTaskFailedError);
      expect(byIndex[2]!.ok === false && byIndex[2]!.error).toBeInstanceOf(KlingValidationError);
      expect(fake.tasks).toHaveLength(3);
    },
  );

  it(
    "resumes: a rerun with the same batchId waits for what the first run created instead of creating it " + "again",
    async () => {
      fake = await startFakeKling({ taskDurationMs: 150 });
      const kling = createClient({ baseUrl: fake.url, apiKey: "k-batch-test", ...quiet });
      const inputs = clips(8);
      const first: BatchResult[] = [];
      for await (const result of kling.runBatch(inputs, { batchId: "nightly-7", concurrency: 4, pollIntervalMs: 10 })) {
        first.push(result);
        if (first.length === 2) break; // the process "crashes" with tasks still running
      }
      const createdBefore = fake.tasks.length;
      expect(createdBefore).toBeGreaterThanOrEqual(2);
      expect(createdBefore).toBeLessThan(8);
      const second = await collect(
        kling.runBatch(inputs, { batchId: "nightly-7", concurrency: 4, pollIntervalMs: 10 }),
      );
      expect(second.filter((r) => r.ok)).toHaveLength(8);
      expect(fake.tasks).toHaveLength(8);
      expect(fake.duplicates()).toBe(0);
      expect(second.map((r) => r.externalTaskId).every((id) => id.startsWith("nightly-7-"))).toBe(true);
    },
  );

  it("reads inputs lazily: at most `concurrency` items are pulled ahead of what finished", async () => {
    fake = await startFakeKling({ taskDurationMs: 30 });
    const kling = createClient({ baseUrl: fake.url, apiKey: "k-batch-test", ...quiet });
    let pulled = 0;
    async function* endless() {
      for (let i = 0; ; i++) {
        pulled++;
        yield clip(i);
      }
    }
    let seen = 0;
    for await (const _ of kling.runBatch(endless(), { concurrency: 2, pollIntervalMs: 10 })) {
      seen++;
      expect(pulled).toBeLessThanOrEqual(seen + 2);
      if (seen === 6) break;
    }
    expect(pulled).toBeLessThanOrEqual(8);
  });

  it("an abort stops new creates at once and rejects with the reason; created tasks stay findable by id", async () => {
    fake = await startFakeKling({ taskDurationMs: 5_000 });
    const kling = createClient({ baseUrl: fake.url, apiKey: "k-batch-test", ...quiet });
    const controller = new AbortController();
    const pending = collect(
      kling.runBatch(clips(20), { concurrency: 3, batchId: "abort-me", signal: controller.signal, pollIntervalMs: 10 }),
    );
    while (fake.tasks.length < 3) await new Promise((r) => setTimeout(r, 5));
    controller.abort(new Error("Ctrl-C"));
    await expect(pending).rejects.toThrow("Ctrl-C");
    const created = fake.tasks.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.tasks.length).toBe(created);
    expect(created).toBe(3);
    for (const task of fake.tasks) expect(task.external_task_id).toMatch(/^abort-me-/);
  });

  it("one deadline for the whole batch: running items end with KlingTimeoutError, no new ones start", async () => {
    fake = await startFakeKling({ taskDurationMs: 60_000 });
    const kling = createClient({ baseUrl: fake.url, apiKey: "k-batch-test", ...quiet });
    const results = await collect(kling.runBatch(clips(10), { concurrency: 2, timeoutMs: 200, pollIntervalMs: 20 }));
    expect(results).toHaveLength(2);
    for (const r of results) expect(r.ok === false && r.error).toBeInstanceOf(KlingTimeoutError);
    expect(fake.tasks).toHaveLength(2);
  });

  it("survives dropped connections after commit without paying twice", async () => {
    let n = 0;
    fake = await startFakeKling({
      taskDurationMs: 30,
      fault: (r) => (r.method === "POST" && ++n % 3 === 1 ? { kind: "drop-after-commit" } : undefined),
    });
    const kling = createClient({ baseUrl: fake.url, apiKey: "k-batch-test", ...quiet });
    const results = await collect(kling.runBatch(clips(9), { concurrency: 3, pollIntervalMs: 10 }));
    expect(results.filter((r) => r.ok)).toHaveLength(9);
    expect(fake.tasks).toHaveLength(9);
    expect(fake.duplicates()).toBe(0);
  });
});

describe("runBatch onItem", () => {
  it("is called once per item with the result the loop yields, before the loop sees it", async () => {
    fake = await startFakeKling({ taskDurationMs: 30 });
    const kling = createClient({ baseUrl: fake.url, apiKey: "k-batch-test", ...quiet });
    const seen: BatchResult[] = [];
    const yielded: BatchResult[] = [];
    for await (const result of kling.runBatch([clip(0), { video_url: "not a url" }, clip(2)], {
      concurrency: 2,
      pollIntervalMs: 10,
      onItem: (r) => seen.push(r),
    })) {
      expect(seen).toContain(result);
      yielded.push(result);
    }
    expect(seen).toHaveLength(3);
    expect(new Set(seen)).toEqual(new Set(yielded));
    expect(seen.filter((r) => !r.ok).map((r) => r.index)).toEqual([1]);
  });

  it("a throwing onItem stops the batch with its error, and nothing more is created", async () => {
    fake = await startFakeKling({ taskDurationMs: 2_000 });
    const kling = createClient({ baseUrl: fake.url, apiKey: "k-batch-test", ...quiet });
    const bug = new Error("onItem bug");
    // The first item fails at once (invalid input) while two more wait for their 2 s tasks.
    const inputs = [{ video_url: "not a url" }, clip(1), clip(2), clip(3), clip(4)];
    const error = await collect(
      kling.runBatch(inputs, {
        concurrency: 3,
        pollIntervalMs: 10,
        onItem: () => {
          throw bug;
        },
      }),
    ).catch((e) => e);
    expect(error).toBe(bug);
    // Items 1 and 2 may have been created before item 0's result came in; items 3 and 4 never are.
    expect(fake.tasks.length).toBeLessThanOrEqual(2);
  });
});

describe("batch item ids", () => {
  it("are the caller's, or derived from the batch id and the content, stable across runs", async () => {
    const a = await batchItemId("b", { video_url: "https://example.com/a.mp4", bgm_prompt: "x" });
    expect(a).toBe(await batchItemId("b", { bgm_prompt: "x", video_url: "https://example.com/a.mp4" }));
    expect(a).not.toBe(await batchItemId("b", { video_url: "https://example.com/b.mp4", bgm_prompt: "x" }));
    expect(a).not.toBe(await batchItemId("c", { video_url: "https://example.com/a.mp4", bgm_prompt: "x" }));
    expect(a).toMatch(/^b-[0-9a-f]{24}$/);
    expect(await batchItemId("b", { video_id: "1", external_task_id: "mine" })).toBe("mine");
  });

  it(
    "AdaptiveLimit drops to what the batch holds on 1303, regains a known-good level fast, probes above it ever more " +
      "rarely",
    () => {
      const limit = new AdaptiveLimit(10);
      const successesToGrow = () => {
        const before = limit.limit;
        let n = 0;
        while (limit.limit === before) {
          limit.succeeded();
          n++;
        }
        return n;
      };
      limit.congested(5); // the account evidently allows 5
      expect(limit.limit).toBe(5);
      const firstProbe = successesToGrow();
      expect(limit.limit).toBe(6);
      limit.congested(5); // the probe met 1303
      expect(limit.limit).toBe(5);
      const secondProbe = successesToGrow();
      expect(secondProbe).toBe(2 * firstProbe);
      limit.congested(0); // 1303 while holding nothing: another client filled the account
      expect(limit.limit).toBe(1);
      expect(successesToGrow()).toBe(1); // back towards the known-good level one per success
      for (let i = 0; i < 100_000; i++) limit.succeeded();
      expect(limit.limit).toBe(10);
    },
  );
});

describe("runBatch bounds and ids (regressions)", () => {
  it(
    "an item whose create keeps getting 1303 ends at its itemTimeoutMs with KlingTimeoutError, after few " + "creates",
    async () => {
      fake = await startFakeKling({
        fault: (r) =>
          r.method === "POST"
            ? { kind: "error", status: 429, code: 1303, message: "parallel task over resource pack limit" }
            : undefined,
      });
      const kling = createClient({ baseUrl: fake.url, apiKey: "k-batch-test", ...quiet });
      const started = Date.now();
      const [result] = await collect(kling.runBatch([clip(0)], { itemTimeoutMs: 1_000, pollIntervalMs: 10 }));
      const creates = fake.requests.filter((r) => r.method === "POST").length;
      expect(result?.ok).toBe(false);
      expect(result?.ok === false && result.error).toBeInstanceOf(KlingTimeoutError);
      expect(result?.externalTaskId).toBeTruthy();
      // Backoff from 1 s: a handful of creates, not a loop (it made 150 in 8 s before).
      expect(creates).toBeLessThanOrEqual(5);
      expect(Date.now() - started).toBeLessThan(10_000);
    },
  );

  it("batch creates honour the client's maxRetries (0: a 503 on create is not retried)", async () => {
    fake = await startFakeKling({
      fault: (r) => (r.method === "POST" ? { kind: "error", status: 503, code: 5001, message: "busy" } : undefined),
    });
    const kling = createClient({ baseUrl: fake.url, apiKey: "k-batch-test", maxRetries: 0, ...quiet });
    const [result] = await collect(kling.runBatch([clip(0)], { pollIntervalMs: 10 }));
    expect(result?.ok).toBe(false);
    expect(fake.requests.filter((r) => r.method === "POST")).toHaveLength(1);
  });

  it("an invalid item's result carries the external id it would have had, derived like a valid one", async () => {
    fake = await startFakeKling({ taskDurationMs: 30 });
    const kling = createClient({ baseUrl: fake.url, apiKey: "k-batch-test", ...quiet });
    const bad = { video_url: "not a url" } as CreateTaskInput;
    const results = await collect(
      kling.runBatch([bad, null as unknown as CreateTaskInput], { batchId: "b1", pollIntervalMs: 10 }),
    );
    expect(results.map((r) => r.ok)).toEqual([false, false]);
    expect(results.find((r) => r.index === 0)?.externalTaskId).toBe(await batchItemId("b1", bad));
    expect(results.find((r) => r.index === 1)?.externalTaskId).toMatch(/^b1-[0-9a-f]{24}$/);
  });
});
