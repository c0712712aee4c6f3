// The SDK's error classes: KlingError and its subclasses, each with its stable name and fields.
import type { components } from "../generated/openapi.js";

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
  /**
   * @internal Set (not enumerable) by the transport when the failed request may have reached the server and taken
   * effect: a network error other than a refused connection, an attempt timeout, a 5xx, a 2xx that was not JSON.
   * Safe create looks a task up by its `external_task_id` before sending it again after such a failure.
   */
  declare readonly ambiguous?: true;

  constructor(message: string, options?: KlingErrorOptions) {
    const id = options?.externalTaskId;
    super(
      id === undefined ? message : withTaskNote(message, id),
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
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
  return (
    `${message} The task may have been created: find it by external_task_id=${externalTaskId} before creating it ` +
    `again.`
  );
}

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
  /**
   * What happened and what to do next, for the message. Answers from the server get the code's or the status's words
   * (from-answer.ts); an error made by hand without them says only that the server reported an error.
   * @default ["the server reported an error", "check the message"]
   */
  guidance?: readonly [happened: string, next: string] | undefined;
}

/**
 * Kling's "not found": HTTP 404, or code 1203 in any status (an unknown id, or another owner's task behind the proxy).
 */
export function isNotFound(status: number | undefined, code: unknown): boolean {
  return status === 404 || code === 1203;
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
    const [happened, next] = options.guidance ?? ["the server reported an error", "check the message"];
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

/** API error: the account is blocked, in arrears or out of resource pack (codes 1100-1102; never retried). */
export class KlingAccountError extends KlingApiError {
  override readonly name: string = "KlingAccountError";
}

/** API error: the key may not use this API, model or IP address (HTTP 403, codes 1103, 1304). */
export class KlingPermissionError extends KlingApiError {
  override readonly name: string = "KlingPermissionError";
}

/** API error: the request itself was wrong (HTTP 400, 404, other 4xx, codes 1200-1203). */
export class KlingInvalidRequestError extends KlingApiError {
  override readonly name: string = "KlingInvalidRequestError";
}

/** API error: the input breaks platform policy or content safety (codes 1300, 1301). */
export class KlingPolicyError extends KlingApiError {
  override readonly name: string = "KlingPolicyError";
}

/** API error: too many requests or running tasks (codes 1302, 1303, a bare 429; retried with backoff). */
export class KlingRateLimitError extends KlingApiError {
  override readonly name: string = "KlingRateLimitError";
}

/** API error: the server failed (HTTP 5xx, codes 5000-5002; retried). */
export class KlingServerError extends KlingApiError {
  override readonly name: string = "KlingServerError";
}

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
    return (
      `${request ?? "The HTTP request"} got no answer${within} (one attempt). Raise timeoutMs if the server or ` +
      `network is slow.`
    );
  }
  if (taskId === undefined) {
    return `${request ?? "The operation"} did not finish${within}: the deadline passed. Raise timeoutMs, or try again.`;
  }
  const seen = lastStatus ? ` (last status: ${lastStatus})` : "";
  return (
    `Task ${taskId} did not finish${within}${seen}. It keeps running on the server: wait for it again with ` +
    `waitForTask("${taskId}").`
  );
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

type Task = components["schemas"]["Task"];

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
 * - `missing_headers`: a `webhook-*` header is absent (the delivery is unsigned).
 * - `invalid_timestamp`: `webhook-timestamp` is present but not a Unix time in whole seconds (`abc`, `0x10`, `1e3`,
 *   empty).
 * - `invalid_signature`: no `v1` signature matches the body under the secret (an empty id or signature included).
 * - `timestamp_out_of_tolerance`: `webhook-timestamp` is too far from now (a replay, or a skewed clock).
 * - `body_too_large`: the body is over `maxBodyBytes`; the rest of it was not read.
 * - `invalid_secret`: the configured secret is not base64 (after an optional `whsec_`); a setup error.
 * - `parsed_body`: the caller passed a parsed object or a consumed request instead of the raw body.
 */
export type KlingCallbackErrorReason =
  | "invalid_json"
  | "invalid_payload"
  | "missing_headers"
  | "invalid_timestamp"
  | "invalid_signature"
  | "timestamp_out_of_tolerance"
  | "body_too_large"
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
