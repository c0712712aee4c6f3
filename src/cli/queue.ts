// `kling-v2a worker | enqueue | results`: the BullMQ workers, feeding a queue from a batch file, and reading results
// back.
import { type ParseArgsConfig, parseArgs } from "node:util";
import { KlingValidationError } from "../errors.js";
import type { Task } from "../types.js";
import { defaultBatchId } from "./batch.js";
import {
  clientFrom,
  EXIT,
  exitCodeOf,
  flagProblem,
  type Io,
  inCliTerms,
  integerFlag,
  onStopSignals,
  positiveNumberFlag,
  signalExitCode,
  UsageError,
} from "./common.js";
import { readInputs } from "./input-file.js";

const QUEUE_COMMANDS = ["worker", "enqueue", "results"] as const;
export type QueueCommand = (typeof QUEUE_COMMANDS)[number];

/** The queue the commands use unless `--queue` names another (the name api.md's example uses). */
const DEFAULT_QUEUE = "kling-v2a";
/** How long a command waits for Redis to answer at start before it gives up (exit 3). */
const CONNECT_TIMEOUT_MS = 10_000;

const HELP = `kling-v2a worker | enqueue | results: many workers share one Kling account through a BullMQ queue on Redis

Usage:
  kling-v2a worker  --redis URL [--account-concurrency N] [--concurrency N] [--queue NAME]
                    [--poll-interval SEC] [--timeout SEC] [--name NAME] [--base-url URL] [--api-key KEY]
  kling-v2a enqueue FILE --redis URL [--batch-id ID] [--queue NAME] [--json]
  kling-v2a results --redis URL --batch-id ID [--queue NAME]

worker   runs jobs until Ctrl-C (or SIGTERM, SIGHUP), which hands its running jobs back to the queue.
         --account-concurrency: tasks your Kling account runs at once, across all workers (stored in
         Redis; other workers may omit it, and one started at the same moment waits up to 30 s for it).
         --concurrency: jobs this worker runs (default: the account's).
         --timeout: one attempt's wait for its task (default 600); a retry waits for the same task.
enqueue  adds FILE's items (.jsonl: one create body a line; else one video URL a line), one job per
         item, its id the item's external_task_id: enqueueing the same file again adds nothing (it
         says how many jobs it added and how many were already queued).
         --batch-id defaults to one derived from the file's path, as \`kling-v2a batch\` does.
results  writes the batch's finished items as JSONL on stdout; a summary goes to stderr.

Needs the optional packages bullmq and ioredis: npm install bullmq@6 ioredis@5
Exit codes: 0 success, 1 an item failed (results), 2 usage or validation error, 3 API or Redis
connection error, 130 interrupted (143 SIGTERM, 129 SIGHUP).
`;

const COMMON = {
  redis: { type: "string" },
  queue: { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const satisfies ParseArgsConfig["options"];

const OPTIONS = {
  worker: {
    ...COMMON,
    "base-url": { type: "string" },
    "api-key": { type: "string" },
    "account-concurrency": { type: "string" },
    concurrency: { type: "string" },
    "poll-interval": { type: "string" },
    timeout: { type: "string" },
    name: { type: "string" },
  },
  enqueue: { ...COMMON, "batch-id": { type: "string" } },
  results: { ...COMMON, "batch-id": { type: "string" } },
} as const satisfies Record<QueueCommand, ParseArgsConfig["options"]>;

type Values = Record<string, string | boolean | undefined>;
type Bullmq = typeof import("bullmq");
type Ours = typeof import("../bullmq/index.js");

class QueueUsageError extends KlingValidationError {}

export async function runQueueCommand(command: QueueCommand, argv: string[], io: Io): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: OPTIONS[command],
      allowPositionals: true,
      strict: true,
    }) as { values: Values; positionals: string[] });
  } catch (error) {
    return fail(io, new QueueUsageError("argv", flagProblem(error, OPTIONS[command])));
  }
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  const modules = await loadModules();
  if (!modules) {
    io.stderr.write(
      `kling-v2a ${command} needs the optional packages bullmq and ioredis: npm install bullmq@6 ioredis@5\n`,
    );
    return EXIT.usage;
  }
  try {
    const redis = redisFlag(values);
    if (command === "worker") return await worker(modules, values, positionals, redis, io);
    if (command === "enqueue") return await enqueue(modules, values, positionals, redis, io);
    return await results(modules, values, positionals, redis, io);
  } catch (error) {
    return fail(io, error);
  }
}

/** bullmq, ioredis (which bullmq loads only on connect) and our module over them; undefined when one is missing. */
async function loadModules(): Promise<{ bullmq: Bullmq; ours: Ours } | undefined> {
  try {
    const [bullmq, , ours] = await Promise.all([import("bullmq"), import("ioredis"), import("../bullmq/index.js")]);
    return { bullmq, ours };
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_MODULE_NOT_FOUND") return undefined;
    throw error;
  }
}

