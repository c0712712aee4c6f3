// The fetch under openapi-fetch: auth, per-attempt timeout, redirects, the bounded read, and when a failure is tried
// again (backoff, Retry-After, sleep); a failed attempt's typed error and retries load with the first failure.

import { CODES } from "../../generated/facts.js";
import type { Authorizer } from "../auth.js";
import { KlingApiError, KlingConnectionError, KlingError, KlingTimeoutError } from "../errors.js";
import { MAX_ANSWER_BYTES, readBoundedText } from "../read-limited.js";
import type { Log } from "../redact.js";
import type { retryAfterFirst } from "./failure.js";

/**
 * A fetch as openapi-fetch calls it: the Request, plus its `requestInitExt` (e.g. an undici dispatcher).
 * The transport passes each attempt's `signal` in `init`; forward `init` (`(r, init) => globalThis.fetch(r, init)`)
 * so a timeout or abort also cancels the connection. A fetch that drops it still cannot hold a call past its
 * limits (the transport races it), but the abandoned request then runs on in the background.
 */
export type TransportFetch = (request: Request, init?: RequestInit) => Promise<Response>;

export interface TransportConfig {
  /** Sends one request; must already be safe to call unbound (the client wraps `globalThis.fetch`). */
  fetch: TransportFetch;
  /**
   * `fetch` is the platform's: it rejects, and fails the body, as soon as the `signal` in its init aborts, and its
   * request (socket, lookup) keeps the process alive while in flight. Attempts then need no race against their
   * abort, and their timers no hold on the process. Leave unset for a user-supplied fetch. @default false
   */
  platformFetch?: boolean | undefined;
  /** Supplies the `Authorization` header per attempt, so a renewed JWT is used on retry. */
  authorizer: Authorizer;
  /** The redacting log (see `createLog`); its redaction is asked for with the first failed attempt. */
  log: Log;
  /**
   * Loads the failure path (request/failure.ts), given by whoever makes the transport so that this file, which a
   * call that succeeds needs alone, never refers to it at run time. Called on the first failed attempt.
   */
  loadFailurePath: () => Promise<{ retryAfterFirst: typeof retryAfterFirst }>;
  /** Limit for one HTTP attempt, in ms, unless a call gives its own. The client passes its default, 30 000. */
  timeoutMs: number;
  /** Retries after the first attempt, unless a call gives its own. The client passes its default, 2. */
  maxRetries: number;
  /** Jitter source for backoff. @default Math.random */
  random?: () => number;
  /** Clock for deadlines, `Retry-After` dates and logged durations, in epoch ms. @default Date.now */
  now?: () => number;
  /**
   * @internal For tests: replaces the retry sleep so delays can be recorded without waiting. Must honour
   * the signal like `sleep` does.
   * @default sleep (from sleep.ts)
   */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface CallOptions {
  /** Aborts the call: the current attempt or retry sleep rejects at once with `signal.reason`. @default undefined */
  signal?: AbortSignal | undefined;
  /** Limit for one HTTP attempt, in ms. @default TransportConfig.timeoutMs */
  timeoutMs?: number | undefined;
  /** Retries after the first attempt. @default TransportConfig.maxRetries */
  maxRetries?: number | undefined;
  /**
   * Absolute epoch ms: no attempt runs and no retry sleep lasts past it; then the last error is thrown, or a
   * `KlingTimeoutError` if there was none. @default undefined (no deadline)
   */
  deadline?: number | undefined;
  /**
   * For creates: failures after which the request may have taken effect (see `isAmbiguousFailure`) are
   * thrown at once instead of retried, so the caller can look the task up before sending it again.
   * @default false
   */
  unsafe?: boolean | undefined;
  /**
   * A 1303 answer (the account's task limit) is thrown at once instead of retried: the caller handles the account's
   * limit itself (a batch waits for a slot, a queue worker backs the queue off). @default false
   */
  passConcurrencyLimit?: boolean | undefined;
  /**
   * The Request's own `signal` never aborts: the caller's signal, if any, is `signal` above (the client's methods
   * build their Requests so), and listening to the Request's costs time on every attempt. Raw calls leave this
   * unset, so `raw.GET(path, { signal })` still aborts. @default false
   */
  ignoreRequestSignal?: boolean | undefined;
  /**
   * The caller reads the answer with `json()` or `text()` only (the client's methods): it then gets the fetched
   * Response itself, with those two answering from the body already read, instead of a new Response. @default false
   */
  jsonOnly?: boolean | undefined;
}

/** An attempt that succeeded: the answer for openapi-fetch, and what the log line reports. */
export interface Answered {
  problem?: undefined;
  response: Response;
  code?: number | undefined;
  requestId?: string | undefined;
}

/** What one attempt came to: the answer on success, else what went wrong, still raw (failure.ts types it). */
export type Outcome =
  | Answered
  | { problem: "timeout"; budget: number; sent: boolean }
  | { problem: "network"; error: unknown }
  /** The body could not be read: over the limit (`ReadLimitError`), or the connection broke off. */
  | { problem: "unread"; response: Response; error: unknown }
  | { problem: "answer"; response: Response; text: string; parsed: ParsedAnswer }
  /** A redirect that is not followed: to another origin (`target`), without a readable target, or one too many. */
  | { problem: "redirect"; response: Response; target: string | undefined };

/** What the retry loop (failure.ts) takes over from the transport after a failed first attempt. */
export interface TransportParts {
  config: TransportConfig;
  /** One attempt, as the first one ran. */
  attempt(
    request: Request,
    budget: number,
    outer: readonly AbortSignal[],
    init: RequestInit | undefined,
    call: CallOptions,
  ): Promise<Outcome>;
  now(): number;
}

/**
 * How long the next attempt of a call may take: the call's (or the transport's) `timeoutMs`, cut to what is left
 * before the call's deadline; 0 once the deadline has passed (the caller then throws instead of trying).
 */
export function attemptBudget(config: TransportConfig, call: CallOptions, now: number): number {
  const budget = call.timeoutMs ?? config.timeoutMs;
  return call.deadline === undefined ? budget : Math.max(0, Math.min(budget, call.deadline - now));
}

/** The debug line of an answered attempt. */
export function logAnswer(log: Log, request: Request, outcome: Answered, started: number, now: () => number): void {
  log.debug(
    `${describe(request)} answered ${outcome.response.status} code=${outcome.code ?? "-"} ` +
      `request_id=${outcome.requestId ?? "-"} in ${now() - started} ms`,
  );
}

/** `METHOD /path` for logs and messages: the path only, never the query, headers or key. */
export function describe(request: Request): string {
  try {
    return `${request.method} ${new URL(request.url).pathname}`;
  } catch {
    return request.method;
  }
}

/**
 * The transport: given per-call options, a `fetch` for openapi-fetch (`raw.GET(path, { fetch })`) that authorizes,
 * times out, retries per the retry table and turns every failure into a `KlingError`. Its answer to openapi-fetch is
 * a Response over the already-read body (see `answered`).
 */
export function createTransport(config: TransportConfig): (call?: CallOptions) => TransportFetch {
  const { authorizer, log } = config;
  const now = config.now ?? Date.now;
  const platform = config.platformFetch ?? false;
  const parts: TransportParts = { config, attempt: tryOnce, now };

  return (call = {}) =>
    (request, init) =>
      run(request, init, call);

  async function run(request: Request, init: RequestInit | undefined, call: CallOptions): Promise<Response> {
    const outer = callerSignals(request, call);
    for (const signal of outer) if (signal.aborted) throw signal.reason;
    const budget = attemptBudget(config, call, now());
    if (budget <= 0) throw new KlingTimeoutError({ kind: "wait", request: describe(request) });
    const debug = log.enabled("debug");
    if (debug) log.debug(`${describe(request)} attempt 1/${(call.maxRetries ?? config.maxRetries) + 1}`);
    const started = debug ? now() : 0;
    const outcome = await tryOnce(request, budget, outer, init, call);
    if (outcome.problem === undefined) {
      if (debug) logAnswer(log, request, outcome, started, now);
      return outcome.response;
    }
    const [failurePath, redact] = await loadFailurePath(config, request);
    return failurePath.retryAfterFirst(parts, { request, init, call, outer, outcome, started }, redact);
  }

  /** One attempt; throws only the caller's abort reason (or a local error such as a failed JWT signing). */
  async function tryOnce(
    request: Request,
    budget: number,
    outer: readonly AbortSignal[],
    init: RequestInit | undefined,
    call: CallOptions,
  ): Promise<Outcome> {
    const attempt = new Attempt(outer, budget, platform);
    try {
      // A fetch that may ignore its signal is raced against the abort, so it cannot hold the call past an abort or
      // timeout; the platform's fetch needs no race (nor the promise and closures it costs on every call).
      return await (platform
        ? send(request, init, call, attempt)
        : Promise.race([send(request, init, call, attempt), attempt.stopped()]));
    } catch (error) {
      if (attempt.timedOut) return { problem: "timeout", budget, sent: attempt.sent };
      const { signal } = attempt.controller;
      if (signal.aborted) throw signal.reason;
      // Signing the token or copying the request failed: a local problem that no retry fixes.
      if (!attempt.sent) throw error;
      return { problem: "network", error };
    } finally {
      attempt.end();
    }
  }

  async function send(
    request: Request,
    init: RequestInit | undefined,
    call: CallOptions,
    attempt: Attempt,
  ): Promise<Outcome> {
    const authorization = authorizer.usesJwt ? await authorizer.authorization() : authorizer.header;
    const signal = attempt.controller.signal;
    // Aborted or timed out while signing: nothing was sent (unraced, this attempt would otherwise go on to fetch).
    signal.throwIfAborted();
    // Requests with a body send a copy, so the original stays unread for the next attempt.
    const copy = request.body ? request.clone() : request;
    if (authorization) copy.headers.set("Authorization", authorization);
    attempt.sent = true;
    // The signal goes in `init` rather than a new Request: constructing one costs more than the rest of the transport.
    // Redirects are followed here, not by fetch, so that one to another origin is refused rather than sent the body.
    const sendInit: RequestInit = init ? { ...init, signal, redirect: "manual" } : { signal, redirect: "manual" };
    let response = await config.fetch(copy, sendInit);
    // A create the server has answered exists and is billed: its answer (bounded, and by the attempt's timer) is read
    // even if the caller aborts now, so the task reaches the caller (run's onProgress) before the abort does.
    if (call.unsafe) attempt.detachCaller();
    // A Location is relative to the URL that answered it, hop after hop; the origin stays the request's.
    const origin = isRedirect(response) ? new URL(copy.url).origin : "";
    for (let hops = 0, from = copy.url; isRedirect(response); hops++) {
      const target = redirectTarget(from, response);
      await response.body?.cancel();
      if (target?.origin !== origin || hops >= MAX_REDIRECTS)
        return { problem: "redirect", response, target: target?.origin };
      from = target.href;
      response = await config.fetch(await redirected(request, copy, response.status, from), sendInit);
    }
    let text: string;
    try {
      text = await readBoundedText(response, MAX_ANSWER_BYTES, platform);
    } catch (error) {
      if (signal.aborted) throw error;
      return { problem: "unread", response, error };
    }
    const { status } = response;
    // Null-body statuses: nothing to check, and nothing for openapi-fetch to read.
    if (status === 204 || status === 205) return { response };
    const parsed = parseAnswer(text);
    if (parsed.json && status >= 200 && status < 300 && !parsed.code) {
      const { body, code, requestId } = parsed;
      return { response: answered(response, text, body, call.jsonOnly === true), code, requestId };
    }
    return { problem: "answer", response, text, parsed };
  }
}

/**
 * The failure path and the log's redaction, loaded with the first failed attempt. Where they cannot load (a page that
 * went offline cannot fetch their chunks), the call fails with a connection error that says so.
 */
async function loadFailurePath(config: TransportConfig, request: Request) {
  try {
    return await Promise.all([config.loadFailurePath(), config.log.redaction()]);
  } catch (error) {
    // Whether the server acted is not known without that code: a create is looked up before it is sent again.
    throw markAmbiguous(
      new KlingConnectionError(
        `${describe(request)} failed, and the code that reports and retries failures could not load ` +
          `(${error instanceof Error ? error.message : String(error)}). Check the network connection.`,
      ),
    );
  }
}

/**
 * The answer for openapi-fetch, whose body the transport has read. For the client's own methods (`jsonOnly`), which
 * read it with `json()` or `text()` only, the answer itself with those two answering from what was read: a new
 * Response per call would cost more than the rest of the transport. For raw calls, which may read it any way
 * (`parseAs: "blob"`, `"stream"`…), a standard Response over the text.
 */
function answered(response: Response, text: string, parsed: unknown, jsonOnly: boolean): Response {
  if (jsonOnly) {
    try {
      let first: unknown = parsed;
      // The first json() gets the transport's parse (nobody else holds it); later ones parse afresh.
      response.json = async () => {
        const value = first ?? JSON.parse(text);
        first = undefined;
        return value;
      };
      response.text = async () => text;
      return response;
    } catch {
      // A frozen Response (a polyfill): fall through to a new one.
    }
  }
  return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
}

const NO_SIGNALS: readonly AbortSignal[] = [];

/** The signals the caller may abort a call with: the call options' and the Request's (raw.GET(path, { signal })). */
function callerSignals(request: Request, call: CallOptions): readonly AbortSignal[] {
  const { signal } = call;
  // Polyfilled Requests may have no signal at all.
  const own = call.ignoreRequestSignal || !request.signal || request.signal === signal ? undefined : request.signal;
  if (signal) return own ? [signal, own] : [signal];
  return own ? [own] : NO_SIGNALS;
}

/**
 * One HTTP attempt's cancellation: an AbortController for the fetch, aborted by the caller's signals (with their
 * reason) or by the attempt's timer. The object is its own abort listener, so an attempt allocates no closures.
 */
class Attempt {
  readonly controller = new AbortController();
  timedOut = false;
  /** The request went to `fetch`, so the server may have seen it. */
  sent = false;
  readonly #outer: readonly AbortSignal[];
  readonly #timer: ReturnType<typeof setTimeout>;
  #reject: ((reason: unknown) => void) | undefined;

