// runBatch: many inputs through create-then-wait under an adaptive concurrency limit; resumable, never billed twice.
import { KlingError } from "./errors/kling-error.js";
import { KlingTimeoutError } from "./errors/timeout-error.js";
import { batchItemId } from "./item-id.js";
import type { WaitOptions } from "./options.js";
import { backoffDelayMs } from "./retry.js";
import { sleep } from "./sleep.js";
import type { CreateControl } from "./safe-create.js";
import type { CreateTaskInput, Task } from "./types.js";
import { checkCreateInput } from "./create-input.js";
import { checkCount, checkDuration, checkWaitOptions } from "./validate.js";

export interface BatchOptions extends WaitOptions {
  /** The most tasks running at once; on code 1303 the batch runs fewer for a while, never more. @default 4 */
  concurrency?: number | undefined;
  /**
   * Names the batch, so a rerun finds the tasks the earlier run created and waits for them instead of creating
   * (and paying for) them again. @default a random id: the batch cannot be resumed
   */
  batchId?: string | undefined;
  /** Called with each item's result as it finishes. @default undefined */
  onItem?: ((result: BatchResult) => void) | undefined;
  /** The whole batch, in ms: no create starts after it, running waits end with KlingTimeoutError. @default no limit */
  timeoutMs?: number | undefined;
  /** One item's create and wait, in ms. @default 600000 */
  itemTimeoutMs?: number | undefined;
  /** On resume, how many list pages (of 500 tasks) to scan for the batch's earlier tasks. @default 10 */
  resumeScanPages?: number | undefined;
}

export type BatchResult = { index: number; input: CreateTaskInput; externalTaskId: string } & (
  | { ok: true; task: Task }
  | { ok: false; error: KlingError }
);

/** What runBatch needs of the client (its safe create with the batch's 1303 handling); narrow so batches test alone. */
export interface BatchClient {
  createTask(input: CreateTaskInput, options: { signal?: AbortSignal | undefined; maxRetries?: number | undefined }, control: CreateControl): Promise<Task>;
  waitForTask(taskId: string, options?: WaitOptions): Promise<Task>;
  tasks(query?: { pageSize?: number }, options?: { signal?: AbortSignal | undefined }): AsyncIterable<Task>;
}

/**
 * The batch's guess at how many tasks the account lets it run. On 1303 it drops to the number of tasks the batch
 * holds on the server at that moment (what the account evidently allows), never below one, and remembers a
 * known-good level (that number, or half the old limit). Below that level each create that goes through adds one;
 * at it, it probes one higher after `limit` creates in a row. Each probe that meets 1303 doubles the run needed
 * before the next (so against a fixed limit the 1303s thin out), and each level that holds halves it again (so a
 * passing crowd on the account does not keep the batch small for good). Never above `max`.
 */
export class AdaptiveLimit {
  limit: number;
  private threshold: number;
  private streak = 0;
  private probeEvery = 1;

  constructor(readonly max: number) {
    this.limit = max;
    this.threshold = max;
  }

  congested(holding: number): void {
    if (this.limit > this.threshold) this.probeEvery = Math.min(this.probeEvery * 2, 16);
    this.threshold = Math.max(1, holding, Math.floor(this.limit / 2));
    this.limit = Math.max(1, Math.min(this.limit, holding));
    this.streak = 0;
  }

  succeeded(): void {
    if (this.limit >= this.max) return;
    if (this.limit < this.threshold) {
      this.limit++;
      return;
    }
    if (++this.streak >= this.limit * this.probeEvery) {
      // A full run without 1303 at a level above the known-good one: the probe held, so probe sooner next time.
      if (this.limit > this.threshold) {
        this.threshold = this.limit;
        this.probeEvery = Math.max(1, this.probeEvery / 2);
      }
      this.limit++;
      this.streak = 0;
    }
  }
}

