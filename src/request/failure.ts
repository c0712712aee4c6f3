// A failed attempt: its typed error (class and words by code, then status), whether and when it is tried again, and
// the retries; loaded with a client's first failed attempt (request/transport.ts holds the path that succeeds).
import { CODES, type CodeCategory } from "../../generated/facts.js";
import { GUIDANCE } from "../../generated/guidance.js";
import {
  KlingAccountError,
  KlingApiError,
  type KlingApiErrorOptions,
  KlingAuthenticationError,
  KlingConnectionError,
  type KlingError,
  KlingInvalidRequestError,
  KlingPermissionError,
  KlingPolicyError,
  KlingRateLimitError,
  KlingServerError,
  KlingTimeoutError,
} from "../errors.js";
import { ReadLimitError } from "../read-limited.js";
import {
  type Answered,
  anySignal,
  attemptBudget,
  type CallOptions,
  describe,
  logAnswer,
  markAmbiguous,
  nextDelayMs,
  type Outcome,
  type ParsedAnswer,
  sleep,
  type TransportParts,
} from "./transport.js";

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

/**
 * What a bare HTTP status means, for an answer with no known Kling code: its class, what happened and what to do next.
 * One table, first match wins; a Kling code's own class and words come from the spec (generated/).
 */
const BY_STATUS: readonly (readonly [
  matches: (status: number) => boolean,
  ErrorClass: ApiErrorClass,
  happened: string,
  next: string,
])[] = [
  [
    (s) => s === 401,
    KlingAuthenticationError,
    "authentication failed",
    "check the API key (or the access and secret keys)",
  ],
  [(s) => s === 403, KlingPermissionError, "access was denied", "check the key's permissions"],
  [(s) => s === 404, KlingInvalidRequestError, "the path or resource was not found", "check the base URL and the id"],
  [(s) => s === 429, KlingRateLimitError, "the server is rate limiting", "slow down, then retry"],
  [(s) => s >= 500, KlingServerError, "the server failed", "retry later"],
  [(s) => s >= 400, KlingInvalidRequestError, "the request was rejected", "fix the request"],
  [() => true, KlingApiError, "the server reported an error", "check the message"],
];

function byStatus(status: number) {
  // The last row matches every status.
  return BY_STATUS.find(([matches]) => matches(status)) as (typeof BY_STATUS)[number];
}

/**
 * The API error for an answer: the class picked by Kling `code` first, HTTP status second; `retryable` per the retry
 * table.
 */
