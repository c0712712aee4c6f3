// Checks before anything is sent, each failure naming its field: task ids, list pages, base URLs, durations and counts.
import { LIMITS } from "../generated/limits.js";
import { KlingValidationError } from "./errors/validation-error.js";

/** `listTasks` bounds, as in the spec. */
export const PAGE_NUM_MAX = LIMITS.pageNumMax;
export const PAGE_SIZE_MAX = LIMITS.pageSizeMax;

/**
 * A task id is one plain path segment: letters, digits and `. _ ~ : @ + = -`, at most 256 characters, never `.` or
 * `..`. Anything else (a slash, `?`, `#`, `%`, a space) would change which URL is requested: `getTask("..")` would
 * otherwise ask for the task list.
 */
const PLAIN_SEGMENT = /^[A-Za-z0-9._~:@+=-]{1,256}$/;

/** Whether `id` can stand as one path segment as it is (see `checkTaskId`). */
export function isPlainSegment(id: unknown): id is string {
  return typeof id === "string" && PLAIN_SEGMENT.test(id) && id !== "." && id !== "..";
}

export function checkTaskId(taskId: unknown, field = "taskId"): string {
  if (!isPlainSegment(taskId)) {
    throw new KlingValidationError(field, `${field} must be a task id such as "866889456698785798" (letters, digits, . _ ~ : @ + = -), not ${shown(taskId)}.`);
  }
  return taskId;
}

export function checkPageQuery(query: { pageNum?: number; pageSize?: number }): void {
  const bounds = { pageNum: [LIMITS.pageNumMin, PAGE_NUM_MAX], pageSize: [LIMITS.pageSizeMin, PAGE_SIZE_MAX] } as const;
  for (const field of ["pageNum", "pageSize"] as const) {
    const value = query[field];
    if (value === undefined) continue;
    const [min, max] = bounds[field];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new KlingValidationError(field, `${field} must be an integer from ${min} to ${max}, not ${shown(value)}.`);
    }
  }
}

/** A value for an error message: never throws (BigInt, cycles), never floods the message. */
export function shown(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "bigint" ? `${value}n` : (JSON.stringify(value) ?? String(value));
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

/**
 * The spec's `HttpUrl`: `format: uri` (RFC 3986 characters only, so no spaces, backslashes, raw non-ASCII or
 * stray `%`) with a lower-case `http://` or `https://`; `new URL` then checks that it really parses.
 */
export const HTTP_URL = /^https?:\/\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#[\]]|%[0-9A-Fa-f]{2})+$/;

// ---------------------------------------------------------------------------------------------
// Options: checked where they are given, so a bad value fails at once and names itself
// ---------------------------------------------------------------------------------------------

/**
 * An absolute http(s) URL with a host, e.g. `https://api.deerapi.com/kling`, returned without trailing slashes. Where
 * the runtime has a `location` (a page or a worker), a path such as `/api/kling` (the app's own proxy) is taken too.
 */
export function checkBaseUrl(value: unknown, field = "baseUrl"): string {
  const hasLocation = typeof (globalThis as { location?: { href?: unknown } }).location?.href === "string";
  if (hasLocation && typeof value === "string" && /^\/(?!\/)\S*$/.test(value)) return value.replace(/\/+$/, "");
  let ok = typeof value === "string" && HTTP_URL.test(value);
  if (ok) {
    try {
      ok = new URL(value as string).hostname !== "";
    } catch {
      ok = false;
    }
  }
  if (!ok) throw new KlingValidationError(field, `${field} must be an absolute http(s) URL such as "https://api.deerapi.com/kling", not ${shown(value)}.`);
  return (value as string).replace(/\/+$/, "");
}

/** A duration in ms that is given must be a positive finite number (NaN would never time out, 0 would spin). */
export function checkDuration(value: unknown, field: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new KlingValidationError(field, `${field} must be a positive number of milliseconds, not ${shown(value)}.`);
  }
}

/** A count that is given must be a whole number of at least `min`. */
export function checkCount(value: unknown, field: string, min: number): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new KlingValidationError(field, `${field} must be a whole number of at least ${min}, not ${shown(value)}.`);
  }
}

/** Per-call options of every method: `timeoutMs` (one attempt) and `maxRetries`. */
export function checkRequestOptions(options: { timeoutMs?: unknown; maxRetries?: unknown } | undefined): void {
  if (!options) return;
  checkDuration(options.timeoutMs, "timeoutMs");
  checkCount(options.maxRetries, "maxRetries", 0);
}

/** Options of a wait (and of run and runBatch): `timeoutMs` there is the whole wait. */
export function checkWaitOptions(options: { timeoutMs?: unknown; maxRetries?: unknown; pollIntervalMs?: unknown } | undefined): void {
  if (!options) return;
  checkRequestOptions(options);
  checkDuration(options.pollIntervalMs, "pollIntervalMs");
}
