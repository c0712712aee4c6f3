// kling-video-to-audio/bullmq on a real redis-server: worker processes, SIGKILL mid-job, 1303, re-enqueueing, failing
// tasks.
import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue, type Worker } from "bullmq";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  batchResults,
  createVideoToAudioWorker,
  DEFAULT_BATCH_ID,
  enqueueVideos,
  type VideoToAudioWorkerOptions,
} from "../../src/bullmq/index.js";
import { createClient } from "../../src/index.js";
import { duplicateCreates, SOURCE_CLI, spawnWorker, stopAll, type WorkerProcess } from "../support/bullmq-cluster.js";
import { type FakeKling, type FakeKlingOptions, startFakeKling } from "../support/fake-kling.js";
import { freePort, type RedisServer, startRedis } from "../support/redis.js";

let redis: RedisServer;
const connection = () => ({ url: redis.url });
const cleanups: Array<() => Promise<unknown>> = [];
let queueCount = 0;

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});
afterAll(async () => {
  await redis?.stop();
});

async function fakeKling(options: FakeKlingOptions): Promise<FakeKling> {
  const fake = await startFakeKling(options);
  cleanups.push(() => fake.close());
  return fake;
}

function newQueue(): Queue {
  const queue = new Queue(`q${++queueCount}`, { connection: connection() });
  cleanups.push(() => queue.close());
  return queue;
}

function workers(specs: Array<Parameters<typeof spawnWorker>[0]>): WorkerProcess[] {
  const started = specs.map(spawnWorker);
  cleanups.push(() => stopAll(started));
  return started;
}

async function inProcessWorker(
  queue: Queue,
  fake: FakeKling,
  options: Partial<VideoToAudioWorkerOptions> = {},
): Promise<Worker> {
  const worker = await createVideoToAudioWorker({
    queueName: queue.name,
    connection: connection(),
    client: createClient({ baseUrl: fake.url, apiKey: "bullmq-test-key-0123456789", logLevel: "off" }),
    accountConcurrency: 4,
    pollIntervalMs: 20,
    onError: () => {},
    ...options,
  });
  cleanups.push(() => worker.close(true));
  return worker;
}

const urls = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => ({ video_url: `https://example.com/${tag}/${i}.mp4` }));

