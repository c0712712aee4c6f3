// createVideoToAudioWorker: a BullMQ worker whose jobs create their task once, wait for it, and share one Kling
// account.
import { type ConnectionOptions, type Job, Queue, UnrecoverableError, Worker, type WorkerOptions } from "bullmq";
import { controlledCreateOf, createClient, type VideoToAudioClient } from "../client.js";
import {
  KlingApiError,
  KlingInvalidRequestError,
  type KlingRateLimitError,
  KlingTaskFailedError,
  KlingValidationError,
} from "../errors.js";
import { type ClientOptions, resolveOptions } from "../options.js";
import { createRedactor } from "../redact.js";
import { type CreateControl, isConcurrencyLimit } from "../request/create.js";
import { checkCreateInput } from "../request/input.js";
import { MIN_CONCURRENCY_DELAY_MS, nextDelayMs, sleep } from "../request/transport.js";
import type { Task } from "../types.js";
import type { VideoJobData } from "./enqueue.js";

/**
 * The Worker settings this package picks (each overridable through `workerOptions`):
 * - `lockDuration` 10 s: BullMQ renews a running job's lock every 5 s while the job polls, so only a dead or frozen
 *   worker loses it; BullMQ's 30 s (with its 30 s check) would leave a dead worker's tasks unwatched for 30-90 s.
 * - `stalledInterval` 2 s: how often (one worker of the queue at a time) BullMQ looks for jobs whose lock expired;
 *   a job is moved on the check after the one that saw it unlocked, so a dead worker's job runs again elsewhere
 *   about 10-14 s after its last lock renewal. The check is one small Redis script per queue per interval.
 * - `maxStalledCount` 5: a takeover costs only time (the task is found by its external_task_id, never created again),
 *   so a job may survive several dead workers (a rolling deploy) before BullMQ gives up on it.
 */
export const WORKER_DEFAULTS = {
  lockDuration: 10_000,
  stalledInterval: 2_000,
  maxStalledCount: 5,
} as const satisfies Partial<WorkerOptions>;

/**
 * BullMQ honours a queue's manual rate limit only for workers that have a limiter; this one never limits by itself
 * (a billion jobs a second), it only lets the 1303 back-off reach every worker of the queue.
 */
const LIMITER = { max: 1_000_000_000, duration: 1_000 } as const;

export interface VideoToAudioWorkerOptions {
  /** The BullMQ queue to take jobs from (the one enqueueVideos added to). */
  queueName: string;
  /** Redis, as BullMQ takes it: `{ host, port }`, `{ url: "redis://…" }` or an ioredis instance. */
  connection: ConnectionOptions;
  /** The client the jobs use. @default createClient(clientOptions) */
  client?: VideoToAudioClient | undefined;
  /** Options for the client built when `client` is not given. @default {} (the environment's key and base URL) */
  clientOptions?: ClientOptions | undefined;
  /**
   * The most Kling tasks running at once across ALL workers of the queue: your account's concurrency limit. Stored in
   * Redis as the queue's global concurrency (the last worker to start sets it for all).
   * @default the queue's current global concurrency; a queue without one needs this option
   */
  accountConcurrency?: number | undefined;
  /** Jobs this worker runs at once. @default accountConcurrency */
  concurrency?: number | undefined;
  /**
   * One attempt's wait for its task, in ms; then the attempt fails and the retry waits for the same task. @default
   * 600000
   */
  waitTimeoutMs?: number | undefined;
  /** The steady interval between status polls, in ms. @default 5000 (the first polls come sooner) */
  pollIntervalMs?: number | undefined;
  /** Passed to BullMQ's Worker, over WORKER_DEFAULTS (e.g. `lockDuration`, `name`). @default {} */
  workerOptions?: Partial<WorkerOptions> | undefined;
  /** Errors the worker reports outside any job (e.g. Redis connection trouble). @default written to console.error */
  onError?: ((error: Error) => void) | undefined;
  /**
   * Without `accountConcurrency`, how long to wait for another worker to set the queue's global concurrency (workers
   * started together: the one given the setting may not have stored it yet), in ms; 0 does not wait.
   * @default ACCOUNT_CONCURRENCY_WAIT_MS (30 s)
   */
  accountConcurrencyWaitMs?: number | undefined;
  /** What the worker says while it starts (e.g. that it waits for the setting). @default written to console.error */
  onNotice?: ((message: string) => void) | undefined;
}