export function apiErrorFrom(input: ApiErrorInput): KlingApiError {
  const [, StatusClass, happened, next] = byStatus(input.status);
  const ErrorClass = classByCode(input.code) ?? StatusClass;
  const { externalTaskId, ...rest } = input;
  return new ErrorClass({
    ...rest,
    retryable: isRetryable(input.status, input.code),
    guidance: (input.code === undefined ? undefined : GUIDANCE[input.code]) ?? [happened, next],
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
  const next = isRetryable(status, undefined)
    ? "A gateway or the server failed; retry later."
    : truncated
      ? "The connection dropped mid-answer; retry."
      : "Check the base URL: it may point at a web page or a proxy instead of the Kling API.";
  return new KlingConnectionError(
    `${request} answered HTTP ${status} with ${what} (${type}) instead of Kling JSON${excerpt}. ${next}`,
    { status, cause },
  );
}

/** What one attempt came to when it did not succeed. */
export interface Failure {
  error: KlingError;
  /** The retry table (or the failure kind) says another attempt may help. */
  retry: boolean;
  /** The request may have reached the server and taken effect. */
  ambiguous: boolean;
  /** The server's `Retry-After`, in ms. */
  delayMs?: number | undefined;
  code?: number | undefined;
  /** Short reason for the retry log line. */
  reason: string;
}

/** What the failure module needs of the transport: the redaction, the clock and how a request is named. */
export interface FailureContext {
  redact(text: string): string;
  now(): number;
  describe(request: Request): string;
}

/** Network error codes which prove the request never left this machine, so re-sending cannot duplicate it. */
const NEVER_SENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** An answer too long to be Kling's: refused with bounded memory, not retried (the server would send it again). */
export function tooLargeFailure(
  context: FailureContext,
  request: Request,
  response: Response,
  error: ReadLimitError,
): Failure {
  return {
    error: new KlingConnectionError(
      `${context.describe(request)} answered HTTP ${response.status} with a body over ${error.maxBytes} bytes ` +
        `(${error.message}), far more than any Kling answer; ` +
        "it was not read. Check the base URL: it may point at a file server or a broken gateway.",
      { status: response.status, cause: error },
    ),
    retry: false,
    ambiguous: mayHaveActed(response.status),
    reason: `HTTP ${response.status} with a body over ${error.maxBytes} bytes`,
  };
}

/**
 * A redirect the transport does not follow: to another origin (which would be sent the request, and could answer for
 * the server), one whose target is hidden or missing, or one too many. Not retried: the server would say it again.
 */
export function redirectFailure(
  context: FailureContext,
  request: Request,
  response: Response,
  target: string | undefined,
): Failure {
  const from = new URL(request.url).origin;
  const where =
    target === undefined || target === from
      ? "with a redirect that was not followed (too many, or no readable target)"
      : `with a redirect to ${target}, another origin than ${from}: not followed, so no request went there`;
  return {
    error: new KlingConnectionError(
      `${context.describe(request)} answered HTTP ${response.status} ${where}. Set baseUrl to the server that answers.`,
      { status: response.status },
    ),
    retry: false,
    ambiguous: false,
    reason: `HTTP ${response.status} redirect not followed`,
  };
}

/**
 * The fetch threw (after the request was handed to it): a connection error, ambiguous unless it provably never left.
 */
export function networkFailure(context: FailureContext, request: Request, error: unknown): Failure {
  const code = errorCode(error);
  const detail = context.redact(error instanceof Error ? error.message : String(error));
  const connection = new KlingConnectionError(
    `${context.describe(request)} could not reach the server: ` +
      `${detail}${code && !detail.includes(code) ? ` (${code})` : ""}. ` +
      "Check the network connection and the base URL.",
    { cause: cleanCause(error, context.redact) },
  );
  return {
    error: connection,
    retry: true,
    ambiguous: !neverSent(error),
    reason: `connection failed${code ? ` (${code})` : ""}`,
  };
}

/** After an answer with this status the server may have acted on the request: a success, or a server failure. */
function mayHaveActed(status: number): boolean {
  return (status >= 200 && status < 300) || status >= 500;
}

/** An answer that is not a success: a body that is not JSON, an error status, or a non-zero Kling `code`. */
export function answerFailure(
  context: FailureContext,
  request: Request,
  response: Response,
  text: string,
  parsed: ParsedAnswer,
): Failure {
  const { status, headers } = response;
  const delayMs = retryAfterMs(headers, context.now());
  if (!parsed.json) {
    const trimmed = text.trimStart();
    const truncated = trimmed.startsWith("{") || trimmed.startsWith("[");
    const isGet = request.method === "GET" || request.method === "HEAD";
    return {
      error: badBodyError({
        request: context.describe(request),
        status,
        contentType: headers.get("content-type"),
        text: context.redact(text),
        truncated,
        cause: cleanCause(parsed.syntax, context.redact),
      }),
      // The same retry table as for a JSON answer; JSON cut off mid-answer is a dropped connection, safe to re-read.
      retry: isRetryable(status, undefined) || (truncated && isGet),
      ambiguous: mayHaveActed(status),
      delayMs,
      reason: `HTTP ${status} with a body that is not JSON`,
    };
  }
  const { code, requestId } = parsed;
  const error = apiErrorFrom({
    status,
    code,
    message: context.redact(messageOf(parsed.body)),
    // A request id is the server's text too: redacted (a broken server may echo the key) and kept short.
    requestId: context.redact(requestId || headers.get("x-request-id") || "").slice(0, 200) || undefined,
    retryAfterMs: delayMs,
  });
  return {
    error,
    retry: error.retryable,
    ambiguous: status >= 500 || (code !== undefined && CODES[code]?.ambiguous === true),
    delayMs,
    code,
    reason: `HTTP ${status}${code !== undefined ? ` code ${code}` : ""}`,
  };
}

/** The human message of an error body: Kling's `message`, or the shapes gateways use. */
function messageOf(body: unknown): string {
  if (typeof body === "string") return body;
  if (typeof body !== "object" || body === null) return "";
  const { message, error, msg } = body as Record<string, unknown>;
  if (typeof message === "string") return message;
  if (typeof error === "string") return error;
  if (typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string") {
    return (error as { message: string }).message;
  }
  return typeof msg === "string" ? msg : "";
}

/** The first system error code (`ECONNREFUSED`, …) along an error's cause chain. */
function errorCode(error: unknown, depth = 0): string | undefined {
  if (depth > 4 || typeof error !== "object" || error === null) return undefined;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === "string" && code) return code;
  if (Array.isArray(errors))
    for (const inner of errors) {
      const found = errorCode(inner, depth + 1);
      if (found) return found;
    }
  return errorCode(cause, depth + 1);
}

/** True when the cause chain proves the connection was never made (refused, unresolved, unreachable). */
function neverSent(error: unknown, depth = 0): boolean {
  if (depth > 4 || typeof error !== "object" || error === null) return false;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === "string" && NEVER_SENT.has(code)) return true;
  // Happy-eyeballs connects fail with an AggregateError: never sent only if every address failed that way.
  if (Array.isArray(errors) && errors.length > 0 && errors.every((inner) => neverSent(inner, depth + 1))) return true;
  return neverSent(cause, depth + 1);
}

