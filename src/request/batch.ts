// runBatch: many creates and waits at once, resumable by stable item ids, adapting to 1303.

import { KlingError, KlingTimeoutError } from "../errors.js";
import { DEFAULTS, type WaitOptions } from "../options.js";
import type { CreateTaskInput, Task } from "../types.js";
import { checkCount, checkDuration } from "../validate.js";
import type { CreateControl } from "./create.js";
import { checkCreateInput, checkWaitOptions } from "./input.js";
import { nextDelayMs, sleep } from "./transport.js";

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

/**
 * The input as JSON with its keys sorted; an invalid input (not an object, or not serialisable) still gets a stable
 * text.
 */
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

export interface BatchOptions extends WaitOptions {
  /** The most tasks running at once; on code 1303 the batch runs fewer for a while, never more. @default 4 */
  concurrency?: number | undefined;
  /**
   * Names the batch, so a rerun finds the tasks the earlier run created and waits for them instead of creating
   * (and paying for) them again. @default a random id: the batch cannot be resumed
   */
  batchId?: string | undefined;
  /**
   * Called with each item's result as it finishes; if it throws, the batch stops with that error. @default undefined
   */
  onItem?: ((result: BatchResult) => void) | undefined;
  /** The whole batch, in ms: no create starts after it, running waits end with KlingTimeoutError. @default no limit */
  timeoutMs?: number | undefined;
  /** One item's create and wait, in ms. @default DEFAULTS.waitTimeoutMs (options.ts) */
  itemTimeoutMs?: number | undefined;
  /**
   * On resume, how many list pages (of 500 tasks) to scan for the batch's earlier tasks. @default DEFAULTS.scanPages
   * (options.ts)
   */
  resumeScanPages?: number | undefined;
}

export type BatchResult = { index: number; input: CreateTaskInput; externalTaskId: string } & (
  | { ok: true; task: Task }
  | { ok: false; error: KlingError }
);

/** What runBatch needs of the client (its safe create with the batch's 1303 handling); narrow so batches test alone. */
export interface BatchClient {
  createTask(
    input: CreateTaskInput,
    options: { signal?: AbortSignal | undefined; maxRetries?: number | undefined },
    control: CreateControl,
  ): Promise<Task>;
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

/** What every item of one run shares: its settings, resolved once. */
interface BatchSettings {
  batchId: string;
  /** The batch's tasks an earlier run created, by external_task_id (empty without a batchId). */
  existing: ReadonlyMap<string, Task>;
  /** Absolute epoch ms of the whole batch (Infinity without `timeoutMs`). */
  deadline: number;
  itemTimeoutMs: number;
  maxRetries: number | undefined;
  pollIntervalMs: number | undefined;
  onProgress: ((task: Task) => void) | undefined;
}

/**
 * One run's items against the account: each item's create (with the batch's handling of code 1303) and wait, the
 * slots the batch holds on the account, and the cancellation of every item when the batch stops.
 */
class BatchItems {
  readonly limit: AdaptiveLimit;
  /** Items whose task exists on the server and is being waited for: each holds one of the account's slots. */
  holding = 0;
  private congestionStreak = 0;
  /** Resolves when one of the batch's tasks ends, freeing a slot on the account. */
  private slotFreed = signalOnce();
  /** Per-item cancels, all run by one listener on the batch's signal: many listeners on one signal make Node warn. */
  private readonly cancels = new Set<() => void>();

  constructor(
    private readonly client: BatchClient,
    private readonly settings: BatchSettings,
    private readonly signal: AbortSignal,
    concurrency: number,
  ) {
    this.limit = new AdaptiveLimit(concurrency);
    signal.addEventListener(
      "abort",
      () => {
        for (const cancel of this.cancels) cancel();
      },
      { once: true },
    );
  }