interface Redis {
  connection: { url: string };
  /** The URL without credentials, for messages. */
  shown: string;
}

function redisFlag(values: Values): Redis {
  const url = typeof values.redis === "string" ? values.redis : "";
  if (!url) throw new QueueUsageError("--redis", "--redis URL is required, e.g. --redis redis://127.0.0.1:6379");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new QueueUsageError("--redis", "--redis must be a URL such as redis://127.0.0.1:6379 (or rediss:// for TLS)");
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:")
    throw new QueueUsageError("--redis", `--redis must start with redis:// or rediss://, not ${parsed.protocol}//`);
  return {
    connection: { url },
    shown: `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`,
  };
}

function queueName(values: Values): string {
  const name = typeof values.queue === "string" ? values.queue : DEFAULT_QUEUE;
  if (name === "" || name.includes(":"))
    throw new QueueUsageError("--queue", `--queue must be a non-empty name without ":", not "${name}"`);
  return name;
}

function positiveInteger(values: Values, flag: string): number | undefined {
  return integerFlag(values[flag], `--${flag}`, 1);
}

function seconds(values: Values, flag: string): number | undefined {
  return positiveNumberFlag(values[flag], `--${flag}`, { scale: 1000, unit: "number of seconds" });
}

function onePositional(positionals: string[], name: string | undefined): string | undefined {
  if (name === undefined) {
    if (positionals.length > 0) throw new QueueUsageError("argv", `unexpected argument "${positionals[0]}"`);
    return undefined;
  }
  if (positionals.length !== 1) throw new QueueUsageError(name, `expected one ${name}, got ${positionals.length}`);
  return positionals[0];
}

