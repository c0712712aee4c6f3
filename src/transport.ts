// The fetch under openapi-fetch: auth header, per-attempt timeout, the answer read and checked; failures to retry-loop.ts.
import { MAX_ANSWER_BYTES, readBoundedText } from "./bounded-body.js";
import { KlingTimeoutError } from "./errors/timeout-error.js";
import { retryAfterFirst } from "./retry-loop.js";
import {
  attemptBudget,
  type CallOptions,
  describe,
  logAnswer,
  type Outcome,
  type TransportConfig,
  type TransportFetch,
  type TransportParts,
} from "./transport-parts.js";

export type { CallOptions, TransportConfig, TransportFetch } from "./transport-parts.js";

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
    return retryAfterFirst(parts, { request, init, call, outer, outcome, started });
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
    const response = await config.fetch(copy, init ? { ...init, signal } : { signal });
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
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return { problem: "answer", response, text, code: undefined };
    }
    const envelope =
      typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
    const code = codeOf(envelope?.code);
    if (status >= 200 && status < 300 && !code) {
      const requestId = typeof envelope?.request_id === "string" ? envelope.request_id : undefined;
      return { response: answered(response, text, body, call.jsonOnly === true), code, requestId };
    }
    return { problem: "answer", response, text, code };
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

  end(): void {
    clearTimeout(this.#timer);
    for (const signal of this.#outer) signal.removeEventListener("abort", this);
  }
}

function timeUp(attempt: Attempt): void {
  attempt.timedOut = true;
  attempt.abort();
}

/** A Kling code as a number; gateways sometimes send it as a numeric string. `undefined` when absent. */
function codeOf(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string" && /^\d+$/.test(value)) return Number(value);
  return undefined;
}
