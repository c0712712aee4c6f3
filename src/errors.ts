// Every error class the SDK throws (all extend KlingError), and the factories that build them from a server's answer.
import type { components } from "../generated/openapi.js";
import { isRetryable } from "./retry.js";

type Task = components["schemas"]["Task"];

// ---------------------------------------------------------------------------------------------
// The base
// ---------------------------------------------------------------------------------------------

export interface KlingErrorOptions {
  /** The error that led to this one. @default undefined */
  cause?: unknown;
  /**
   * Set on errors from create/run when a task may exist on the server under this `external_task_id`; the
   * message then names it so the caller can reconcile instead of creating (and paying for) the task twice.
   * @default undefined
   */
  externalTaskId?: string;
}

/** The base of every error this SDK throws: a stable `name`, the original error as `cause`. */
export class KlingError extends Error {
  override readonly name: string = "KlingError";
  /**
   * Set on errors from create/run when a task may exist on the server under this id: look it up by
   * `task_info.external_task_id` before creating it again.
   */
  declare externalTaskId?: string;

  constructor(message: string, options?: KlingErrorOptions) {
    const id = options?.externalTaskId;
    super(id === undefined ? message : withTaskNote(message, id), options?.cause === undefined ? undefined : { cause: options.cause });
    if (id !== undefined) this.externalTaskId = id;
  }
}

/**
 * Marks an already-built error as "a task may exist under this external_task_id" and names the id in its
 * message, for errors raised below the create logic (e.g. by the transport). Returns the same error.
 */
export function noteExternalTaskId<E extends KlingError>(error: E, externalTaskId: string): E {
  if (error.externalTaskId === externalTaskId) return error;
  const before = error.message;
  error.externalTaskId = externalTaskId;
  error.message = withTaskNote(before, externalTaskId);
  // The stack starts with the old message; keep it in step so logs and util.inspect show the note too.
  if (typeof error.stack === "string") error.stack = error.stack.replace(before, error.message);
  return error;
}

function withTaskNote(message: string, externalTaskId: string): string {
  return `${message} The task may have been created: find it by external_task_id=${externalTaskId} before creating it again.`;
}

// ---------------------------------------------------------------------------------------------
// API errors: the server answered with an error
// ---------------------------------------------------------------------------------------------

export interface KlingApiErrorOptions extends KlingErrorOptions {
  /** The HTTP status of the answer (200 when a 200 carried a non-zero `code`). */
  status: number;
  /** Kling's business code, when the body had a numeric one. @default undefined */
  code?: number | undefined;
  /** The server's own message (`message` of the envelope). @default "" */
  message?: string | undefined;
  /** The envelope's `request_id`, or the `x-request-id` header. @default undefined */
  requestId?: string | undefined;
  /** Whether the SDK's retry table retries this answer. @default false */
  retryable?: boolean;
  /** The delay the server asked for (`Retry-After` / `retry-after-ms`), in ms. @default undefined */
  retryAfterMs?: number | undefined;
}

/** What each documented code means and what the caller should do about it. */
const CODES: Record<number, readonly [happened: string, next: string]> = {
  1000: ["authentication failed", "check the API key (or the access and secret keys)"],
  1001: ["the Authorization header was empty", "pass apiKey (or accessKey and secretKey), or set KLING_V2A_API_KEY"],
  1002: ["the Authorization header was invalid", "check the API key (or the access and secret keys) and the base URL"],
  1003: ["the token is not valid yet", "check the machine clock, then the access and secret keys"],
  1004: ["the token has expired", "check the machine clock, then the access and secret keys"],
  1100: ["the account is in an abnormal state", "check the account in the Kling console or contact support"],
  1101: ["the account is in arrears", "settle the account balance, then retry"],
  1102: ["the resource pack is used up or expired", "recharge or buy a resource pack, then retry"],
  1103: ["the key has no permission for this API or model", "enable this API/model for the account, or use another key"],
  1200: ["the request was invalid", "fix the request"],
  1201: ["a parameter was invalid", "fix the parameter named in the message"],
  1202: ["the method or path is not supported", "check the base URL and the path"],
  1203: ["the resource was not found", "check the task id and the base URL"],
  1300: ["the request breaks platform policy", "change the input"],
  1301: ["the content safety check rejected the input", "change the video or the prompts"],
  1302: ["requests are arriving too fast", "slow down; the SDK retries with backoff"],
  1303: ["too many tasks are running for the account's resource pack", "wait for some to finish"],
  1304: ["this IP address is not on the key's allow list", "add it in the Kling console"],
  5000: ["the server failed internally", "retry later"],
  5001: ["the service is unavailable (maintenance)", "retry later"],
  5002: ["the server timed out (backlog)", "retry later"],
};

