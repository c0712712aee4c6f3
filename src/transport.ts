// The retrying fetch under openapi-fetch: auth header, per-attempt timeout, typed errors, the retry table and safe creates.
import { CODES } from "../generated/facts.js";
import type { Authorizer } from "./auth.js";
import { AnswerTooLargeError, MAX_ANSWER_BYTES, readBoundedText } from "./bounded-body.js";
import type { Failure, FailureContext } from "./attempt-failure.js";
import type { KlingError } from "./errors/kling-error.js";
import { KlingTimeoutError } from "./errors/timeout-error.js";
import type { Log } from "./logger.js";
import { backoffDelayMs, sleep } from "./retry.js";

/** The failure module, loaded on the first failed attempt: calls that succeed never parse it. */
let failureModule: Promise<typeof import("./attempt-failure.js")> | undefined;
const failures = () => (failureModule ??= import("./attempt-failure.js"));

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
  /** The redacting log (see `createLog`). */
  log: Log;
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
   * @default sleep (from retry.ts)
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
}

/** An attempt that succeeded: the answer for openapi-fetch, and what the log line reports. */
interface Success {
  response: Response;
  code?: number | undefined;
  requestId?: string | undefined;
}

const ambiguousFailures = new WeakSet<object>();

/**
 * Whether `error` came from a failure after which the request may have reached the server and taken
 * effect: a network error other than a refused or unresolved connection, an attempt timeout, a 5xx, or a
 * 2xx whose body was not JSON. After such a failure a create must be looked up (by its
 * `external_task_id`) before it is sent again.
 */
export function isAmbiguousFailure(error: unknown): boolean {
  return typeof error === "object" && error !== null && ambiguousFailures.has(error);
}

/**
 * The transport: given per-call options, a `fetch` for openapi-fetch (`raw.GET(path, { fetch })`) that
 * authorizes, times out, retries per the retry table and turns every failure into a `KlingError`.
 * A 2xx with code 0 comes back as a fresh `Response` over the already-read body, for openapi-fetch to parse.
 */
export function createTransport(config: TransportConfig): (call?: CallOptions) => TransportFetch {
  const { authorizer, log } = config;
  const random = config.random ?? Math.random;
  const now = config.now ?? Date.now;
  const pause = config.sleep ?? sleep;
  const platform = config.platformFetch ?? false;
  const context: FailureContext = { redact: log.redact, now, describe };

  return (call = {}) =>
    (request, init) =>
      run(request, init, call);

  async function run(request: Request, init: RequestInit | undefined, call: CallOptions): Promise<Response> {
    const maxRetries = call.maxRetries ?? config.maxRetries;
    const timeoutMs = call.timeoutMs ?? config.timeoutMs;
    const { deadline, unsafe } = call;
    const outer = callerSignals(request, call);
    const debug = log.enabled("debug");
    const label = debug ? describe(request) : "";
    let retries = 0;
    let renewed = false;
    let last: KlingError | undefined;

    for (let attempt = 1; ; attempt++) {
      for (const signal of outer) if (signal.aborted) throw signal.reason;
      let budget = timeoutMs;
      if (deadline !== undefined) {
        const left = deadline - now();
        if (left <= 0) throw last ?? new KlingTimeoutError({ kind: "wait", request: describe(request) });
        budget = Math.min(budget, left);
      }
      if (debug) log.debug(`${label} attempt ${attempt}/${maxRetries + 1 + (renewed ? 1 : 0)}`);
      const started = debug ? now() : 0;

      const result = await once(request, budget, outer, init);
      if ("response" in result) {
        if (debug) {
          log.debug(`${label} answered ${result.response.status} code=${result.code ?? "-"} request_id=${result.requestId ?? "-"} in ${now() - started} ms`);
        }
        return result.response;
      }

      const { error } = result;
      if (debug) {
        const api = error as Partial<{ status: number; code: number; requestId: string }>;
        log.debug(
          `${label} failed in ${now() - started} ms: ${result.reason}` +
            (api.requestId ? ` request_id=${api.requestId}` : ""),
        );
      }
      if (result.ambiguous) ambiguousFailures.add(error);

      const fact = result.code === undefined ? undefined : CODES[result.code];
      if (fact?.renewToken && authorizer.usesJwt && !renewed) {
        // An expired or not-yet-valid token is fixed by signing a new one; this retry is extra to maxRetries.
        renewed = true;
        authorizer.renew();
        if (debug) log.debug(`${label} retrying at once with a new token (code ${result.code})`);
        last = error;
        continue;
      }
      if (!result.retry || (call.passConcurrencyLimit && fact?.concurrencyLimit)) throw error;
      if (unsafe && result.ambiguous) {
        if (debug) log.debug(`${label} not retried: the request may have taken effect (${result.reason})`);
        throw error;
      }
      const delay = result.delayMs ?? backoffDelayMs(retries, result.code, random);
      if (retries >= maxRetries || (deadline !== undefined && now() + delay >= deadline)) {
        // The error itself reaches the caller; a warning as well would say the same thing twice.
        if (debug) log.debug(`${label} gave up after ${attempt} attempt(s): ${error.message}`);
        throw error;
      }
      retries++;
      last = error;
      if (debug) log.debug(`${label} retry ${retries}/${maxRetries} in ${delay} ms: ${result.reason}`);
      await pauseFor(delay, outer);
    }
  }

  async function pauseFor(ms: number, outer: readonly AbortSignal[]): Promise<void> {
    if (outer.length <= 1) return pause(ms, outer[0]);
    const controller = new AbortController();
    const unfollow = follow(outer, (reason) => controller.abort(reason));
    try {
      await pause(ms, controller.signal);
    } finally {
      unfollow();
    }
  }

  /** One attempt: the answer on success, a Failure otherwise; throws only the caller's abort reason (or a local error). */
  async function once(request: Request, budget: number, outer: readonly AbortSignal[], init: RequestInit | undefined): Promise<Success | Failure> {
    const attempt = new Attempt(outer, budget, platform);
    try {
      // A fetch that may ignore its signal is raced against the abort, so it cannot hold the call past an abort or
      // timeout; the platform's fetch needs no race (nor the promise and closures it costs on every call).
      return await (platform ? send(request, init, attempt) : Promise.race([send(request, init, attempt), attempt.stopped()]));
    } catch (error) {
      if (attempt.timedOut) {
        return {
          error: new KlingTimeoutError({ kind: "attempt", timeoutMs: budget, request: describe(request) }),
          retry: true,
          ambiguous: attempt.sent,
          reason: `no answer within ${budget} ms`,
        };
      }
      const { signal } = attempt.controller;
      if (signal.aborted) throw signal.reason;
      // Signing the token or copying the request failed: a local problem that no retry fixes.
      if (!attempt.sent) throw error;
      return (await failures()).networkFailure(context, request, error);
    } finally {
      attempt.end();
    }
  }

  async function send(request: Request, init: RequestInit | undefined, attempt: Attempt): Promise<Success | Failure> {
    const authorization = await authorizer.authorization();
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
      if (error instanceof AnswerTooLargeError) return (await failures()).tooLargeFailure(context, request, response, error);
      throw error;
    }
    const { status, statusText, headers } = response;
    // Null-body statuses: nothing to check, and `new Response(text)` would throw for them.
    if (status === 204 || status === 205) return { response: new Response(null, { status, statusText, headers }) };
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return (await failures()).answerFailure(context, request, response, text, undefined);
    }
    const envelope = typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
    const code = codeOf(envelope?.code);
    if (status >= 200 && status < 300 && !code) {
      const requestId = typeof envelope?.request_id === "string" ? envelope.request_id : undefined;
      return { response: new (bufferedResponseClass())(text, { status, statusText, headers }, body), code, requestId };
    }
    return (await failures()).answerFailure(context, request, response, text, code);
  }


}