/** Resolves once `items` jobs of the queue have finished (completed or failed); polls Redis, no fixed sleep. */
async function finished(
  queue: Queue,
  items: number,
  timeoutMs = 120_000,
): Promise<{ completed: number; failed: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await queue.getJobCounts("completed", "failed");
    const done = { completed: counts.completed ?? 0, failed: counts.failed ?? 0 };
    if (done.completed + done.failed >= items) return done;
    if (Date.now() > deadline)
      throw new Error(
        `only ${JSON.stringify(done)} of ${items} jobs finished in ${timeoutMs} ms: ` +
          `${JSON.stringify(await queue.getJobCounts())}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const createsOf = (fake: FakeKling) => fake.requests.filter((r) => r.method === "POST").length;

describe("worker processes sharing one account", () => {
  it("run every job once, never more tasks at once than accountConcurrency, and re-enqueueing adds " +
    "nothing", async () => {
    // No limit at the server: the peak it sees is what the workers ran at once, so this fails without global
    // concurrency.
    const fake = await fakeKling({ taskDurationMs: 600 });
    const queue = newQueue();
    const limit = 4;
    const pool = workers(
      [1, 2, 3].map((i) => ({
        redisUrl: redis.url,
        baseUrl: fake.url,
        queue: queue.name,
        accountConcurrency: limit,
        concurrency: limit,
        pollInterval: 0.02,
        name: `p${i}`,
      })),
    );
    await Promise.all(pool.map((w) => w.waitFor(/^worker ready/)));
    const inputs = urls(30, "pool");
    const ids = await enqueueVideos(queue, inputs, { batchId: "pool" });
    expect(await finished(queue, 30)).toEqual({ completed: 30, failed: 0 });
    expect(fake.tasks).toHaveLength(30);
    expect(duplicateCreates(fake.tasks)).toBe(0);
    expect(fake.peakRunning).toBeLessThanOrEqual(limit);
    expect(fake.peakRunning).toBeGreaterThanOrEqual(2); // the jobs really were spread, not run one at a time
    expect(pool.filter((w) => w.lines.some((l) => l.startsWith("done "))).length).toBeGreaterThan(1);
    const jobs = await Promise.all(ids.map((id) => queue.getJob(id)));
    expect(jobs.map((j) => j?.returnvalue?.task_info?.external_task_id)).toEqual(ids);

    const before = createsOf(fake);
    expect(await enqueueVideos(queue, inputs, { batchId: "pool" })).toEqual(ids);
    expect(await queue.getJobCounts("waiting", "active", "delayed", "completed")).toEqual({
      waiting: 0,
      active: 0,
      delayed: 0,
      completed: 30,
    });
    expect(createsOf(fake)).toBe(before);
  }, 120_000);

  it("lose nothing and create nothing twice when a worker is killed with SIGKILL mid-job", async () => {
    const fake = await fakeKling({ taskDurationMs: 4_000, concurrencyLimit: 4 });
    const queue = newQueue();
    const spec = {
      redisUrl: redis.url,
      baseUrl: fake.url,
      queue: queue.name,
      accountConcurrency: 4,
      concurrency: 2,
      pollInterval: 0.05,
    };
    const [victim, survivor] = workers([
      { ...spec, name: "victim" },
      { ...spec, name: "survivor" },
    ]);
    await Promise.all([victim!.waitFor(/^worker ready/), survivor!.waitFor(/^worker ready/)]);
    const ids = await enqueueVideos(queue, urls(8, "kill"), { batchId: "kill" });
    // Mid-job: the victim's task exists on the server and is being waited for.
    const line = await victim!.waitFor(/^\S+ task \d+ (submitted|processing)$/, 60_000);
    const orphan = line.split(" ")[0]!;
    victim!.kill("SIGKILL");
    expect((await victim!.exited).signal).toBe("SIGKILL");
    await survivor!.waitFor(new RegExp(`^done ${orphan} `), 90_000);
    expect(await finished(queue, 8)).toEqual({ completed: 8, failed: 0 });
    expect(fake.tasks).toHaveLength(8);
    expect(duplicateCreates(fake.tasks)).toBe(0);
    expect(fake.rejected1303).toBe(0);
    const job = await queue.getJob(orphan);
    expect(job!.stalledCounter).toBeGreaterThanOrEqual(1);
    expect(job!.returnvalue.task_id).toBe(fake.tasks.find((t) => t.external_task_id === orphan)!.task_id);
    expect(ids).toContain(orphan);
  }, 150_000);

  it("hand running jobs back on SIGTERM, uncounted, and another worker waits for the same task", async () => {
    const fake = await fakeKling({ taskDurationMs: 3_000 });
    const queue = newQueue();
    const spec = {
      redisUrl: redis.url,
      baseUrl: fake.url,
      queue: queue.name,
      accountConcurrency: 2,
      concurrency: 2,
      pollInterval: 0.05,
    };
    const [leaving] = workers([{ ...spec, name: "leaving" }]);
    await leaving!.waitFor(/^worker ready/);
    await enqueueVideos(queue, urls(2, "term"), { batchId: "term" });
    const line = await leaving!.waitFor(/^\S+ task \d+ (submitted|processing)$/);
    const id = line.split(" ")[0]!;
    leaving!.kill("SIGTERM");
    expect((await leaving!.exited).code).toBe(143); // 128 + SIGTERM, as the shell reports it
    const handedBack = await queue.getJob(id);
    expect(await handedBack!.getState()).toBe("waiting");
    expect(handedBack!.attemptsMade).toBe(0);
    const [staying] = workers([{ ...spec, name: "staying" }]);
    await staying!.waitFor(new RegExp(`^done ${id} `));
    expect(await finished(queue, 2)).toEqual({ completed: 2, failed: 0 });
    expect(duplicateCreates(fake.tasks)).toBe(0);
    expect(fake.tasks).toHaveLength(2);
  }, 90_000);
});

/** A client object not made by createClient (a wrapper): the worker must fall back to the public methods. */
const wrapped = (fake: FakeKling) => ({
  ...createClient({ baseUrl: fake.url, apiKey: "bullmq-test-key-0123456789", logLevel: "off" }),
});

describe("one worker, real Redis", () => {
  it.each(["createClient's client", "a wrapped client"])(
    "backs the whole queue off on 1303 without counting an attempt; 1303s stay bounded (%s)",
    async (kind) => {
      // The queue believes in 6 slots, the account has 2: Kling's 1303 must do the rest.
      const fake = await fakeKling({ taskDurationMs: 400, concurrencyLimit: 2 });
      const queue = newQueue();
      await inProcessWorker(queue, fake, {
        accountConcurrency: 6,
        ...(kind === "a wrapped client" ? { client: wrapped(fake) } : {}),
      });
      const ids = await enqueueVideos(queue, urls(8, "busy"), { batchId: "busy", jobOptions: { attempts: 1 } });
      expect(await finished(queue, 8)).toEqual({ completed: 8, failed: 0 });
      expect(fake.rejected1303).toBeGreaterThan(0);
      // Each back-off (≥ 1 s) lets at most the queue's 6 slots try once: far fewer 1303s than a busy loop would cause.
      expect(fake.rejected1303).toBeLessThanOrEqual(8 * 3);
      expect(duplicateCreates(fake.tasks)).toBe(0);
      expect(fake.peakRunning).toBeLessThanOrEqual(2);
      // attempts: 1 and still all done: a 1303 is not a failed attempt.
      const jobs = await Promise.all(ids.map((id) => queue.getJob(id)));
      expect(jobs.map((j) => j!.attemptsMade)).toEqual(ids.map(() => 1));
    },
    120_000,
  );

  it("fails a job whose task failed at once, without retries, with the task's reason", async () => {
    const fake = await fakeKling({ taskDurationMs: 200 });
    const queue = newQueue();
    await inProcessWorker(queue, fake);
    const [ok, bad] = await enqueueVideos(queue, [
      { video_url: "https://example.com/fine.mp4" },
      { video_url: "https://example.com/will-fail.mp4" },
    ]);
    expect(await finished(queue, 2)).toEqual({ completed: 1, failed: 1 });
    const failed = await queue.getJob(bad!);
    expect(failed!.attemptsMade).toBe(1);
    expect(failed!.opts.attempts).toBeGreaterThan(1);
    expect(failed!.failedReason).toMatch(/failed: Video duration must be between 3 and 20 seconds/);
    expect(failed!.progress).toMatchObject({ task_status: "failed" });
    expect(await (await queue.getJob(ok!))!.getState()).toBe("completed");
    expect(fake.tasks).toHaveLength(2);
    const results = [];
    for await (const r of batchResults(queue, DEFAULT_BATCH_ID)) results.push(r);
    expect(results).toMatchObject([
      { index: 0, externalTaskId: ok, ok: true, task_status: "succeed" },
      {
        index: 1,
        externalTaskId: bad,
        ok: false,
        task_id: fake.tasks[1]!.task_id,
        task_status: "failed",
        error: { message: expect.stringMatching(/Video duration/) },
      },
    ]);
  }, 60_000);

  it("fails the attempt on a wait timeout and the retry waits for the same task", async () => {
    const fake = await fakeKling({ taskDurationMs: 2_500 });
    const queue = newQueue();
    await inProcessWorker(queue, fake, { waitTimeoutMs: 400 });
    const [id] = await enqueueVideos(queue, [{ video_url: "https://example.com/slow.mp4" }], {
      jobOptions: { backoff: { type: "fixed", delay: 100 } },
    });
    expect(await finished(queue, 1)).toEqual({ completed: 1, failed: 0 });
    const job = await queue.getJob(id!);
    expect(job!.attemptsMade).toBeGreaterThan(1);
    expect(fake.tasks).toHaveLength(1);
    expect(job!.returnvalue.task_id).toBe(fake.tasks[0]!.task_id);
    // Read back, it is a success, whatever its earlier attempts said.
    const results = [];
    for await (const r of batchResults(queue, DEFAULT_BATCH_ID)) results.push(r);
    expect(results).toMatchObject([
      { index: 0, externalTaskId: id, ok: true, task_id: fake.tasks[0]!.task_id, task_status: "succeed" },
    ]);
  }, 60_000);

  it("looks a task up when Kling answers that its external_task_id already exists", async () => {
    const fake = await fakeKling({ taskDurationMs: 200, uniqueExternalIds: true });
    const client = createClient({ baseUrl: fake.url, apiKey: "bullmq-test-key-0123456789", logLevel: "off" });
    const earlier = await client.createTask({
      video_url: "https://example.com/early.mp4",
      external_task_id: "made-before",
    });
    const queue = newQueue();
    await inProcessWorker(queue, fake);
    await enqueueVideos(queue, [{ video_url: "https://example.com/early.mp4", external_task_id: "made-before" }]);
    expect(await finished(queue, 1)).toEqual({ completed: 1, failed: 0 });
    expect((await queue.getJob("made-before"))!.returnvalue.task_id).toBe(earlier.task_id);
    expect(fake.tasks).toHaveLength(1);
  }, 60_000);

  it.each(["createClient's client", "a wrapped client"])(
    "on a retry after a create whose answer was lost, finds the task instead of creating it again (%s)",
    async (kind) => {
      let posts = 0;
      let firstAttemptFailed = false;
      // The create commits but its answer is lost, and every lookup of that attempt fails too: the attempt ends not
      // knowing whether its task exists (it does). The retry must find it.
      const fake = await fakeKling({
        taskDurationMs: 200,
        fault: (r) => {
          if (r.method === "POST" && ++posts === 1) return { kind: "drop-after-commit" };
          if (r.method === "GET" && !firstAttemptFailed) return { kind: "error", status: 500, code: 5000 };
          return undefined;
        },
      });
      const queue = newQueue();
      const worker = await inProcessWorker(queue, fake, kind === "a wrapped client" ? { client: wrapped(fake) } : {});
      worker.on("failed", () => (firstAttemptFailed = true));
      const [id] = await enqueueVideos(queue, [{ video_url: "https://example.com/lost.mp4" }], {
        jobOptions: { backoff: { type: "fixed", delay: 100 } },
      });
      expect(await finished(queue, 1)).toEqual({ completed: 1, failed: 0 });
      const job = await queue.getJob(id!);
      expect(job!.attemptsMade).toBe(2);
      expect(createsOf(fake)).toBe(1);
      expect(job!.returnvalue.task_id).toBe(fake.tasks[0]!.task_id);
    },
    60_000,
  );

  it("keeps its lock through a wait far longer than the lock (no false stall)", async () => {
    const fake = await fakeKling({ taskDurationMs: 7_000 });
    const queue = newQueue();
    const worker = await inProcessWorker(queue, fake, {
      workerOptions: { lockDuration: 1_500, stalledInterval: 500 },
      pollIntervalMs: 1_000,
    });
    const stalls: string[] = [];
    worker.on("stalled", (id) => stalls.push(id));
    const [id] = await enqueueVideos(queue, [{ video_url: "https://example.com/long.mp4" }]);
    expect(await finished(queue, 1)).toEqual({ completed: 1, failed: 0 });
    const job = await queue.getJob(id!);
    expect(stalls).toEqual([]);
    expect(job!.stalledCounter).toBe(0);
    expect(job!.attemptsStarted).toBe(1);
    expect(fake.tasks).toHaveLength(1);
  }, 60_000);

  it("fails jobs added behind enqueueVideos' back with bad data at once, sending nothing", async () => {
    const fake = await fakeKling({ taskDurationMs: 100 });
    const queue = newQueue();
    await inProcessWorker(queue, fake);
    await queue.add(
      "video-to-audio",
      { input: { video_url: "ftp://example.com/x.mp4" } },
      { jobId: "bad-url", attempts: 5 },
    );
    // a numeric id, no external id
    await queue.add("video-to-audio", { input: { video_url: "https://example.com/x.mp4" } }, { attempts: 5 });
    await queue.add("video-to-audio", "not an object", { jobId: "no-input", attempts: 5 });
    expect(await finished(queue, 3)).toEqual({ completed: 0, failed: 3 });
    const failed = await queue.getJobs(["failed"]);
    expect(failed.map((j) => j.attemptsMade)).toEqual([1, 1, 1]);
    const reasons = failed.map((j) => j.failedReason);
    expect(reasons).toHaveLength(3);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/has no external_task_id/),
        expect.stringMatching(/^The create input must be an object/),
        expect.stringMatching(/video_url/),
      ]),
    );
    expect(fake.requests).toEqual([]);
  }, 60_000);

  it("sets the queue's global concurrency before taking a job, and refuses to guess it", async () => {
    const fake = await fakeKling({ taskDurationMs: 100 });
    const queue = newQueue();
    const notices: string[] = [];
    const unset = {
      accountConcurrency: undefined,
      accountConcurrencyWaitMs: 400,
      onNotice: (m: string) => notices.push(m),
    };
    await expect(inProcessWorker(queue, fake, unset)).rejects.toMatchObject({
      field: "accountConcurrency",
      message: expect.stringContaining("after waiting 0.4 s"),
    });
    expect(notices).toEqual([
      expect.stringContaining("waiting up to 0.4 s for a worker started with accountConcurrency"),
    ]);
    await inProcessWorker(queue, fake, { accountConcurrency: 3 });
    expect(await queue.getGlobalConcurrency()).toBe(3);
    // A later worker without the option keeps what the queue has.
    await inProcessWorker(queue, fake, { accountConcurrency: undefined });
    expect(await queue.getGlobalConcurrency()).toBe(3);
  }, 60_000);
});

describe("workers started at the same moment", () => {
  const spec = (queue: string, fake: FakeKling, accountConcurrency?: number) => ({
    redisUrl: redis.url,
    baseUrl: fake.url,
    queue,
    accountConcurrency,
    pollInterval: 0.05,
  });

  it("a worker without --account-concurrency waits, saying so, for the one that sets it", async () => {
    const fake = await fakeKling({ taskDurationMs: 100 });
    const queue = newQueue();
    const [later] = workers([{ ...spec(queue.name, fake), name: "without" }]);
    await later!.waitFor(
      /no global concurrency yet: waiting up to 30 s for a worker started with --account-concurrency/,
    );
    const [first] = workers([{ ...spec(queue.name, fake, 3), name: "with" }]);
    await Promise.all([first!.waitFor(/^worker ready/), later!.waitFor(/^worker ready.*concurrency 3/)]);
  }, 90_000);

  it("two started together (only the first with --account-concurrency) both start, every time", async () => {
    const fake = await fakeKling({ taskDurationMs: 100 });
    for (let round = 0; round < 4; round++) {
      const queue = newQueue();
      const pair = workers([
        { ...spec(queue.name, fake, 2), name: `with-${round}` },
        { ...spec(queue.name, fake), name: `without-${round}` },
      ]);
      await Promise.all(pair.map((worker) => worker.waitFor(/^worker ready/)));
      await stopAll(pair);
    }
  }, 180_000);
});

describe("the queue commands", () => {
  it("enqueue of the same file twice: N added, then 0 added and N already queued", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kling-bullmq-"));
    const file = join(dir, "twice.txt");
    await writeFile(
      file,
      urls(5, "twice")
        .map((input) => input.video_url)
        .join("\n"),
    );
    const queue = newQueue();
    const [node, ...pre] = SOURCE_CLI;
    const enqueue = (json: boolean) =>
      new Promise<{ code: number; stdout: string }>((resolve) =>
        execFile(
          node!,
          [...pre, "enqueue", file, "--redis", redis.url, "--queue", queue.name, ...(json ? ["--json"] : [])],
          { timeout: 60_000 },
          (error, stdout) => resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout }),
        ),
      );
    const first = await enqueue(true);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ items: 5, jobs: 5, added: 5, alreadyQueued: 0 });
    const second = await enqueue(false);
    expect(second.stdout).toContain("0 added, 5 already queued");
    expect(await queue.count()).toBe(5);
  }, 60_000);

  it("exit 3 with one line, and no password, when Redis does not answer", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kling-bullmq-"));
    await writeFile(join(dir, "clips.txt"), "https://example.com/a.mp4\n");
    const port = await freePort();
    const [node, ...pre] = SOURCE_CLI;
    const result = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(
        node!,
        [...pre, "enqueue", join(dir, "clips.txt"), "--redis", `redis://user:hunter2-secret@127.0.0.1:${port}`],
        { timeout: 60_000 },
        (error, _stdout, stderr) => resolve({ code: typeof error?.code === "number" ? error.code : 0, stderr }),
      ),
    );
    expect(result.code).toBe(3);
    expect(result.stderr.trim().split("\n")).toEqual([
      `kling-v2a: cannot reach Redis at redis://127.0.0.1:${port} within 10 s; is redis-server running there?`,
    ]);
    expect(result.stderr).not.toContain("hunter2");
  }, 90_000);

  it("enqueue refuses a file with a bad item, naming it, and adds nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kling-bullmq-"));
    const file = join(dir, "items.jsonl");
    await writeFile(
      file,
      [
        '{"video_url":"https://example.com/a.mp4"}',
        '{"video_url":"https://example.com/b.mp4","external_task_id":"12345"}',
      ].join("\n"),
    );
    const queue = newQueue();
    const [node, ...pre] = SOURCE_CLI;
    const result = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(
        node!,
        [...pre, "enqueue", file, "--redis", redis.url, "--queue", queue.name],
        { timeout: 60_000 },
        (error, _stdout, stderr) => resolve({ code: typeof error?.code === "number" ? error.code : 0, stderr }),
      ),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/inputs\[1\]: external_task_id "12345" is all digits/);
    expect(await queue.count()).toBe(0);
  }, 60_000);
});