function byStatus(status: number): readonly [string, string] {
  if (status === 401) return ["authentication failed", "check the API key (or the access and secret keys)"];
  if (status === 403) return ["access was denied", "check the key's permissions"];
  if (status === 404) return ["the path or resource was not found", "check the base URL and the id"];
  if (status === 429) return ["the server is rate limiting", "slow down, then retry"];
  if (status >= 500) return ["the server failed", "retry later"];
  if (status >= 400) return ["the request was rejected", "fix the request"];
  return ["the server reported an error", "check the message"];
}

/** The server answered with an error status or a non-zero Kling `code`: what it said, and what to do next. */
export class KlingApiError extends KlingError {
  override readonly name: string = "KlingApiError";
  /** The HTTP status (200 when a 200 carried a non-zero `code`). */
  readonly status: number;
  /** Kling's business code, if the body had one. */
  readonly code: number | undefined;
  /** The request's trace id: quote it to support. */
  readonly requestId: string | undefined;
  /** Whether the SDK's retry table retries this answer. */
  readonly retryable: boolean;
  /** The server's own message, unchanged. */
  readonly serverMessage: string;
  /** The delay the server asked for before a retry, in ms. */
  declare readonly retryAfterMs?: number;

  constructor(options: KlingApiErrorOptions) {
    const serverMessage = options.message ?? "";
    // A hostile or broken server can send megabytes: the message quotes a readable part, `serverMessage` keeps all.
    const quoted = clip(serverMessage.trim(), 1000);
    const [happened, next] = (options.code !== undefined && CODES[options.code]) || byStatus(options.status);
    const ids = [
      options.code !== undefined ? `code ${options.code}` : undefined,
      `HTTP ${options.status}`,
      options.requestId ? `request_id ${options.requestId}` : undefined,
    ].filter(Boolean);
    const said = quoted ? `${quoted.replace(/[.\s]+$/, "")}: ` : "";
    super(`${said}${happened} (${ids.join(", ")}). Next: ${next}.`, options);
    this.status = options.status;
    this.code = options.code;
    this.requestId = options.requestId;
    this.retryable = options.retryable ?? false;
    this.serverMessage = serverMessage;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** `text` cut to `max` characters, marked where it was cut. */
function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}

/** API error: the key or token was refused (HTTP 401, codes 1000-1004). */
export class KlingAuthenticationError extends KlingApiError {
  override readonly name: string = "KlingAuthenticationError";
}

/** API error: the key may not use this API, model or IP address (HTTP 403, codes 1103, 1304). */
export class KlingPermissionError extends KlingApiError {
  override readonly name: string = "KlingPermissionError";
}

/** API error: the account is blocked, in arrears or out of resource pack (codes 1100-1102; never retried). */
export class KlingAccountError extends KlingApiError {
  override readonly name: string = "KlingAccountError";
}

/** API error: too many requests or running tasks (codes 1302, 1303, a bare 429; retried with backoff). */
export class KlingRateLimitError extends KlingApiError {
  override readonly name: string = "KlingRateLimitError";
}

/** API error: the request itself was wrong (HTTP 400, 404, other 4xx, codes 1200-1203). */
export class KlingInvalidRequestError extends KlingApiError {
  override readonly name: string = "KlingInvalidRequestError";
}

/** API error: the input breaks platform policy or content safety (codes 1300, 1301). */
export class KlingPolicyError extends KlingApiError {
  override readonly name: string = "KlingPolicyError";
}

/** API error: the server failed (HTTP 5xx, codes 5000-5002; retried). */
export class KlingServerError extends KlingApiError {
  override readonly name: string = "KlingServerError";
}

// ---------------------------------------------------------------------------------------------
// Errors with no API answer behind them
// ---------------------------------------------------------------------------------------------

export interface KlingConnectionErrorOptions extends KlingErrorOptions {
  /** The HTTP status, when an answer arrived but its body was unusable. @default undefined */
  status?: number | undefined;
}

/** No usable answer: the network failed, or the body was not Kling JSON (truncated, or a gateway's HTML page). */
export class KlingConnectionError extends KlingError {
  override readonly name: string = "KlingConnectionError";
  /** The HTTP status, when an answer arrived but its body was unusable; absent on network failures. */
  declare readonly status?: number;

  constructor(message: string, options?: KlingConnectionErrorOptions) {
    super(message, options);
    if (options?.status !== undefined) this.status = options.status;
  }
}

export interface KlingTimeoutErrorOptions extends KlingErrorOptions {
  /** `"attempt"`: one HTTP attempt; `"wait"`: a whole wait or call deadline. */
  kind: "attempt" | "wait";
  /** The limit that ran out, in ms. @default undefined */
  timeoutMs?: number | undefined;
  /** The task being waited for. @default undefined */
  taskId?: string | undefined;
  /** The task's last observed `task_status`. @default undefined */
  lastStatus?: string | undefined;
  /** What was being sent, e.g. `GET /v1/audio/video-to-audio/123`, for the message. @default undefined */
  request?: string | undefined;
}

/** A limit ran out: one HTTP attempt got no answer in time, or a whole wait passed its deadline. */
export class KlingTimeoutError extends KlingError {
  override readonly name: string = "KlingTimeoutError";
  /** Which limit ran out: one HTTP attempt, or a whole wait. */
  readonly kind: "attempt" | "wait";
  /** The task being waited for: pass it to `waitForTask` to keep waiting. */
  declare readonly taskId?: string;
  /** The task's last observed `task_status`. */
  declare readonly lastStatus?: string;
  /** The limit that ran out, in ms. */
  declare readonly timeoutMs?: number;