/**
 * The error to keep as `cause`: the original when it is clean, else a copy without what could leak a
 * secret. A custom fetch may throw errors that hold the Request (whose headers carry the key) or echo it.
 */
function cleanCause(value: unknown, redact: (text: string) => string, depth = 0): unknown {
  if (typeof value === "string") return redact(value);
  if (typeof value !== "object" || value === null) return value;
  if (depth > 4 || value instanceof Request || value instanceof Headers || value instanceof Response) return undefined;
  if (!(value instanceof Error)) return isCleanRecord(value, redact) ? value : redact(safeJson(value));
  const error = value as Error & { cause?: unknown; errors?: unknown };
  const cause = "cause" in error ? cleanCause(error.cause, redact, depth + 1) : undefined;
  const errors = Array.isArray(error.errors)
    ? error.errors.map((inner) => cleanCause(inner, redact, depth + 1))
    : undefined;
  const clean =
    redact(error.message) === error.message &&
    redact(String(error.stack)) === String(error.stack) &&
    cause === error.cause &&
    (errors === undefined || errors.every((inner, i) => inner === (error.errors as unknown[])[i])) &&
    isCleanRecord(error, redact, ["message", "stack", "cause", "errors"]);
  if (clean) return error;
  const copy = new Error(redact(error.message), "cause" in error ? { cause } : undefined) as Error &
    Record<string, unknown>;
  copy.name = error.name;
  for (const key of Object.keys(error)) {
    const field = (error as unknown as Record<string, unknown>)[key];
    if (key !== "errors" && (field === null || typeof field !== "object"))
      copy[key] = typeof field === "string" ? redact(field) : field;
  }
  if (errors) copy.errors = errors;
  copy.stack = redact(String(error.stack));
  return copy;
}

/** Own fields are all primitives, and no string among them holds a secret. */
function isCleanRecord(value: object, redact: (text: string) => string, skip: string[] = []): boolean {
  // Symbol keys too: util.inspect shows them, so a key hidden under one would leak there.
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key === "string" && skip.includes(key)) continue;
    let field: unknown;
    try {
      field = (value as Record<PropertyKey, unknown>)[key];
    } catch {
      return false;
    }
    if (typeof field === "function") continue;
    if (field !== null && typeof field === "object") return false;
    if (typeof field === "string" && redact(field) !== field) return false;
  }
  return true;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** HTTP statuses retried when the body carries no known Kling code. */
const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);

/** Largest delay the SDK honours from `Retry-After` / `retry-after-ms`. */
const MAX_RETRY_AFTER_MS = 60_000;

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

/** Where the call stands when its first attempt failed. */
export interface FirstFailure {
  request: Request;
  init: RequestInit | undefined;
  call: CallOptions;
  /** The caller's signals (see `callerSignals` in transport.ts). */
  outer: readonly AbortSignal[];
  outcome: Exclude<Outcome, Answered>;
  /** When the first attempt started (for the debug log). */
  started: number;
}

/**
 * Goes on from a failed first attempt: retries per the retry table (`maxRetries`, backoff or `Retry-After`, the
 * deadline), renews an expired JWT once, and throws the typed error when no retry is left or allowed.
 */
