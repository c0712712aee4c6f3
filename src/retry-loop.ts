// The rest of a call after its first attempt failed: the failure typed, the retry table applied, JWT renewal, backoff.
import { CODES } from "../generated/facts.js";
import {
  answerFailure,
  type Failure,
  type FailureContext,
  networkFailure,
  tooLargeFailure,
} from "./attempt-failure.js";
import type { KlingError } from "./errors/kling-error.js";
import { KlingTimeoutError } from "./errors/timeout-error.js";
import { ReadLimitError } from "./read-limited.js";
import { backoffDelayMs } from "./retry.js";
import { sleep } from "./sleep.js";
import {
  type Answered,
  attemptBudget,
  type CallOptions,
  describe,
  logAnswer,
  type Outcome,
  type TransportParts,
} from "./transport-parts.js";

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
export async function retryAfterFirst(parts: TransportParts, first: FirstFailure): Promise<Response> {
  const { config, now } = parts;
  const { request, init, call, outer } = first;
  const { authorizer, log } = config;
  const random = config.random ?? Math.random;
  const pause = config.sleep ?? sleep;
  const maxRetries = call.maxRetries ?? config.maxRetries;
  const { deadline, unsafe } = call;
  const context: FailureContext = { redact: log.redact, now, describe };
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
    if (result.ambiguous) ambiguousFailures.add(error);

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
      const delay = result.delayMs ?? backoffDelayMs(retries, result.code, random);
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
      return answerFailure(context, request, outcome.response, outcome.text, outcome.code);
  }
}

/** The retry sleep, cut short by any of the caller's signals. */
async function pauseFor(
  pause: (ms: number, signal?: AbortSignal) => Promise<void>,
  ms: number,
  outer: readonly AbortSignal[],
): Promise<void> {
  if (outer.length <= 1) return pause(ms, outer[0]);
  const controller = new AbortController();
  const unfollow = follow(outer, (reason) => controller.abort(reason));
  try {
    await pause(ms, controller.signal);
  } finally {
    unfollow();
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
