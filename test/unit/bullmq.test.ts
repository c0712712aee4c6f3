// kling-video-to-audio/bullmq without Redis: enqueueVideos' ids and refusals, the 1303 back-off, the core free of
// bullmq, CLI usage.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULT_JOB_OPTIONS, enqueueVideos, KEEP_FINISHED_SECONDS, WORKER_DEFAULTS } from "../../src/bullmq/index.js";
import { accountBackOff } from "../../src/bullmq/worker.js";
import { main } from "../../src/cli/main.js";
import { KlingRateLimitError, KlingValidationError } from "../../src/index.js";
import { batchItemId } from "../../src/request/batch.js";
import { checkCreateInput } from "../../src/request/input.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** A stand-in for a BullMQ Queue that records what would be added. */
function recordingQueue() {
  const calls: Array<Array<{ name: string; data: any; opts?: any }>> = [];
  return {
    calls,
    addBulk: async (jobs: Array<{ name: string; data: any; opts?: any }>) => {
      calls.push(jobs);
      return [] as never[];
    },
  };
}

async function refusal(promise: Promise<unknown>): Promise<KlingValidationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KlingValidationError);
  return error as KlingValidationError;
}

describe("enqueueVideos", () => {
  it("uses the caller's external_task_id, else the id runBatch derives, as the job id, in input order", async () => {
    const queue = recordingQueue();
    const inputs = [
      { video_url: "https://example.com/a.mp4", bgm_prompt: "piano" },
      { video_url: "https://example.com/b.mp4", external_task_id: "mine-7" },
    ];
    const ids = await enqueueVideos(queue as never, inputs, { batchId: "cat-1" });
    expect(ids).toEqual([await batchItemId("cat-1", checkCreateInput(inputs[0])), "mine-7"]);
    expect(ids[0]).toMatch(/^cat-1-[0-9a-f]{24}$/);
    const jobs = queue.calls.flat();
    expect(jobs.map((j) => j.opts.jobId)).toEqual(ids);
    expect(jobs[0]!.data).toEqual({ input: { ...inputs[0], external_task_id: ids[0] }, batchId: "cat-1", index: 0 });
  });

  it("gives identical inputs one job, and the same ids on every call", async () => {
    const queue = recordingQueue();
    const same = { video_url: "https://example.com/same.mp4" };
    const first = await enqueueVideos(queue as never, [
      same,
      { ...same },
      { video_url: "https://example.com/other.mp4" },
    ]);
    const again = await enqueueVideos(queue as never, [same]);
    expect(first[0]).toBe(first[1]);
    expect(again[0]).toBe(first[0]);
    expect(queue.calls[0]).toHaveLength(2);
  });

  it("records the given indexes (a file's lines) instead of positions", async () => {
    const queue = recordingQueue();
    await enqueueVideos(
      queue as never,
      [{ video_url: "https://example.com/a.mp4" }, { video_url: "https://example.com/b.mp4" }],
      { indexes: [3, 7] },
    );
    expect(queue.calls[0]!.map((j) => j.data.index)).toEqual([3, 7]);
  });

  it("reads async iterables and adds in chunks", async () => {
    const queue = recordingQueue();
    async function* inputs() {
      for (let i = 0; i < 1201; i++) yield { video_url: `https://example.com/${i}.mp4` };
    }
    const ids = await enqueueVideos(queue as never, inputs());
    expect(ids).toHaveLength(1201);
    expect(queue.calls.map((c) => c.length)).toEqual([500, 500, 201]);
  });

  it("keeps finished jobs at least 7 days and retries transient failures by default; jobOptions override", async () => {
    expect(KEEP_FINISHED_SECONDS).toBeGreaterThanOrEqual(7 * 24 * 3600);
    expect(DEFAULT_JOB_OPTIONS.removeOnComplete.age).toBe(KEEP_FINISHED_SECONDS);
    expect(DEFAULT_JOB_OPTIONS.removeOnFail.age).toBe(KEEP_FINISHED_SECONDS);
    expect(DEFAULT_JOB_OPTIONS.attempts).toBeGreaterThan(1);
    const queue = recordingQueue();
    await enqueueVideos(queue as never, [{ video_url: "https://example.com/a.mp4" }], {
      jobOptions: { attempts: 2, jobId: "sneaky" } as never,
    });
    expect(queue.calls[0]![0]!.opts).toMatchObject({ attempts: 2, removeOnComplete: { age: KEEP_FINISHED_SECONDS } });
    expect(queue.calls[0]![0]!.opts.jobId).not.toBe("sneaky");
  });

  it.each([
    ["an invalid input", { video_url: "ftp://example.com/x.mp4" }, "inputs[2].video_url"],
    ["an input with both videos", { video_url: "https://example.com/x.mp4", video_id: "1" }, "inputs[2].video_id"],
    [
      "a prompt over 200 characters",
      { video_url: "https://example.com/x.mp4", bgm_prompt: "x".repeat(201) },
      "inputs[2].bgm_prompt",
    ],
    [
      "an all-digit caller id",
      { video_url: "https://example.com/x.mp4", external_task_id: "8675309" },
      "inputs[2].external_task_id",
    ],
    [
      "a caller id with ':'",
      { video_url: "https://example.com/x.mp4", external_task_id: "bull:kling-v2a:1" },
      "inputs[2].external_task_id",
    ],
    ["an unknown field", { video_url: "https://example.com/x.mp4", prompt: "x" }, "inputs[2].prompt"],
    ["a non-object", "https://example.com/x.mp4", "inputs[2].input"],
  ])("refuses the whole call on %s, naming index and field; nothing added", async (_, bad, field) => {
    const queue = recordingQueue();
    const inputs = [
      { video_url: "https://example.com/ok-1.mp4" },
      { video_url: "https://example.com/ok-2.mp4" },
      bad,
      { video_url: "https://example.com/ok-3.mp4" },
    ];
    const error = await refusal(enqueueVideos(queue as never, inputs as never));
    expect(error.field).toBe(field);
    expect(error.message).toContain("inputs[2]");
    expect(queue.calls).toEqual([]);
  });

  it("refuses two different bodies under one caller id (one would silently vanish)", async () => {
    const queue = recordingQueue();
    const error = await refusal(
      enqueueVideos(queue as never, [
        { video_url: "https://example.com/a.mp4", external_task_id: "dup" },
        { video_url: "https://example.com/b.mp4", external_task_id: "dup" },
      ]),
    );
    expect(error.field).toBe("inputs[1].external_task_id");
    expect(queue.calls).toEqual([]);
  });

  it("refuses a batchId BullMQ cannot take in an id", async () => {
    const queue = recordingQueue();
    expect(
      (await refusal(enqueueVideos(queue as never, [{ video_url: "https://example.com/a.mp4" }], { batchId: "a:b" })))
        .field,
    ).toBe("batchId");
    expect(
      (await refusal(enqueueVideos(queue as never, [{ video_url: "https://example.com/a.mp4" }], { batchId: "" })))
        .field,
    ).toBe("batchId");
    expect(queue.calls).toEqual([]);
  });
});