const ITEM_TIMEOUT_MS = 600_000;
const RESUME_SCAN_PAGES = 10;

export async function* runBatch(
  client: BatchClient,
  inputs: Iterable<CreateTaskInput> | AsyncIterable<CreateTaskInput>,
  options: BatchOptions = {},
): AsyncGenerator<BatchResult, void, undefined> {
  checkWaitOptions(options);
  checkCount(options.concurrency, "concurrency", 1);
  checkDuration(options.itemTimeoutMs, "itemTimeoutMs");
  const concurrency = options.concurrency ?? 4;
  // Our own signal, following the caller's: when the consumer stops early (break, return, throw), in-flight
  // items are cancelled and awaited, so nothing of this run is still creating tasks once the loop has exited.
  const stop = new AbortController();
  const signal = stop.signal;
  const followCaller = () => stop.abort(options.signal?.reason);
  if (options.signal?.aborted) followCaller();
  else options.signal?.addEventListener("abort", followCaller, { once: true });
  const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
  const itemTimeoutMs = options.itemTimeoutMs ?? ITEM_TIMEOUT_MS;
  const limit = new AdaptiveLimit(concurrency);
  const batchId = options.batchId ?? `batch-${globalThis.crypto.randomUUID()}`;
  const existing = options.batchId ? await scanBatch(client, batchId, options.resumeScanPages ?? RESUME_SCAN_PAGES, signal) : new Map<string, Task>();
  /** Items whose task exists on the server and is being waited for: each holds one of the account's slots. */
  let holding = 0;
  let congestionStreak = 0;
  /** Resolves when one of the batch's tasks ends, freeing a slot on the account. */
  let slotFreed = signalOnce();

  const iterator = Symbol.asyncIterator in inputs ? inputs[Symbol.asyncIterator]() : (inputs as Iterable<CreateTaskInput>)[Symbol.iterator]();
  const running = new Set<Promise<void>>();
  const finished: BatchResult[] = [];
  let wake: (() => void) | undefined;
  let exhausted = false;
  let index = 0;

  const remaining = () => deadline - Date.now();

  /**
   * Creates one item safely (the client's one create path), with the batch's handling of code 1303: the account is
   * full, so the batch runs no more than it holds now and sends again when one of its tasks ends (or after the backoff,
   * or the server's Retry-After, when it holds none or the server asked), within the item's deadline.
   */
  async function create(input: CreateTaskInput & { external_task_id: string }, signal: AbortSignal, itemDeadline: number): Promise<Task> {
    const task = await client.createTask(input, { signal, maxRetries: options.maxRetries }, {
      deadline: itemDeadline,
      onConcurrencyLimit: async (error) => {
        limit.congested(holding);
        const left = itemDeadline - Date.now();
        if (left <= 0) throw new KlingTimeoutError({ kind: "wait", timeoutMs: itemTimeoutMs, request: `batch item ${input.external_task_id}`, externalTaskId: input.external_task_id, cause: error });
        const delay = Math.min(error.retryAfterMs ?? backoffDelayMs(congestionStreak++, error.code), left);
        await untilSlotOrDelay(error.retryAfterMs === undefined && holding > 0, delay, signal);
      },
    });
    congestionStreak = 0;
    limit.succeeded();
    return task;
  }

  async function untilSlotOrDelay(slot: boolean, delay: number, signal: AbortSignal): Promise<void> {
    const timer = new AbortController();
    const onCaller = () => timer.abort(signal.reason);
    signal.addEventListener("abort", onCaller, { once: true });
    try {
      await Promise.race([sleep(delay, timer.signal), ...(slot ? [slotFreed.promise] : [])]);
    } finally {
      signal.removeEventListener("abort", onCaller);
      timer.abort();
    }
    signal.throwIfAborted();
  }

  /** Per-item signals, all cancelled by one listener on the batch's: many listeners on one signal make Node warn. */
  const cancels = new Set<() => void>();
  signal.addEventListener("abort", () => {
    for (const cancel of cancels) cancel();
  }, { once: true });

  async function runItem(itemIndex: number, raw: CreateTaskInput): Promise<void> {
    let input = raw;
    let externalTaskId = "";
    const item = new AbortController();
    const cancel = () => item.abort(signal.reason);
    cancels.add(cancel);
    const itemDeadline = Math.min(deadline, Date.now() + itemTimeoutMs);
    // The item's deadline also covers its create: an account that answers 1303 for ever must not hold the item for ever.
    const createTimer = setTimeout(
      () => item.abort(new KlingTimeoutError({ kind: "wait", timeoutMs: itemTimeoutMs, request: `batch item ${externalTaskId}`, externalTaskId })),
      Math.max(0, itemDeadline - Date.now()),
    );
    try {
      input = checkCreateInput(raw);
      externalTaskId = await batchItemId(batchId, input);
      const found = existing.get(externalTaskId);
      const created = found ?? (await create({ ...input, external_task_id: externalTaskId }, item.signal, itemDeadline));
      clearTimeout(createTimer);
      holding++;
      let task: Task;
      try {
        task = await client.waitForTask(created.task_id, {
          signal: item.signal,
          timeoutMs: Math.max(1, itemDeadline - Date.now()),
          maxRetries: options.maxRetries,
          pollIntervalMs: options.pollIntervalMs,
          onProgress: options.onProgress,
        });
      } finally {
        holding--;
        const freed = slotFreed;
        slotFreed = signalOnce();
        freed.resolve();
      }
      finish({ index: itemIndex, input, externalTaskId, ok: true, task });
    } catch (error) {
      if (signal.aborted) return;
      const kling = error instanceof KlingError ? error : new KlingError(`batch item ${itemIndex} failed: ${String(error)}`, { cause: error });
      finish({ index: itemIndex, input, externalTaskId: externalTaskId || (await batchItemId(batchId, raw)), ok: false, error: kling });
    } finally {
      clearTimeout(createTimer);
      cancels.delete(cancel);
    }
  }

  function finish(result: BatchResult): void {
    finished.push(result);
    options.onItem?.(result);
    wake?.();
  }

  try {
    for (;;) {
      signal?.throwIfAborted();
      // Start items while there is room and nothing finished is waiting for the consumer (backpressure).
      while (!exhausted && running.size < limit.limit && finished.length === 0 && remaining() > 0) {
        const next = await iterator.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        const job = runItem(index++, next.value).finally(() => {
          running.delete(job);
          wake?.();
        });
        running.add(job);
      }
      if (finished.length > 0) {
        yield finished.shift()!;
        continue;
      }
      if (running.size === 0 && (exhausted || remaining() <= 0)) return;
      await new Promise<void>((resolve) => {
        wake = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => resolve();
        signal?.addEventListener("abort", onAbort, { once: true });
      });
      wake = undefined;
    }
  } finally {
    options.signal?.removeEventListener("abort", followCaller);
    if (!signal.aborted) stop.abort(new KlingError("The batch was closed before it finished."));
    await Promise.allSettled(running);
    await (iterator as { return?: () => unknown }).return?.();
  }
}

/** A promise with its resolve function (Promise.withResolvers needs Node 22). */
function signalOnce(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** The batch's tasks that an earlier run created, by external_task_id, from the most recent list pages. */
async function scanBatch(client: BatchClient, batchId: string, pages: number, signal: AbortSignal | undefined): Promise<Map<string, Task>> {
  const found = new Map<string, Task>();
  const prefix = `${batchId}-`;
  let seen = 0;
  for await (const task of client.tasks({ pageSize: 500 }, { signal })) {
    const id = task.task_info?.external_task_id;
    if (id?.startsWith(prefix)) found.set(id, task);
    if (++seen >= pages * 500) break;
  }
  return found;
}