  /** Runs item `index` to its result; `undefined` when the batch itself stopped meanwhile (nothing to report). */
  async run(index: number, raw: CreateTaskInput): Promise<BatchResult | undefined> {
    const { settings } = this;
    let input = raw;
    let externalTaskId = "";
    const item = new AbortController();
    const cancel = () => item.abort(this.signal.reason);
    this.cancels.add(cancel);
    const itemDeadline = Math.min(settings.deadline, Date.now() + settings.itemTimeoutMs);
    // The item's deadline also covers its create: an account that answers 1303 for ever must not hold the item for
    // ever.
    const createTimer = setTimeout(
      () =>
        item.abort(
          new KlingTimeoutError({
            kind: "wait",
            timeoutMs: settings.itemTimeoutMs,
            request: `batch item ${externalTaskId}`,
            externalTaskId,
          }),
        ),
      Math.max(0, itemDeadline - Date.now()),
    );
    try {
      input = checkCreateInput(raw);
      externalTaskId = await batchItemId(settings.batchId, input);
      const created =
        settings.existing.get(externalTaskId) ??
        (await this.create({ ...input, external_task_id: externalTaskId }, item.signal, itemDeadline));
      clearTimeout(createTimer);
      const task = await this.holdingSlot(() =>
        this.client.waitForTask(created.task_id, {
          signal: item.signal,
          timeoutMs: Math.max(1, itemDeadline - Date.now()),
          maxRetries: settings.maxRetries,
          pollIntervalMs: settings.pollIntervalMs,
          onProgress: settings.onProgress,
        }),
      );
      return { index, input, externalTaskId, ok: true, task };
    } catch (error) {
      if (this.signal.aborted) return undefined;
      const kling =
        error instanceof KlingError
          ? error
          : new KlingError(`batch item ${index} failed: ${String(error)}`, { cause: error });
      return {
        index,
        input,
        externalTaskId: externalTaskId || (await batchItemId(settings.batchId, raw)),
        ok: false,
        error: kling,
      };
    } finally {
      clearTimeout(createTimer);
      this.cancels.delete(cancel);
    }
  }

  /**
   * Creates one item safely (the client's one create path), with the batch's handling of code 1303: the account is
   * full, so the batch runs no more than it holds now and sends again when one of its tasks ends (or after the backoff,
   * or the server's Retry-After, when it holds none or the server asked), within the item's deadline.
   */
  private async create(
    input: CreateTaskInput & { external_task_id: string },
    signal: AbortSignal,
    itemDeadline: number,
  ): Promise<Task> {
    const { itemTimeoutMs, maxRetries } = this.settings;
    const task = await this.client.createTask(
      input,
      { signal, maxRetries },
      {
        deadline: itemDeadline,
        onConcurrencyLimit: async (error) => {
          this.limit.congested(this.holding);
          const left = itemDeadline - Date.now();
          if (left <= 0)
            throw new KlingTimeoutError({
              kind: "wait",
              timeoutMs: itemTimeoutMs,
              request: `batch item ${input.external_task_id}`,
              externalTaskId: input.external_task_id,
              cause: error,
            });
          const delay = Math.min(nextDelayMs(error, this.congestionStreak++), left);
          await this.untilSlotOrDelay(error.retryAfterMs === undefined && this.holding > 0, delay, signal);
        },
      },
    );
    this.congestionStreak = 0;
    this.limit.succeeded();
    return task;
  }

  /**
   * Waits `delay`, or less when `slot` and one of the batch's tasks ends first; an abort of `signal` ends it at once.
   */
  private async untilSlotOrDelay(slot: boolean, delay: number, signal: AbortSignal): Promise<void> {
    const timer = new AbortController();
    const onCaller = () => timer.abort(signal.reason);
    signal.addEventListener("abort", onCaller, { once: true });
    try {
      await Promise.race([sleep(delay, timer.signal), ...(slot ? [this.slotFreed.promise] : [])]);
    } finally {
      signal.removeEventListener("abort", onCaller);
      timer.abort();
    }
    signal.throwIfAborted();
  }

