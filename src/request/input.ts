// A call's arguments and the create body, checked before anything is sent.
import { LIMITS } from "../../generated/limits.js";
import { KlingValidationError } from "../errors.js";
import { isLoopbackUrl } from "../options.js";
import type { CreateTaskInput } from "../types.js";
import { checkCount, checkDuration, isHttpUrl, shown } from "../validate.js";

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
      `${field} must be a task id such as "866889456698785798" (letters, digits, . _ ~ : @ + = -), not ` +
        `${shown(taskId)}.`,
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

/**
 * The shortest poll interval against a real server: below it, a seconds-for-milliseconds slip would poll the account
 * hundreds of times a second. The mock on this machine may be polled faster.
 */
const MIN_POLL_INTERVAL_MS = 500;

/** Refuses a `pollIntervalMs` under {@link MIN_POLL_INTERVAL_MS} unless `baseUrl` is on this machine (the mock). */
export function checkPollFloor(pollIntervalMs: unknown, baseUrl: string): void {
  if (typeof pollIntervalMs !== "number" || pollIntervalMs >= MIN_POLL_INTERVAL_MS || isLoopbackUrl(baseUrl)) return;
  throw new KlingValidationError(
    "pollIntervalMs",
    `pollIntervalMs must be at least ${MIN_POLL_INTERVAL_MS} ms against ${baseUrl} ` +
      `(got ${pollIntervalMs}; is it in seconds?). Only a server on this machine (the mock) may be polled faster.`,
  );
}

/** The longest prompt the API takes, in Unicode code points (the spec's `maxLength`). */
export const MAX_PROMPT_LENGTH = LIMITS.promptMaxLength;

const FIELDS = [
  "video_id",
  "video_url",
  "sound_effect_prompt",
  "bgm_prompt",
  "asmr_mode",
  "external_task_id",
  "callback_url",
] as const;
/** Fields whose empty value means "not given": dropped from the body, never sent. */
const DROPPED_WHEN_EMPTY = new Set(["video_id", "video_url", "external_task_id", "callback_url"]);

/**
 * Checks a create body and returns the copy to send: an empty (or null) `video_id`, `video_url`, `external_task_id` or
 * `callback_url` counts as not given and is dropped. Throws `KlingValidationError` otherwise.
 */
export function checkCreateInput(input: unknown): CreateTaskInput {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new KlingValidationError(
      "input",
      'The create input must be an object such as { video_url: "https://…/clip.mp4" }.',
    );
  }
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (!(FIELDS as readonly string[]).includes(key)) {
      const hint = closestName(key, FIELDS);
      throw new KlingValidationError(
        key === "" ? '""' : key,
        `Unknown field "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}; the API rejects unknown fields. Known: ` +
          `${FIELDS.join(", ")}.`,
      );
    }
    // Kling's own documented example sends these empty, and gateway samples send the unused video field as "".
    if (DROPPED_WHEN_EMPTY.has(key) && (value === "" || value === null)) continue;
    body[key] = value;
  }

  const hasId = "video_id" in body;
  const hasUrl = "video_url" in body;
  if (hasId && hasUrl) throw new KlingValidationError("video_id", "Give either video_id or video_url, not both.");
  if (!hasId && !hasUrl)
    throw new KlingValidationError(
      "video_url",
      "Give the video: video_url (an http(s) URL of an MP4/MOV) or video_id (a Kling-generated video).",
    );
  if (hasId) nonEmptyString(body, "video_id");
  if (hasUrl) httpUrl(body, "video_url");
  if ("callback_url" in body) httpUrl(body, "callback_url");
  for (const field of ["sound_effect_prompt", "bgm_prompt"] as const) {
    if (!(field in body)) continue;
    const value = body[field];
    if (typeof value !== "string") throw new KlingValidationError(field, `${field} must be a string.`);
    const length = codePointLength(value);
    if (length > MAX_PROMPT_LENGTH) {
      throw new KlingValidationError(
        field,
        `${field} is ${length} characters long; the API takes at most ${MAX_PROMPT_LENGTH}.`,
      );
    }
  }
  if ("asmr_mode" in body && typeof body.asmr_mode !== "boolean") {
    throw new KlingValidationError("asmr_mode", `asmr_mode must be true or false, not ${shown(body.asmr_mode)}.`);
  }
  if ("external_task_id" in body) nonEmptyString(body, "external_task_id");
  return body as CreateTaskInput;
}

/** Counts code points, as JSON Schema's `maxLength` does, so an emoji counts once. */
function codePointLength(text: string): number {
  let length = 0;
  for (const _ of text) length++;
  return length;
}

function nonEmptyString(body: Record<string, unknown>, field: string): void {
  const value = body[field];
  if (typeof value !== "string" || value === "")
    throw new KlingValidationError(field, `${field} must be a non-empty string.`);
}

function httpUrl(body: Record<string, unknown>, field: string): void {
  const value = body[field];
  if (!isHttpUrl(value))
    throw new KlingValidationError(field, `${field} must be an absolute http(s) URL, not ${shown(value)}.`);
}

/** The known name a typo most likely meant (at most two edits away, case ignored): a field, or a CLI flag. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
