// What the transport's success path (transport.ts) and its retry loop (retry-loop.ts) share: the options, one attempt's outcome.
import type { Authorizer } from "./auth.js";
import type { Log } from "./logger.js";

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

/** What one attempt came to: the answer on success, else what went wrong, still raw (retry-loop.ts types it). */
export type Outcome =
  | Answered
  | { problem: "timeout"; budget: number; sent: boolean }
  | { problem: "network"; error: unknown }
  /** The body could not be read: over the limit (`ReadLimitError`), or the connection broke off. */
  | { problem: "unread"; response: Response; error: unknown }
  | { problem: "answer"; response: Response; text: string; code: number | undefined };

/** What the retry loop takes over from the transport after a failed first attempt. */
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
    `${describe(request)} answered ${outcome.response.status} code=${outcome.code ?? "-"} request_id=${outcome.requestId ?? "-"} in ${now() - started} ms`,
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