/** Rejects with a connection error when Redis does not answer in time (a wrong URL would otherwise retry forever). */
async function reachable(ready: Promise<unknown>, redis: Redis): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisUnreachable(redis)), CONNECT_TIMEOUT_MS);
  });
  try {
    await Promise.race([ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Fails fast (exit 3) on a Redis that does not answer, before anything is started that would retry it forever. */
async function probe(bullmq: Bullmq, name: string, redis: Redis): Promise<void> {
  const queue = openQueue(bullmq, name, redis);
  try {
    await reachable(queue.waitUntilReady(), redis);
  } finally {
    await queue.close().catch(() => {});
  }
}

/** A queue whose connection errors stay quiet: `reachable` turns a Redis that never answers into one clear line. */
function openQueue(bullmq: Bullmq, name: string, redis: Redis): import("bullmq").Queue {
  const queue = new bullmq.Queue(name, { connection: redis.connection });
  queue.on("error", () => {});
  return queue;
}

class RedisUnreachable extends Error {
  constructor(redis: Redis) {
    super(`cannot reach Redis at ${redis.shown} within ${CONNECT_TIMEOUT_MS / 1000} s; is redis-server running there?`);
  }
}

// ---------------------------------------------------------------------------------------------
// worker
// ---------------------------------------------------------------------------------------------

async function worker(
  { bullmq, ours }: { bullmq: Bullmq; ours: Ours },
  values: Values,
  positionals: string[],
  redis: Redis,
  io: Io,
): Promise<number> {
  onePositional(positionals, undefined);
  const options = {
    queueName: queueName(values),
    connection: redis.connection,
    accountConcurrency: positiveInteger(values, "account-concurrency"),
    concurrency: positiveInteger(values, "concurrency"),
    pollIntervalMs: seconds(values, "poll-interval"),
    waitTimeoutMs: seconds(values, "timeout"),
    workerOptions: typeof values.name === "string" ? { name: values.name } : {},
    onError: (error: Error) => io.stderr.write(`worker error: ${error.message}\n`),
    onNotice: (message: string) => io.stderr.write(`${inCliTerms(message)}\n`),
  };
  const client = clientFrom(values);
  await probe(bullmq, options.queueName, redis);
  const running = await ours.createVideoToAudioWorker({ ...options, client });
  const log = (line: string) => io.stderr.write(`${line}\n`);
  log(
    `worker ready: queue ${options.queueName} on ${redis.shown}, concurrency ${running.concurrency}; Ctrl-C hands ` +
      `running jobs back`,
  );
  running.on("active", (job) =>
    log(`started ${job.id}${job.attemptsStarted > 1 ? ` (start ${job.attemptsStarted})` : ""}`),
  );
  running.on("progress", (job, progress) => {
    const p = progress as { task_id?: string; task_status?: string };
    log(`${job.id} task ${p.task_id} ${p.task_status}`);
  });
  running.on("completed", (job, task: Task) => log(`done ${job.id} task ${task.task_id} ${task.task_status}`));
  running.on("failed", (job, error) => {
    if (!job) return log(`failed: ${error.message}`);
    const retry = job.finishedOn === undefined || (job.opts.attempts ?? 1) > job.attemptsMade ? "" : " (final)";
    log(`failed ${job.id}${retry}: ${inCliTerms(error.message)}`);
  });
  running.on("stalled", (id) => log(`stalled ${id}: its worker stopped; taken back by the queue`));
  return await untilInterrupted(running, log);
}

/** Runs until SIGINT, SIGTERM or SIGHUP; then hands running jobs back and closes. A second signal exits at once. */
function untilInterrupted(running: import("bullmq").Worker, log: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const removeHandlers = onStopSignals((signal) => {
      log(`${signal}: handing running jobs back to the queue, then stopping (again to quit at once)`);
      running.cancelAllJobs("worker stopping");
      running.close().finally(() => {
        removeHandlers();
        resolve(signalExitCode(signal));
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// enqueue
// ---------------------------------------------------------------------------------------------

async function enqueue(
  { bullmq, ours }: { bullmq: Bullmq; ours: Ours },
  values: Values,
  positionals: string[],
  redis: Redis,
  io: Io,
): Promise<number> {
  const file = onePositional(positionals, "FILE")!;
  const name = queueName(values);
  const batchId = typeof values["batch-id"] === "string" ? values["batch-id"] : await defaultBatchId(file);
  const inputs = [];
  const lines: number[] = [];
  for await (const { line, input } of readInputs(file)) {
    inputs.push(input);
    lines.push(line);
  }
  const queue = openQueue(bullmq, name, redis);
  try {
    await reachable(queue.waitUntilReady(), redis);
    // A job's index is its item's 0-based line in FILE, as in `kling-v2a batch` results.
    const counts = { added: 0, alreadyQueued: 0 };
    const onCounts = (seen: typeof counts) => Object.assign(counts, seen);
    const ids = await ours
      .enqueueVideos(queue, inputs, { batchId, indexes: lines, onCounts })
      .catch((error: unknown) => {
        throw onLine(error, file, lines);
      });
    const jobs = new Set(ids).size;
    const summary = { queue: name, batchId, items: ids.length, jobs, ...counts, redis: redis.shown };
    const queueFlag = name === DEFAULT_QUEUE ? "" : ` --queue ${name}`;
    const resultsCommand = `kling-v2a results --redis ${redis.shown} --batch-id ${batchId}${queueFlag}`;
    io.stdout.write(
      values.json
        ? `${JSON.stringify(summary, null, 2)}\n`
        : `${ids.length} items as ${jobs} jobs in queue ${name}, batch ${batchId}: ${counts.added} added, ` +
            `${counts.alreadyQueued} already queued (left as they were)\nresults: ${resultsCommand}\n`,
    );
    return EXIT.ok;
  } finally {
    await queue.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// results
// ---------------------------------------------------------------------------------------------

async function results(
  { bullmq, ours }: { bullmq: Bullmq; ours: Ours },
  values: Values,
  positionals: string[],
  redis: Redis,
  io: Io,
): Promise<number> {
  onePositional(positionals, undefined);
  const batchId = typeof values["batch-id"] === "string" ? values["batch-id"] : "";
  if (!batchId) throw new QueueUsageError("--batch-id", "--batch-id ID is required (enqueue printed it)");
  const queue = openQueue(bullmq, queueName(values), redis);
  try {
    await reachable(queue.waitUntilReady(), redis);
    const counts = { succeeded: 0, failed: 0 };
    const progress = { pending: 0 };
    for await (const line of ours.batchResults(queue, batchId, progress)) {
      if (line.ok) counts.succeeded++;
      else counts.failed++;
      io.stdout.write(`${JSON.stringify(line)}\n`);
    }
    io.stderr.write(
      `batch ${batchId}: ${counts.succeeded} succeeded, ${counts.failed} failed, ${progress.pending} not finished ` +
        `yet\n`,
    );
    return counts.failed > 0 ? EXIT.taskFailed : EXIT.ok;
  } finally {
    await queue.close().catch(() => {});
  }
}

/** A refusal of `inputs[i]` told as the file's line, which is what the user can find. */
function onLine(error: unknown, file: string, lines: number[]): unknown {
  if (!(error instanceof KlingValidationError)) return error;
  const position = /^inputs\[(\d+)\]/.exec(error.field)?.[1];
  if (position === undefined) return error;
  const line = (lines[Number(position)] ?? 0) + 1;
  return new KlingValidationError(error.field, `${file}:${line}: ${error.message}`, { cause: error });
}

function fail(io: Io, error: unknown): number {
  const message = inCliTerms(error instanceof Error ? error.message : String(error));
  io.stderr.write(`kling-v2a: ${message}\n`);
  if (error instanceof QueueUsageError || error instanceof UsageError) io.stderr.write("see kling-v2a worker --help\n");
  return exitCodeOf(error);
}