/** How long a worker started without accountConcurrency waits for the queue's global concurrency, by default. */
export const ACCOUNT_CONCURRENCY_WAIT_MS = 30_000;
/** How often it looks for the setting meanwhile. */
const SETTING_POLL_MS = 200;

/** What a job reports as its progress. */
export interface VideoJobProgress {
  task_id: string;
  task_status: string;
}

/**
 * Starts a worker and resolves with it once it is ready. The queue's global concurrency is set to
 * `accountConcurrency` before the worker takes its first job. Close it with `worker.close()` (waits for running jobs)
 * or hand its running jobs back to the queue at once with `worker.cancelAllJobs()` first: an aborted job goes back to
 * waiting, uncounted, and whichever worker takes it next waits for the same task.
 */
export async function createVideoToAudioWorker(
  options: VideoToAudioWorkerOptions,
): Promise<Worker<VideoJobData, Task>> {
  const client = options.client ?? createClient(options.clientOptions);
  // What leaves the worker (the job's failedReason and stack in Redis, its log lines) is redacted like the client's.
  const redact = workerRedactor(options.clientOptions);
  const onError =
    options.onError ?? ((error: Error) => console.error(`kling-video-to-audio/bullmq: ${redact(error.message)}`));
  const queue = new Queue<VideoJobData, Task>(options.queueName, { connection: options.connection });
  queue.on("error", onError);
  let worker: Worker<VideoJobData, Task> | undefined;
  try {
    const accountConcurrency = await resolveAccountConcurrency(queue, options);
    const concurrency = positiveInteger(options.concurrency ?? accountConcurrency, "concurrency");
    await queue.setGlobalConcurrency(accountConcurrency);
    const backOff = accountBackOff(queue);
    const processor = (job: Job<VideoJobData, Task>, _token: string | undefined, signal: AbortSignal | undefined) =>
      runJob(job, {
        client,
        redact,
        signal,
        backOff,
        waitTimeoutMs: options.waitTimeoutMs,
        pollIntervalMs: options.pollIntervalMs,
      });
    worker = new Worker<VideoJobData, Task>(options.queueName, processor, {
      ...WORKER_DEFAULTS,
      limiter: LIMITER,
      ...options.workerOptions,
      connection: options.connection,
      concurrency,
      autorun: false,
    });
    const started = worker;
    started.on("error", onError);
    // A job whose lock could not be renewed now belongs to whichever worker takes it over: stop watching it here.
    started.on("lockRenewalFailed", (ids) => {
      for (const id of ids) started.cancelJob(id, "lock lost");
    });
    started.on("closed", () => void queue.close().catch(() => {}));
    started.run().catch((error: Error) => started.emit("error", error));
    await started.waitUntilReady();
    return started;
  } catch (error) {
    await Promise.allSettled([worker?.close(true), queue.close()]);
    throw error;
  }
}

/**
 * The account's limit: the option, else the queue's global concurrency, waited for (bounded) when another worker
 * started at the same moment has not stored it yet.
 */
async function resolveAccountConcurrency(queue: Queue, options: VideoToAudioWorkerOptions): Promise<number> {
  if (options.accountConcurrency !== undefined)
    return positiveInteger(options.accountConcurrency, "accountConcurrency");
  const waitMs = options.accountConcurrencyWaitMs ?? ACCOUNT_CONCURRENCY_WAIT_MS;
  if (!(waitMs >= 0) || !Number.isFinite(waitMs))
    throw new KlingValidationError("accountConcurrencyWaitMs", "accountConcurrencyWaitMs must be 0 or more ms.");
  const deadline = Date.now() + waitMs;
  const seconds = Math.round(waitMs / 100) / 10;
  for (let looked = 0; ; looked++) {
    const current = await queue.getGlobalConcurrency();
    if (current) return current;
    const left = deadline - Date.now();
    if (left <= 0) break;
    if (looked === 0) {
      const notice =
        options.onNotice ?? ((message: string) => console.error(`kling-video-to-audio/bullmq: ${message}`));
      notice(
        `queue "${queue.name}" has no global concurrency yet: waiting up to ${seconds} s for a worker started ` +
          "with accountConcurrency to set it",
      );
    }
    await sleep(Math.min(SETTING_POLL_MS, left));
  }
  throw new KlingValidationError(
    "accountConcurrency",
    `queue "${queue.name}" has no global concurrency${waitMs > 0 ? ` after waiting ${seconds} s` : " yet"}: pass ` +
      "accountConcurrency, the number of tasks your Kling account may run at once (the first worker sets it for all).",
  );
}

