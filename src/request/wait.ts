// Waiting for a task: an adaptive, jittered polling schedule under one deadline and one AbortSignal.
import { KlingTaskFailedError, KlingTimeoutError } from "../errors.js";
import type { Log } from "../redact.js";
import type { Task } from "../types.js";
import { isTransient, sleep } from "./transport.js";

/** The first poll comes after this long (or `pollIntervalMs` when that is shorter). */
const FIRST_POLL_MS = 1_000;
/** Each poll waits this much longer than the one before, up to the steady interval. */
const POLL_GROWTH = 1.5;
/** The steady interval between polls once the task has been running a while. */
const STEADY_POLL_MS = 5_000;
/** Every delay is spread by ±20% so that many waiters do not poll in lockstep. */
const POLL_JITTER = 0.2;

/**
 * The delay before poll number `poll` (0 = the first): 1 s, 1.5 s, 2.25 s, 3.4 s, then 5 s for good, each
 * ±20%. Tasks usually take tens of seconds: early polls catch quick ones, the steady 5 s keeps a long wait cheap.
 */
export function pollDelayMs(
  poll: number,
  steadyMs: number = STEADY_POLL_MS,
  random: () => number = Math.random,
): number {
  const base = Math.min(steadyMs, Math.min(FIRST_POLL_MS, steadyMs) * POLL_GROWTH ** poll);
  return Math.round(base * (1 - POLL_JITTER + 2 * POLL_JITTER * random()));
}

export interface WaitLoopOptions {
  /** Absolute epoch ms: when the wait gives up with `KlingTimeoutError`. */
  deadline: number;
  /** The whole wait's length, for the timeout message. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  onProgress?: ((task: Task) => void) | undefined;
  /** The steady poll interval. @default 5000 */
  pollIntervalMs?: number | undefined;
  /** A task already in hand (from create): reported, then the first poll waits its delay instead of running at once. */
  initial?: Task | undefined;
  log: Log;
  now?: () => number;
  random?: () => number;
}

/** Statuses that end a task; any other value, known or not, counts as still running. */
function isFinal(task: Task): boolean {
  return task.task_status === "succeed" || task.task_status === "failed";
}

/**
 * Polls `fetchTask` until the task succeeds (resolves), fails (`KlingTaskFailedError`), the deadline passes
 * (`KlingTimeoutError` with `taskId` and `lastStatus`) or the signal aborts (rejects with its reason).
 * A poll that fails with a retryable error (after the transport's own retries) does not end the wait: the
 * next poll comes on schedule, because a long wait should ride out a short outage.
 */
export async function waitLoop(
  taskId: string,
  fetchTask: () => Promise<Task>,
  options: WaitLoopOptions,
): Promise<Task> {
  const now = options.now ?? Date.now;
  const { signal, log } = options;
  let lastStatus: string | undefined;
  let lastError: unknown;
  let poll = 0;

  const observe = (task: Task): Task => {
    if (task.task_status !== lastStatus) {
      lastStatus = task.task_status;
      options.onProgress?.(task);
    }
    if (task.task_status === "failed") throw new KlingTaskFailedError(task);
    return task;
  };
  const timeout = () =>
    new KlingTimeoutError({ kind: "wait", taskId, lastStatus, timeoutMs: options.timeoutMs, cause: lastError });

  if (options.initial) {
    observe(options.initial);
    if (isFinal(options.initial)) return options.initial;
  } else {
    poll = -1; // poll at once: the task may be finished already
  }

  for (;;) {
    if (poll >= 0) {
      const delay = Math.min(pollDelayMs(poll, options.pollIntervalMs, options.random), options.deadline - now());
      if (delay <= 0 && now() >= options.deadline) throw timeout();
      await sleep(delay, signal);
    }
    poll++;
    if (now() >= options.deadline) throw timeout();
    signal?.throwIfAborted();
    try {
      const task = await fetchTask();
      lastError = undefined;
      if (log.enabled("debug")) log.debug(`poll ${poll} task ${taskId}: ${task.task_status}`);
      if (isFinal(observe(task))) return task;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof KlingTaskFailedError) throw error;
      if (error instanceof KlingTimeoutError && error.kind === "wait") throw timeout();
      if (!isTransient(error)) throw error;
      lastError = error;
      // A poll that ran into the wait's own deadline (its attempt got only what was left) is the timeout, not an
      // outage.
      if (now() >= options.deadline) throw timeout();
      log.warn(`poll ${poll} of task ${taskId} failed, polling again on schedule: ${(error as Error).message}`);
    }
  }
}
