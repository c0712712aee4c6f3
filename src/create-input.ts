// The create body's checks (the spec's rules for video, prompts, flags and URLs), loaded with the create path.
import { LIMITS } from "../generated/limits.js";
import { KlingValidationError } from "./errors/validation-error.js";
import type { CreateTaskInput } from "./types.js";
import { HTTP_URL, shown } from "./validate.js";

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
        `Unknown field "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}; the API rejects unknown fields. Known: ${FIELDS.join(", ")}.`,
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
  let ok = typeof value === "string" && HTTP_URL.test(value);
  if (ok) {
    try {
      new URL(value as string);
    } catch {
      ok = false;
    }
  }
  if (!ok) throw new KlingValidationError(field, `${field} must be an absolute http(s) URL, not ${shown(value)}.`);
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
