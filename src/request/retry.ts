// The retry policy and timing: which answers are retried, backoff, Retry-After, the cancellable sleep.
import { CODES } from "../../generated/facts.js";
import { KlingApiError, KlingConnectionError, KlingTimeoutError } from "../errors.js";

/** HTTP statuses retried when the body carries no known Kling code. */
const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);

/** Largest delay the SDK honours from `Retry-After` / `retry-after-ms`. */
const MAX_RETRY_AFTER_MS = 60_000;
/** Cap of the exponential backoff. */
const MAX_BACKOFF_MS = 8_000;

/**
 * Whether an answer is worth retrying, per api.md "Retries". The Kling `code` decides first, because
 * HTTP 429 carries both "slow down" (1302, 1303) and "out of credit" (1100-1102); the status decides only
 * when there is no code (or one this table does not know). Connection failures and timeouts are decided
 * by the transport, not here. 1003/1004 are `false`: the single JWT renewal is the transport's business.
 */
export function isRetryable(status: number | undefined, code: number | undefined): boolean {
  const known = code === undefined ? undefined : CODES[code];
  if (known) return known.retryable;
  return status !== undefined && RETRY_STATUSES.has(status);
}

/**
 * Whether a thrown error is worth another try later: an answer the retry table retries, a connection failure, or
 * an attempt that timed out. The one predicate behind polls that ride out an outage and batch items that retry.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof KlingApiError) return error.retryable;
  return error instanceof KlingConnectionError || (error instanceof KlingTimeoutError && error.kind === "attempt");
}

/**
 * Delay before retry number `retry` (0 for the first retry): 500 ms doubling (1 s for code 1303, whose
 * slots free up only as tasks finish), capped at 8 s, scaled down by up to 25% of jitter so clients that
 * failed together do not retry together. The first 1303 delay is never below 1 s.
 */
export function backoffDelayMs(retry: number, code?: number, random: () => number = Math.random): number {
  const slots = code !== undefined && CODES[code]?.concurrencyLimit === true;
  const base = slots ? MIN_CONCURRENCY_DELAY_MS : 500;
  const exponential = Math.min(MAX_BACKOFF_MS, base * 2 ** Math.max(0, retry));
  const delay = Math.round(exponential * (1 - 0.25 * random()));
  return slots ? Math.max(MIN_CONCURRENCY_DELAY_MS, delay) : delay;
}

/** The shortest wait after code 1303: the account's slots free up only as tasks finish. */
export const MIN_CONCURRENCY_DELAY_MS = 1_000;

/**
 * The wait before trying again: the server's `Retry-After` when it gave one, else the backoff for retry number
 * `streak`. The one rule behind the transport's retries, a batch's 1303 waits and a worker's queue back-off.
 */
export function nextDelayMs(
  failure: { retryAfterMs?: number | undefined; code?: number | undefined },
  streak: number,
  random: () => number = Math.random,
): number {
  return failure.retryAfterMs ?? backoffDelayMs(streak, failure.code, random);
}

/**
 * The delay the server asked for: `retry-after-ms` (milliseconds), else `Retry-After` as seconds or as an
 * HTTP date. Clamped to [0, 60 000]; anything unparseable gives `undefined` (fall back to backoff).
 */
export function retryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = parseNumber(headers.get("retry-after-ms"));
  if (ms !== undefined) return clamp(ms);
  const value = headers.get("retry-after")?.trim();
  if (!value) return undefined;
  const seconds = parseNumber(value);
  if (seconds !== undefined) return clamp(seconds * 1000);
  // Only strings with letters can be HTTP dates; Date.parse alone accepts things like "-5" as a year.
  if (!/[a-z]/i.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : clamp(date - now);
}

function parseNumber(value: string | null): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  return /^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : undefined;
}

function clamp(ms: number): number {
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Math.round(ms)));
}

/**
 * Waits `ms` milliseconds; an abort (even an earlier one) rejects at once with `signal.reason` and clears the timer.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A signal that aborts with the reason of whichever of `signals` aborts first: the one way calls follow several
 * signals (the caller's and a timer's, or two of the caller's). `AbortSignal.any` where the runtime has it.
 */
export function anySignal(signals: readonly AbortSignal[]): AbortSignal {
  if (typeof AbortSignal.any === "function") return AbortSignal.any(signals as AbortSignal[]);
  const controller = new AbortController();
  for (const signal of signals) {
    if (signal.aborted) {
      controller.abort(signal.reason);
      break;
    }
    signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  }
  return controller.signal;
}