function positiveInteger(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new KlingValidationError(field, `${field} must be a positive integer, not ${String(value)}.`);
  return value;
}

/**
 * The queue-wide back-off on 1303: BullMQ's manual rate limit, which every worker of the queue obeys. The wait is
 * the server's Retry-After if it sent one, else 1 s doubling (to 8 s) while this worker keeps meeting a full account;
 * never shortens a longer wait another worker already set.
 */
export function accountBackOff(queue: Pick<Queue, "getRateLimitTtl" | "rateLimit">) {
  let streak = 0;
  return {
    async congested(error: KlingApiError): Promise<void> {
      const delay = Math.max(
        MIN_CONCURRENCY_DELAY_MS,
        nextDelayMs({ retryAfterMs: error.retryAfterMs, code: 1303 }, streak++),
      );
      if (delay > (await queue.getRateLimitTtl())) await queue.rateLimit(delay);
    },
    created(): void {
      streak = 0;
    },
  };
}

interface JobContext {
  client: VideoToAudioClient;
  redact: (text: string) => string;
  signal: AbortSignal | undefined;
  backOff: ReturnType<typeof accountBackOff>;
  waitTimeoutMs: number | undefined;
  pollIntervalMs: number | undefined;
}

/** One job: find or create its task (once), then wait for it, reporting each status as the job's progress. */
async function runJob(job: Job<VideoJobData, Task>, context: JobContext): Promise<Task> {
  const { client, signal } = context;
  try {
    const input = jobInput(job);
    const known = progressTask(job) ?? (await createTask(job, input, context));
    const report = progressReporter(job);
    report(known);
    const task = await client.waitForTask(known.task_id, {
      signal,
      timeoutMs: context.waitTimeoutMs,
      pollIntervalMs: context.pollIntervalMs,
      onProgress: report,
    });
    await report.flush();
    return task;
  } catch (error) {
    throw redactedError(jobError(error, signal), context.redact);
  }
}

/** The credentials' redaction: those given in `clientOptions`, else in the environment (a given client's own keys). */
function workerRedactor(clientOptions: ClientOptions | undefined): (text: string) => string {
  const { apiKey, accessKey, secretKey } = resolveOptions(clientOptions ?? {});
  const redactor = createRedactor([apiKey, accessKey, secretKey].filter((s): s is string => s !== undefined));
  return (text) => redactor.text(text);
}

/** The error with its message and stack redacted in place: BullMQ stores both in Redis. */
function redactedError(error: unknown, redact: (text: string) => string): unknown {
  if (!(error instanceof Error)) return typeof error === "string" ? redact(error) : error;
  try {
    error.message = redact(error.message);
    if (typeof error.stack === "string") error.stack = redact(error.stack);
  } catch {
    // A frozen error: BullMQ gets it as it is.
  }
  return error;
}

/** The job's create body, checked again (Redis data is not to be trusted blindly); the job id is the external id. */
function jobInput(job: Job<VideoJobData, Task>): VideoJobData["input"] {
  const input = checkCreateInput(job.data?.input);
  const externalTaskId = input.external_task_id ?? (job.id && !/^\d+$/.test(job.id) ? job.id : undefined);
  if (!externalTaskId) {
    throw new KlingValidationError(
      "external_task_id",
      `job ${job.id} has no external_task_id: add jobs with enqueueVideos (or give each a custom jobId).`,
    );
  }
  return { ...input, external_task_id: externalTaskId };
}