  /** Runs `wait` as one of the account's slots, and frees it (waking a create waiting on 1303) when it ends. */
  private async holdingSlot<T>(wait: () => Promise<T>): Promise<T> {
    this.holding++;
    try {
      return await wait();
    } finally {
      this.holding--;
      const freed = this.slotFreed;
      this.slotFreed = signalOnce();
      freed.resolve();
    }
  }
}

/**
 * Runs many inputs through create-then-wait, at most `concurrency` at once (fewer while the account answers 1303),
 * yielding each item's result as it finishes; the next inputs are read only while there is room and nothing finished
 * waits for the consumer. Stopping early (break, return, throw, the signal) cancels and awaits the items in flight.
 */
export async function* runBatch(
  client: BatchClient,
  inputs: Iterable<CreateTaskInput> | AsyncIterable<CreateTaskInput>,
  options: BatchOptions = {},
): AsyncGenerator<BatchResult, void, undefined> {
  checkWaitOptions(options);
  checkCount(options.concurrency, "concurrency", 1);
  checkDuration(options.itemTimeoutMs, "itemTimeoutMs");
  // Our own signal, following the caller's: when the consumer stops early (break, return, throw), in-flight
  // items are cancelled and awaited, so nothing of this run is still creating tasks once the loop has exited.
  const stop = new AbortController();
  const signal = stop.signal;
  const followCaller = () => stop.abort(options.signal?.reason);
  if (options.signal?.aborted) followCaller();
  else options.signal?.addEventListener("abort", followCaller, { once: true });
  const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
  const batchId = options.batchId ?? `batch-${globalThis.crypto.randomUUID()}`;
  const existing = options.batchId
    ? await scanBatch(client, batchId, options.resumeScanPages ?? DEFAULTS.scanPages, signal)
    : new Map<string, Task>();
  const settings: BatchSettings = {
    batchId,
    existing,
    deadline,
    itemTimeoutMs: options.itemTimeoutMs ?? DEFAULTS.waitTimeoutMs,
    maxRetries: options.maxRetries,
    pollIntervalMs: options.pollIntervalMs,
    onProgress: options.onProgress,
  };
  const items = new BatchItems(client, settings, signal, options.concurrency ?? DEFAULTS.batchConcurrency);

  const iterator =
    Symbol.asyncIterator in inputs
      ? inputs[Symbol.asyncIterator]()
      : (inputs as Iterable<CreateTaskInput>)[Symbol.iterator]();
  const running = new Set<Promise<void>>();
  const finished: BatchResult[] = [];
  let wake: (() => void) | undefined;
  let exhausted = false;
  let index = 0;
  let callbackFailure: { error: unknown } | undefined;

  try {
    for (;;) {
      signal.throwIfAborted();
      if (callbackFailure) throw callbackFailure.error;
      // Start items while there is room and nothing finished is waiting for the consumer (backpressure).
      while (!exhausted && running.size < items.limit.limit && finished.length === 0 && deadline - Date.now() > 0) {
        const next = await iterator.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        const job = items
          .run(index++, next.value)
          .then((result) => {
            if (!result) return;
            finished.push(result);
            try {
              options.onItem?.(result);
            } catch (error) {
              // The caller's callback failed: the batch stops with its error (thrown by the loop below).
              callbackFailure ??= { error };
            }
          })
          .finally(() => {
            running.delete(job);
            wake?.();
          });
        running.add(job);
      }
      if (finished.length > 0) {
        yield finished.shift()!;
        continue;
      }
      if (running.size === 0 && (exhausted || deadline - Date.now() <= 0)) return;
      await new Promise<void>((resolve) => {
        wake = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => resolve();
        signal.addEventListener("abort", onAbort, { once: true });
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
async function scanBatch(
  client: BatchClient,
  batchId: string,
  pages: number,
  signal: AbortSignal | undefined,
): Promise<Map<string, Task>> {
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
