// A call's arguments checked before anything is sent, each failure naming its field: task ids, list pages, call options.
import { LIMITS } from "../generated/limits.js";
import { KlingValidationError } from "./errors/validation-error.js";
import { checkCount, checkDuration, shown } from "./validate.js";

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
    throw new KlingValidationError(
      field,
      `${field} must be a task id such as "866889456698785798" (letters, digits, . _ ~ : @ + = -), not ${shown(taskId)}.`,
    );
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

/** Per-call options of every method: `timeoutMs` (one attempt) and `maxRetries`. */
export function checkRequestOptions(options: { timeoutMs?: unknown; maxRetries?: unknown } | undefined): void {
  if (!options) return;
  checkDuration(options.timeoutMs, "timeoutMs");
  checkCount(options.maxRetries, "maxRetries", 0);
}

/** Options of a wait (and of run and runBatch): `timeoutMs` there is the whole wait. */
export function checkWaitOptions(
  options: { timeoutMs?: unknown; maxRetries?: unknown; pollIntervalMs?: unknown } | undefined,
): void {
  if (!options) return;
  checkRequestOptions(options);
  checkDuration(options.pollIntervalMs, "pollIntervalMs");
}
