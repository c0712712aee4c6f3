// `npm run scale`: worker processes on a real Redis share a 5-task fake Kling account; one is killed mid-job; prints
// the figures.
import { parseArgs } from "node:util";
import { Queue } from "bullmq";
import { enqueueVideos } from "../../src/bullmq/index.js";
import { duplicateCreates, spawnWorker, stopAll, type WorkerProcess } from "../support/bullmq-cluster.js";
import { startFakeKling } from "../support/fake-kling.js";
import { startRedis } from "../support/redis.js";

export interface ScaleOptions {
  /** @default 200 */
  items?: number;
  /** Worker processes. @default 3 */
  workers?: number;
  /** Tasks the fake account runs at once; beyond it a create gets 429 + 1303. @default 5 */
  limit?: number;
  /** How long each task runs, in ms. @default 2000 */
  taskDurationMs?: number;
  /** SIGKILL one worker mid-job once this share of the items is done. @default 0.3 (0 = kill none) */
  killAt?: number;
  /** Give up after this long, in ms. @default 600000 */
  deadlineMs?: number;
}

export interface ScaleFigures {
  items: number;
  workers: number;
  killed: number;
  completed: number;
  failed: number;
  lost: number;
  duplicates: number;
  peakRunning: number;
  limit: number;
  rejected1303: number;
  seconds: number;
  /** items ÷ limit × task time: every slot of the account busy all the time. */
  idealSeconds: number;
  /** idealSeconds / seconds. */
  efficiency: number;
  /** From the kill to the killed worker's jobs running again elsewhere, in s. */
  takeoverSeconds: number | undefined;
}

export async function runScale(options: ScaleOptions = {}): Promise<ScaleFigures> {
  const items = options.items ?? 200;
  const count = options.workers ?? 3;
  const limit = options.limit ?? 5;
  const taskDurationMs = options.taskDurationMs ?? 2_000;
  const killAt = options.killAt ?? 0.3;
  const redis = await startRedis();
  const fake = await startFakeKling({ concurrencyLimit: limit, taskDurationMs });
  const queueName = "scale";
  const queue = new Queue(queueName, { connection: { url: redis.url } });
  const workers: WorkerProcess[] = [];
  try {
    for (let i = 0; i < count; i++) {
      workers.push(
        spawnWorker({
          redisUrl: redis.url,
          baseUrl: fake.url,
          queue: queueName,
          accountConcurrency: limit,
          concurrency: limit,
          pollInterval: 0.05,
          name: `w${i + 1}`,
        }),
      );
    }
    await Promise.all(workers.map((w) => w.waitFor(/^worker ready/)));
    const started = Date.now();
    const inputs = Array.from({ length: items }, (_, i) => ({ video_url: `https://example.com/scale/${i}.mp4` }));
    await enqueueVideos(queue, inputs, { batchId: "scale" });
    let killed: WorkerProcess | undefined;
    let killedAt = 0;
    let orphans: string[] = [];
    let takeoverSeconds: number | undefined;
    const deadline = started + (options.deadlineMs ?? 600_000);
    for (;;) {
      const counts = await queue.getJobCounts("completed", "failed");
      const finished = (counts.completed ?? 0) + (counts.failed ?? 0);
      if (finished >= items || Date.now() > deadline) break;
      if (!killed && killAt > 0 && finished >= items * killAt) {
        // Mid-job: a worker with a task running on the server, not just a job picked up.
        killed = workers.find((w) =>
          [...w.active].some((id) => w.lines.some((line) => line.startsWith(`${id} task `))),
        );
        if (killed) {
          orphans = [...killed.active];
          killed.kill("SIGKILL");
          killedAt = Date.now();
        }
      }
      if (killed && takeoverSeconds === undefined) {
        const others = workers.filter((w) => w !== killed);
        if (orphans.every((id) => others.some((w) => w.lines.some((line) => line.startsWith(`started ${id} `)))))
          takeoverSeconds = (Date.now() - killedAt) / 1000;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const seconds = (Date.now() - started) / 1000;
    const counts = await queue.getJobCounts("completed", "failed");
    const idealSeconds = ((items / limit) * taskDurationMs) / 1000;
    return {
      items,
      workers: count,
      killed: killed ? 1 : 0,
      completed: counts.completed ?? 0,
      failed: counts.failed ?? 0,
      lost: items - (counts.completed ?? 0) - (counts.failed ?? 0),
      duplicates: duplicateCreates(fake.tasks),
      peakRunning: fake.peakRunning,
      limit,
      rejected1303: fake.rejected1303,
      seconds,
      idealSeconds,
      efficiency: idealSeconds / seconds,
      takeoverSeconds,
    };
  } finally {
    await stopAll(workers);
    await queue.close();
    await fake.close();
    await redis.stop();
  }
}

export function printScale(f: ScaleFigures, taskDurationMs: number): void {
  const mark = (ok: boolean, must: string) => (ok ? " (ok)" : ` (${must})`);
  console.log(
    `scale: ${f.items} items, ${f.workers} worker processes on one Redis, a ${f.limit}-task account (1303 beyond), ` +
      `${taskDurationMs} ms tasks`,
  );
  console.log(`  items                  ${f.items}: ${f.completed} completed, ${f.failed} failed`);
  const takeover =
    f.takeoverSeconds !== undefined ? `; its jobs taken over after ${f.takeoverSeconds.toFixed(1)} s` : "";
  console.log(`  workers                ${f.workers}, killed ${f.killed} (SIGKILL mid-job)${takeover}`);
  console.log(`  duplicates             ${f.duplicates}${mark(f.duplicates === 0, "MUST BE 0")}`);
  console.log(`  lost                   ${f.lost}${mark(f.lost === 0 && f.failed === 0, "MUST BE 0")}`);
  console.log(
    `  peak running           ${f.peakRunning} of the limit ` +
      `${f.limit}${mark(f.peakRunning <= f.limit, "OVER THE LIMIT")}`,
  );
  console.log(`  1303 answers           ${f.rejected1303}`);
  console.log(
    `  throughput             ${f.seconds.toFixed(1)} s; ideal ${f.idealSeconds.toFixed(1)} s (items ÷ limit × task ` +
      `time): ${(f.efficiency * 100).toFixed(0)}% of ideal${mark(f.efficiency >= 0.9, "target 90%")}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      items: { type: "string", default: "200" },
      workers: { type: "string", default: "3" },
      limit: { type: "string", default: "5" },
      "task-ms": { type: "string", default: "2000" },
      "kill-at": { type: "string", default: "0.3" },
    },
  });
  const options = {
    items: Number(values.items),
    workers: Number(values.workers),
    limit: Number(values.limit),
    taskDurationMs: Number(values["task-ms"]),
    killAt: Number(values["kill-at"]),
  };
  const figures = await runScale(options);
  printScale(figures, options.taskDurationMs);
  process.exitCode =
    figures.duplicates === 0 && figures.lost === 0 && figures.failed === 0 && figures.peakRunning <= figures.limit
      ? 0
      : 1;
}