/**
 * A Response over a body the transport has already read. openapi-fetch reads only `text()` / `json()`, which
 * answer from the buffer; the body stream is built only if something asks for it, because building one per
 * answer (and reading it again) costs more than the rest of the transport. Reads can be repeated.
 * The class is made on first use: touching `Response` at import time loads Node's bundled undici (tens of ms),
 * which openapi-fetch itself puts off until the first request. It keeps the answer's own `headers` rather than a
 * copy (copying them costs as much again); `clone()` copies them.
 */
type BufferedResponseClass = new (text: string, init: BufferedInit, parsed?: unknown) => Response;
type BufferedInit = { status: number; statusText: string; headers: Headers };
let bufferedResponse: BufferedResponseClass | undefined;

function bufferedResponseClass(): BufferedResponseClass {
  if (bufferedResponse) return bufferedResponse;
  class Buffered extends Response {
    readonly #text: string;
    /** The transport's parse of the text, handed to the first `json()` call (nobody else holds it) to spare a second parse. */
    #parsed: unknown;
    #full: Response | undefined;
    readonly #headers: Headers;

    constructor(text: string, { status, statusText, headers }: BufferedInit, parsed?: unknown) {
      super(null, { status, statusText });
      this.#text = text;
      this.#parsed = parsed;
      this.#headers = headers;
    }

    override get headers(): Headers {
      return this.#headers;
    }

    /** A standard Response over the same text, for the rarer readers. */
    #fresh(): Response {
      return new Response(this.#text, { status: this.status, statusText: this.statusText, headers: this.headers });
    }

    // One stream per response, as the standard has it; `bodyUsed` follows it.
    override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
      this.#full ??= this.#fresh();
      return this.#full.body;
    }

    override get bodyUsed(): boolean {
      return this.#full?.bodyUsed ?? false;
    }

    override async text(): Promise<string> {
      return this.#text;
    }

    override async json(): Promise<any> {
      const parsed = this.#parsed;
      if (parsed === undefined) return JSON.parse(this.#text);
      this.#parsed = undefined;
      return parsed;
    }

    override arrayBuffer(): Promise<ArrayBuffer> {
      return this.#fresh().arrayBuffer();
    }

    override bytes(): Promise<Uint8Array<ArrayBuffer>> {
      return this.#fresh().bytes();
    }

    override blob(): Promise<Blob> {
      return this.#fresh().blob();
    }

    override formData(): Promise<FormData> {
      return this.#fresh().formData();
    }

    override clone(): Response {
      return new Buffered(this.#text, { status: this.status, statusText: this.statusText, headers: new Headers(this.#headers) });
    }
  }
  bufferedResponse = Buffered;
  return Buffered;
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

/** `METHOD /path` for logs and messages: the path only, never the query, headers or key. */
function describe(request: Request): string {
  try {
    return `${request.method} ${new URL(request.url).pathname}`;
  } catch {
    return request.method;
  }
}

/** Calls `abort` with the reason of whichever of `signals` aborts first; returns the cleanup. */
function follow(signals: readonly AbortSignal[], abort: (reason: unknown) => void): () => void {
  const listener = (event: Event) => abort((event.target as AbortSignal).reason);
  for (const signal of signals) {
    if (signal.aborted) abort(signal.reason);
    else signal.addEventListener("abort", listener, { once: true });
  }
  return () => {
    for (const signal of signals) signal.removeEventListener("abort", listener);
  };
}

/** A Kling code as a number; gateways sometimes send it as a numeric string. `undefined` when absent. */
function codeOf(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string" && /^\d+$/.test(value)) return Number(value);
  return undefined;
}