export async function retryAfterFirst(
  parts: TransportParts,
  first: FirstFailure,
  redact: (text: string) => string,
): Promise<Response> {
  const { config, now } = parts;
  const { request, init, call, outer } = first;
  const { authorizer, log } = config;
  const random = config.random ?? Math.random;
  const pause = config.sleep ?? sleep;
  const maxRetries = call.maxRetries ?? config.maxRetries;
  const { deadline, unsafe } = call;
  const context: FailureContext = { redact, now, describe };
  const debug = log.enabled("debug");
  const label = debug ? describe(request) : "";
  let outcome: Outcome = first.outcome;
  let started = first.started;
  let retries = 0;
  let renewed = false;
  let last: KlingError | undefined;

  for (let attempt = 1; ; attempt++) {
    if (outcome.problem === undefined) {
      if (debug) logAnswer(log, request, outcome, started, now);
      return outcome.response;
    }
    const result = failureOf(context, request, outcome);
    const { error } = result;
    if (debug) {
      const api = error as Partial<{ requestId: string }>;
      log.debug(
        `${label} failed in ${now() - started} ms: ${result.reason}` +
          (api.requestId ? ` request_id=${api.requestId}` : ""),
      );
    }
    if (result.ambiguous) markAmbiguous(error);

    const fact = result.code === undefined ? undefined : CODES[result.code];
    if (fact?.renewToken && authorizer.usesJwt && !renewed) {
      // An expired or not-yet-valid token is fixed by signing a new one; this retry is extra to maxRetries.
      renewed = true;
      authorizer.renew();
      if (debug) log.debug(`${label} retrying at once with a new token (code ${result.code})`);
      last = error;
    } else {
      if (!result.retry || (call.passConcurrencyLimit && fact?.concurrencyLimit)) throw error;
      if (unsafe && result.ambiguous) {
        if (debug) log.debug(`${label} not retried: the request may have taken effect (${result.reason})`);
        throw error;
      }
      const delay = nextDelayMs({ retryAfterMs: result.delayMs, code: result.code }, retries, random);
      if (retries >= maxRetries || (deadline !== undefined && now() + delay >= deadline)) {
        // The error itself reaches the caller; a warning as well would say the same thing twice.
        if (debug) log.debug(`${label} gave up after ${attempt} attempt(s): ${error.message}`);
        throw error;
      }
      retries++;
      last = error;
      if (debug) log.debug(`${label} retry ${retries}/${maxRetries} in ${delay} ms: ${result.reason}`);
      await pauseFor(pause, delay, outer);
    }

    for (const signal of outer) if (signal.aborted) throw signal.reason;
    const budget = attemptBudget(config, call, now());
    if (budget <= 0) throw last;
    if (debug) log.debug(`${label} attempt ${attempt + 1}/${maxRetries + 1 + (renewed ? 1 : 0)}`);
    started = debug ? now() : 0;
    outcome = await parts.attempt(request, budget, outer, init, call);
  }
}

/** The typed failure of one attempt's outcome. */
function failureOf(context: FailureContext, request: Request, outcome: Exclude<Outcome, Answered>): Failure {
  switch (outcome.problem) {
    case "timeout":
      return {
        error: new KlingTimeoutError({ kind: "attempt", timeoutMs: outcome.budget, request: describe(request) }),
        retry: true,
        ambiguous: outcome.sent,
        reason: `no answer within ${outcome.budget} ms`,
      };
    case "network":
      return networkFailure(context, request, outcome.error);
    case "unread":
      // A body over the limit is refused; one that broke off while being read is a connection failure.
      return outcome.error instanceof ReadLimitError
        ? tooLargeFailure(context, request, outcome.response, outcome.error)
        : networkFailure(context, request, outcome.error);
    case "answer":
      return answerFailure(context, request, outcome.response, outcome.text, outcome.parsed);
    case "redirect":
      return redirectFailure(context, request, outcome.response, outcome.target);
  }
}

/** The retry sleep, cut short by any of the caller's signals. */
function pauseFor(
  pause: (ms: number, signal?: AbortSignal) => Promise<void>,
  ms: number,
  outer: readonly AbortSignal[],
): Promise<void> {
  return pause(ms, outer.length <= 1 ? outer[0] : anySignal(outer));
}