describe("the worker's defaults", () => {
  it("take a dead worker's job over within seconds and allow more than one stall", () => {
    expect(WORKER_DEFAULTS.lockDuration).toBeLessThanOrEqual(10_000);
    expect(WORKER_DEFAULTS.stalledInterval).toBeLessThanOrEqual(5_000);
    expect(WORKER_DEFAULTS.maxStalledCount).toBeGreaterThan(1);
  });
});

describe("the queue-wide back-off on 1303", () => {
  function limiter(ttl = 0) {
    const set: number[] = [];
    return { set, queue: { getRateLimitTtl: async () => ttl, rateLimit: async (ms: number) => void set.push(ms) } };
  }
  const busy = (retryAfterMs?: number) =>
    new KlingRateLimitError({
      status: 429,
      code: 1303,
      message: "parallel task over resource pack limit",
      retryable: true,
      retryAfterMs,
    });

  it("waits at least 1 s, longer on each 1303 in a row, and starts over after a create goes through", async () => {
    const { set, queue } = limiter();
    const backOff = accountBackOff(queue as never);
    for (let i = 0; i < 5; i++) await backOff.congested(busy());
    backOff.created();
    await backOff.congested(busy());
    expect(set[0]).toBeGreaterThanOrEqual(1_000);
    expect(set[3]!).toBeGreaterThan(set[0]! * 2);
    expect(Math.max(...set)).toBeLessThanOrEqual(8_000);
    expect(set[5]).toBeLessThan(2_000);
  });

  it("honours Retry-After, never below 1 s, and never shortens a longer wait already set", async () => {
    const first = limiter();
    await accountBackOff(first.queue as never).congested(busy(5_000));
    await accountBackOff(first.queue as never).congested(busy(10));
    expect(first.set).toEqual([5_000, 1_000]);
    const longer = limiter(30_000);
    await accountBackOff(longer.queue as never).congested(busy(2_000));
    expect(longer.set).toEqual([]);
  });
});