  constructor(options: KlingTimeoutErrorOptions) {
    super(timeoutMessage(options), options);
    this.kind = options.kind;
    if (options.taskId !== undefined) this.taskId = options.taskId;
    if (options.lastStatus !== undefined) this.lastStatus = options.lastStatus;
    if (options.timeoutMs !== undefined) this.timeoutMs = options.timeoutMs;
  }
}

function timeoutMessage({ kind, timeoutMs, taskId, lastStatus, request }: KlingTimeoutErrorOptions): string {
  const within = timeoutMs !== undefined ? ` within ${timeoutMs} ms` : " in time";
  if (kind === "attempt") {
    return `${request ?? "The HTTP request"} got no answer${within} (one attempt). Raise timeoutMs if the server or network is slow.`;
  }
  if (taskId === undefined) {
    return `${request ?? "The operation"} did not finish${within}: the deadline passed. Raise timeoutMs, or try again.`;
  }
  const seen = lastStatus ? ` (last status: ${lastStatus})` : "";
  return `Task ${taskId} did not finish${within}${seen}. It keeps running on the server: wait for it again with waitForTask("${taskId}").`;
}

/** Input rejected before anything was sent: which field, and why. */
export class KlingValidationError extends KlingError {
  override readonly name: string = "KlingValidationError";
  /** The offending input field or option, e.g. `video_url` or `secretKey`. */
  readonly field: string;

  constructor(field: string, message: string, options?: KlingErrorOptions) {
    super(message, options);
    this.field = field;
  }
}

/** The task ended with `task_status: "failed"`; carries the task and the server's reason. */
export class KlingTaskFailedError extends KlingError {
  override readonly name: string = "KlingTaskFailedError";
  /** The failed task as last fetched; `task.task_status_msg` says why. */
  readonly task: Task;

  constructor(task: Task, options?: KlingErrorOptions) {
    const external = task.task_info?.external_task_id;
    const reason = task.task_status_msg?.trim() || "no reason given";
    super(
      `Task ${task.task_id}${external ? ` (external_task_id ${external})` : ""} failed: ${reason}. ` +
        "Nothing more will happen to it; fix the input if the reason names it, then create a new task.",
      options,
    );
    this.task = task;
  }
}

/**
 * Why a callback was rejected:
 * - `invalid_json`: the body is not UTF-8 JSON.
 * - `invalid_payload`: the JSON matches neither callback dialect of the spec (`CallbackPayload`).
 * - `missing_headers`: a `webhook-*` header is absent or malformed.
 * - `invalid_signature`: no `v1` signature matches the body under the secret.
 * - `timestamp_out_of_tolerance`: `webhook-timestamp` is too far from now (a replay, or a skewed clock).
 * - `invalid_secret`: the configured secret is not base64 (after an optional `whsec_`); a setup error.
 * - `parsed_body`: the caller passed a parsed object or a consumed request instead of the raw body.
 */
export type KlingCallbackErrorReason =
  | "invalid_json"
  | "invalid_payload"
  | "missing_headers"
  | "invalid_signature"
  | "timestamp_out_of_tolerance"
  | "invalid_secret"
  | "parsed_body";

/** A callback delivery was rejected: its body or its signature, with a machine-readable `reason`. */
export class KlingCallbackError extends KlingError {
  override readonly name = "KlingCallbackError";
  /** Why the callback was rejected; answer the sender with a 4xx (a 400, or 401 for signature reasons). */
  readonly reason: KlingCallbackErrorReason;

  /** `message` must never contain the webhook secret: callers log these errors. */
  constructor(reason: KlingCallbackErrorReason, message: string, options?: KlingErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

// ---------------------------------------------------------------------------------------------
// From a server's answer to the right error
// ---------------------------------------------------------------------------------------------

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

function classByCode(code: number | undefined): ApiErrorClass | undefined {
  if (code === undefined) return undefined;
  if (code >= 1000 && code <= 1004) return KlingAuthenticationError;
  if (code >= 1100 && code <= 1102) return KlingAccountError;
  if (code === 1103 || code === 1304) return KlingPermissionError;
  if (code >= 1200 && code <= 1203) return KlingInvalidRequestError;
  if (code === 1300 || code === 1301) return KlingPolicyError;
  if (code === 1302 || code === 1303) return KlingRateLimitError;
  if (code >= 5000 && code <= 5002) return KlingServerError;
  return undefined;
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
export function badBodyError({ request, status, contentType, text, truncated, cause }: BadBodyInput): KlingConnectionError {
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