/** The task an earlier start of this job created and reported as its progress. */
function progressTask(job: Job<VideoJobData, Task>): Task | undefined {
  const progress = job.progress as Partial<VideoJobProgress> | undefined;
  if (!progress || typeof progress !== "object" || typeof progress.task_id !== "string" || progress.task_id === "")
    return undefined;
  return { task_id: progress.task_id, task_status: progress.task_status ?? "submitted" } as Task;
}

/**
 * Whether an earlier start may have created the task (taken over after a stall, or retried), so it must be looked
 * up before a create: any start but the first, unless the one before ended with a definite 1303.
 */
function mayExist(job: Job<VideoJobData, Task>): boolean {
  const started = job.attemptsStarted ?? 1;
  return started > 1 && job.data.refusedStart !== started - 1;
}

/**
 * Creates the task through the client's safe create (looking it up first when it may exist). On 1303 the whole queue
 * backs off and the job goes back uncounted; a create answered "already exists" is looked up, not failed.
 */
async function createTask(
  job: Job<VideoJobData, Task>,
  input: VideoJobData["input"],
  context: JobContext,
): Promise<Task> {
  const { client, signal } = context;
  const onConcurrencyLimit = async (error: KlingRateLimitError): Promise<never> => {
    await context.backOff.congested(error);
    await job.updateData({ ...job.data, refusedStart: job.attemptsStarted });
    throw Worker.RateLimitError();
  };
  try {
    const task = await sendCreate(client, input, { signal }, { mayExist: mayExist(job), onConcurrencyLimit });
    context.backOff.created();
    return task;
  } catch (error) {
    if (error instanceof KlingInvalidRequestError) {
      const existing = await client.findTaskByExternalId(input.external_task_id, { signal });
      if (existing) return existing;
    }
    throw error;
  }
}

/**
 * The client's own create path with its controls. A client not made by createClient (a wrapper, a test double) has
 * only the public method: then the lookup is done here and the create sent with the SDK's retries off, so that a
 * 1303 comes back at once.
 */
async function sendCreate(
  client: VideoToAudioClient,
  input: VideoJobData["input"],
  opts: { signal: AbortSignal | undefined },
  control: CreateControl,
): Promise<Task> {
  const controlled = controlledCreateOf(client);
  if (controlled) return controlled(input, opts, control);
  if (control.mayExist) {
    const found = await client.findTaskByExternalId(input.external_task_id, opts);
    if (found) return found;
  }
  try {
    return await client.createTask(input, { ...opts, maxRetries: 0 });
  } catch (error) {
    if (isConcurrencyLimit(error)) await control.onConcurrencyLimit?.(error);
    throw error;
  }
}

/** onProgress for waitForTask: writes `{ task_id, task_status }` to the job, in order, never failing the wait. */
function progressReporter(job: Job<VideoJobData, Task>) {
  let chain = Promise.resolve();
  let last = "";
  const report = (task: Task) => {
    const key = `${task.task_id}/${task.task_status}`;
    if (key === last) return;
    last = key;
    const progress: VideoJobProgress = { task_id: task.task_id, task_status: task.task_status };
    chain = chain.then(() => job.updateProgress(progress)).catch(() => {});
  };
  return Object.assign(report, { flush: () => chain });
}

/**
 * How a job's error ends the attempt: an abort (worker shutting down, lock lost) hands the job back uncounted; a
 * failed task, a refused input or a final API answer fails the job without retries; anything else (a 5xx, a lost
 * connection, a wait past its deadline) fails the attempt, and the retry finds the task again.
 */
function jobError(error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted && !(error instanceof UnrecoverableError) && !isRateLimit(error)) return Worker.RateLimitError();
  if (error instanceof KlingTaskFailedError || error instanceof KlingValidationError) return unrecoverable(error);
  if (error instanceof KlingApiError && !error.retryable) return unrecoverable(error);
  return error;
}

function isRateLimit(error: unknown): boolean {
  return error instanceof Error && error.message === Worker.RateLimitError().message;
}

function unrecoverable(error: Error): UnrecoverableError {
  const final = new UnrecoverableError(error.message);
  (final as { cause?: unknown }).cause = error;
  return final;
}