describe("the core entry", () => {
  it("never imports bullmq or ioredis (they are optional peers of ./bullmq alone)", () => {
    const seen = new Set<string>();
    const external = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      for (const [, spec] of text.matchAll(/(?:^|\n)\s*(?:import|export)[^"';]*?from\s+"([^"]+)"/g)) {
        if (spec!.startsWith(".")) visit(resolve(dirname(file), spec!.replace(/\.js$/, ".ts")));
        else external.add(spec!);
      }
      for (const [, spec] of text.matchAll(/import\("([^"]+)"\)/g)) if (!spec!.startsWith(".")) external.add(spec!);
    };
    visit(join(root, "src/index.ts"));
    expect(seen.size).toBeGreaterThan(5);
    expect([...external].filter((name) => /bullmq|ioredis/.test(name))).toEqual([]);
  });
});

describe("kling-v2a worker | enqueue | results: usage", () => {
  function capture() {
    let out = "";
    let err = "";
    const stream = (write: (s: string) => void) =>
      ({
        write: (s: string) => {
          write(s);
          return true;
        },
        isTTY: false,
      }) as unknown as NodeJS.WriteStream;
    return {
      io: { stdout: stream((s) => (out += s)), stderr: stream((s) => (err += s)) },
      out: () => out,
      err: () => err,
    };
  }

  it.each([
    [["worker"], /--redis URL is required/],
    [["worker", "--redis", "http://127.0.0.1:6379"], /redis:\/\//],
    [
      ["worker", "--redis", "redis://127.0.0.1:1", "--concurrency", "0"],
      /--concurrency must be a positive whole number/,
    ],
    [["enqueue", "--redis", "redis://127.0.0.1:1"], /expected one FILE/],
    [["enqueue", "no-such-file.jsonl", "--redis", "redis://127.0.0.1:1"], /no such file/],
    [["results", "--redis", "redis://127.0.0.1:1"], /--batch-id ID is required/],
    [["worker", "--redis", "redis://127.0.0.1:1", "--bogus"], /unknown flag --bogus/],
  ])("%j exits 2 with a message", async (argv, message) => {
    const { io, err } = capture();
    expect(await main(argv, io)).toBe(2);
    expect(err()).toMatch(message);
  });

  it("never prints the Redis password", async () => {
    const { io, err } = capture();
    expect(await main(["worker", "--redis", "redis://user:hunter2-secret@127.0.0.1:1", "--concurrency", "x"], io)).toBe(
      2,
    );
    expect(err()).not.toContain("hunter2");
  });
});
