// From a server's answer to the right error: the class by Kling code first, HTTP status second; unusable bodies.
import { type CodeCategory, CODES } from "../../generated/facts.js";
import { GUIDANCE } from "../../generated/guidance.js";
import { statusGuidance } from "./guidance.js";
import { isRetryable } from "../retry.js";
import { KlingAccountError } from "./account-error.js";
import { KlingApiError, type KlingApiErrorOptions } from "./api-error.js";
import { KlingAuthenticationError } from "./authentication-error.js";
import { KlingConnectionError } from "./connection-error.js";
import { KlingInvalidRequestError } from "./invalid-request-error.js";
import { KlingPermissionError } from "./permission-error.js";
import { KlingPolicyError } from "./policy-error.js";
import { KlingRateLimitError } from "./rate-limit-error.js";
import { KlingServerError } from "./server-error.js";

export interface ApiErrorInput {
  status: number;
  code?: number | undefined;
  message?: string | undefined;
  requestId?: string | undefined;
  retryAfterMs?: number | undefined;
  cause?: unknown;
  externalTaskId?: string | undefined;
}

type ApiErrorClass = new (options: KlingApiErrorOptions) => KlingApiError;

/** The class of each category of the spec's code table. */
const CLASS_OF: Record<CodeCategory, ApiErrorClass> = {
  authentication: KlingAuthenticationError,
  account: KlingAccountError,
  permission: KlingPermissionError,
  invalid_request: KlingInvalidRequestError,
  policy: KlingPolicyError,
  rate_limit: KlingRateLimitError,
  server: KlingServerError,
};

function classByCode(code: number | undefined): ApiErrorClass | undefined {
  const fact = code === undefined ? undefined : CODES[code];
  return fact ? CLASS_OF[fact.category] : undefined;
}

function classByStatus(status: number): ApiErrorClass {
  if (status === 401) return KlingAuthenticationError;
  if (status === 403) return KlingPermissionError;
  if (status === 429) return KlingRateLimitError;
  if (status >= 500) return KlingServerError;
  if (status >= 400) return KlingInvalidRequestError;
  return KlingApiError;
}

/** The API error for an answer: the class picked by Kling `code` first, HTTP status second; `retryable` per the retry table. */
export function apiErrorFrom(input: ApiErrorInput): KlingApiError {
  const ErrorClass = classByCode(input.code) ?? classByStatus(input.status);
  const { externalTaskId, ...rest } = input;
  return new ErrorClass({
    ...rest,
    retryable: isRetryable(input.status, input.code),
    guidance: (input.code === undefined ? undefined : GUIDANCE[input.code]) ?? statusGuidance(input.status),
    ...(externalTaskId !== undefined ? { externalTaskId } : {}),
  });
}

/** Readable text of an HTML error page: its `<title>` (or first heading), else its text without tags, shortened. */
export function stripHtml(text: string, max = 200): string {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(text)?.[1] ?? /<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(text)?.[1];
  const plain = (title ?? text.replace(/<(script|style)[\s\S]*?<\/\1>/gi, " ").replace(/<[^>]*>/g, " "))
    .replace(/&nbsp;/g, " ")
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/\s+/g, " ")
    .trim();
  return plain.length > max ? `${plain.slice(0, max - 1)}…` : plain;
}

export interface BadBodyInput {
  /** e.g. `GET /v1/audio/video-to-audio/123`. */
  request: string;
  status: number;
  contentType: string | null;
  text: string;
  /** The body started like JSON but did not parse: cut off on the way. */
  truncated: boolean;
  cause?: unknown;
}

/** A connection error for an answer whose body is not usable Kling JSON: says what arrived and what to do. */
export function badBodyError({
  request,
  status,
  contentType,
  text,
  truncated,
  cause,
}: BadBodyInput): KlingConnectionError {
  const type = contentType?.split(";")[0]?.trim() || "no content-type";
  const what = text.trim() === "" ? "an empty body" : truncated ? "truncated JSON" : "a body that is not JSON";
  const excerpt = text.trim() === "" || truncated ? "" : `: "${stripHtml(text)}"`;
  const next =
    status >= 500 || status === 429
      ? "A gateway or the server failed; retry later."
      : truncated
        ? "The connection dropped mid-answer; retry."
        : "Check the base URL: it may point at a web page or a proxy instead of the Kling API.";
  return new KlingConnectionError(
    `${request} answered HTTP ${status} with ${what} (${type}) instead of Kling JSON${excerpt}. ${next}`,
    { status, cause },
  );
}