  /** `platformFetch`: see TransportConfig; the timer is then unref'd (where timers have `unref`). */
  constructor(outer: readonly AbortSignal[], budget: number, platformFetch: boolean) {
    this.#outer = outer;
    for (const signal of outer) {
      if (signal.aborted) this.abort(signal.reason);
      else signal.addEventListener("abort", this);
    }
    this.#timer = setTimeout(timeUp, budget, this);
    // The platform's request holds the process open until it ends, so the timer need not: a ref'd timer costs the
    // event loop a ref-count toggle per attempt, more than the timer itself (about 4 µs per call on loopback).
    if (platformFetch) (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Rejects with the abort reason once the attempt is aborted or times out. */
  stopped(): Promise<never> {
    return new Promise((_, reject) => {
      const { signal } = this.controller;
      if (signal.aborted) reject(signal.reason);
      else this.#reject = reject;
    });
  }

  abort(reason?: unknown): void {
    this.controller.abort(reason);
    this.#reject?.(this.controller.signal.reason);
  }

  /** An abort of one of the caller's signals. */
  handleEvent(event: Event): void {
    this.abort((event.target as AbortSignal).reason);
  }

  /** Stops following the caller's signals; the attempt's own timer still bounds it. */
  detachCaller(): void {
    for (const signal of this.#outer) signal.removeEventListener("abort", this);
  }

  end(): void {
    clearTimeout(this.#timer);
    this.detachCaller();
  }
}

function timeUp(attempt: Attempt): void {
  attempt.timedOut = true;
  attempt.abort();
}

/**
 * Whether `error` came from a failure after which the request may have reached the server and taken
 * effect: a network error other than a refused or unresolved connection, an attempt timeout, a 5xx, or a
 * 2xx whose body was not JSON. After such a failure a create must be looked up (by its
 * `external_task_id`) before it is sent again.
 */
export function isAmbiguousFailure(error: unknown): boolean {
  return error instanceof KlingError && error.ambiguous === true;
}

/** Marks `error` as coming from such a failure (a field that JSON and the console leave out). */
export function markAmbiguous<E extends KlingError>(error: E): E {
  return Object.defineProperty(error, "ambiguous", { value: true, enumerable: false });
}

/** Same-origin redirects followed per attempt, at most. */
const MAX_REDIRECTS = 5;

function isRedirect(response: Response): boolean {
  // A browser hides a manual redirect's status and target (an "opaqueredirect" with status 0).
  return response.type === "opaqueredirect" || [301, 302, 303, 307, 308].includes(response.status);
}

/** Where a redirect points; `undefined` when it hides its target (a browser's opaque redirect) or names none. */
function redirectTarget(from: string, response: Response): URL | undefined {
  const location = response.headers.get("location");
  if (location === null) return undefined;
  try {
    return new URL(location, from);
  } catch {
    return undefined;
  }
}

/** The request a redirect asks for: 303, and 301/302 after a POST, become a GET without body (as fetch does). */
async function redirected(original: Request, sent: Request, status: number, target: string): Promise<Request> {
  const toGet = status === 303 || ((status === 301 || status === 302) && original.method === "POST");
  const method = toGet && original.method !== "HEAD" ? "GET" : original.method;
  const body = method === original.method && original.body ? await original.clone().arrayBuffer() : undefined;
  return new Request(target, { method, headers: sent.headers, body });
}

/** An answer's body, parsed once by the transport: the JSON with Kling's envelope fields, or why it is not JSON. */
export type ParsedAnswer =
  | { json: true; body: unknown; code: number | undefined; requestId: string | undefined }
  | { json: false; syntax: unknown };

/**
 * Parses an answer's text: the JSON, its Kling `code` (a number, or a numeric string from gateways) and `request_id`.
 */
function parseAnswer(text: string): ParsedAnswer {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (syntax) {
    return { json: false, syntax };
  }
  const envelope =
    typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  const requestId = typeof envelope?.request_id === "string" ? envelope.request_id : undefined;
  return { json: true, body, code: codeOf(envelope?.code), requestId };
}

/** A Kling code as a number; gateways sometimes send it as a numeric string. `undefined` when absent. */
function codeOf(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string" && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// When to try again: the rules the transport's retries, waits, batches and queue workers share
// ---------------------------------------------------------------------------------------------------------------

/** Cap of the exponential backoff. */
const MAX_BACKOFF_MS = 8_000;

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
