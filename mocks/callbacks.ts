// Callback deliveries: POSTs each status change to the task's callback_url, signed (Standard Webhooks) when a secret
// is set, retried with backoff, bounded. How one POST is made is the adapter's (fetch, or node:http on the server).
import { signCallback } from "../src/callbacks.js";
import type { Delivery, DeliveryAttempt } from "./types.js";

export interface DelivererOptions {
  /** @default undefined (unsigned) */
  secret?: string | undefined;
  /** @default 3000 */
  timeoutMs?: number | undefined;
  /** @default [500, 1000, 2000, 4000] */
  retryDelaysMs?: readonly number[] | undefined;
  /** Deliveries waiting or in flight at most; beyond it new ones are dropped (and recorded as such). @default 1000 */
  maxPending?: number;
  /** Delivery records kept for `deliveries`, the latest. @default 1000 */
  maxRecords?: number;
  /** @default none */
  onDelivery?: ((delivery: Delivery) => void) | undefined;
  /** One line per attempt. @default none */
  log?: ((line: string) => void) | undefined;
  /** Makes one POST and resolves the receiver's status. @default {@link fetchPost} */
  post?: PostCallback;
}

/** One delivery attempt's POST: resolves the status; the whole exchange ends by `timeoutMs` or when `signal` aborts. */
export type PostCallback = (
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  signal: AbortSignal,
) => Promise<number>;

const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [500, 1000, 2000, 4000];
const DEFAULT_TIMEOUT_MS = 3000;
const USER_AGENT = "kling-video-to-audio-mock";

export interface Deliverer {
  /** Queues one delivery; deliveries of the same task go out one after another, in order. */
  send(taskId: string, status: string, url: string, body: string): void;
  readonly records: readonly Delivery[];
  /** Drops what is queued or in flight (recorded `dropped`) and forgets every record; new deliveries go out again. */
  reset(): void;
  /** Aborts attempts in flight and waits, marks what was still queued `dropped`. */
  close(): Promise<void>;
}

export function createDeliverer(options: DelivererOptions = {}): Deliverer {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const maxPending = options.maxPending ?? 1000;
  const maxRecords = options.maxRecords ?? 1000;
  const records: Delivery[] = [];
  /** The tail of each task's chain: the next delivery of that task starts after it. */
  const chains = new Map<string, Promise<void>>();
  const post = options.post ?? fetchPost;
  let stop = new AbortController();
  let closed = false;
  let pending = 0;

  function record(delivery: Delivery): void {
    records.push(delivery);
    if (records.length > maxRecords) records.splice(0, records.length - maxRecords);
  }

  function settle(delivery: Delivery, outcome: Delivery["outcome"]): void {
    delivery.outcome = outcome;
    try {
      options.onDelivery?.(delivery);
    } catch {
      // A throwing observer must not stop the deliveries.
    }
  }

  async function attempt(delivery: Delivery, signal: AbortSignal): Promise<boolean> {
    const started = Date.now();
    const entry: DeliveryAttempt = { at: started, ms: 0 };
    delivery.attempts.push(entry);
    const headers: Record<string, string> = { "content-type": "application/json", "user-agent": USER_AGENT };
    // Re-signed on every attempt (a fresh timestamp), keeping its webhook-id, as Standard Webhooks senders do.
    if (options.secret !== undefined)
      Object.assign(headers, await signCallback(delivery.body, { secret: options.secret, id: delivery.id }));
    else headers["webhook-id"] = delivery.id;
    try {
      entry.status = await post(delivery.url, headers, delivery.body, timeoutMs, signal);
    } catch (error) {
      entry.error = describeFailure(error, timeoutMs);
    }
    entry.ms = Date.now() - started;
    const ok = entry.status !== undefined && entry.status >= 200 && entry.status < 300;
    const try_ = `attempt ${delivery.attempts.length}/${delays.length + 1}`;
    options.log?.(
      `callback ${delivery.status} of task ${delivery.taskId} → ${safeUrl(delivery.url)}: ` +
        `${entry.status ?? entry.error} (${try_}, ${entry.ms} ms${delivery.signed ? ", signed" : ""})`,
    );
    return ok;
  }

  async function deliver(delivery: Delivery, signal: AbortSignal): Promise<void> {
    for (let index = 0; ; index++) {
      if (signal.aborted) return settle(delivery, "dropped");
      if (await attempt(delivery, signal)) return settle(delivery, "delivered");
      const delay = delays[index];
      if (delay === undefined) return settle(delivery, "failed");
      if (!(await sleep(delay, signal))) return settle(delivery, "dropped");
    }
  }

  return {
    records,
    send(taskId, status, url, body) {
      const delivery = newDelivery(taskId, status, url, body, options.secret !== undefined);
      record(delivery);
      if (closed || pending >= maxPending) {
        options.log?.(`callback ${status} of task ${taskId} dropped: ${pending} deliveries already pending`);
        return settle(delivery, "dropped");
      }
      pending++;
      const previous = chains.get(taskId) ?? Promise.resolve();
      const signal = stop.signal;
      const next = previous
        .then(() => deliver(delivery, signal))
        .finally(() => {
          pending--;
          if (chains.get(taskId) === next) chains.delete(taskId);
        });
      chains.set(taskId, next);
    },
    reset() {
      stop.abort();
      stop = new AbortController();
      records.length = 0;
    },
    async close() {
      closed = true;
      stop.abort();
      await Promise.allSettled([...chains.values()]);
    },
  };
}

/** One POST with fetch, the status resolved and the answer's body cancelled unread (only the status counts). */
async function fetchPost(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<number> {
  const timeout = new AbortController();
  const timer = setTimeout(
    () => timeout.abort(Object.assign(new Error("timeout"), { name: "TimeoutError" })),
    timeoutMs,
  );
  const onAbort = () => timeout.abort(Object.assign(new Error("aborted"), { name: "AbortError" }));
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const response = await globalThis.fetch(url, { method: "POST", headers, body, signal: timeout.signal });
    // Not awaited: under an interceptor (MSW) a cancel may wait on the network, and only the status counts.
    response.body?.cancel().catch(() => {});
    return response.status;
  } catch (error) {
    throw timeout.signal.aborted ? timeout.signal.reason : error;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}

/** A delivery's record before its first attempt; its id is the `webhook-id` every attempt carries. */
function newDelivery(taskId: string, status: string, url: string, body: string, signed: boolean): Delivery {
  return { id: `msg_${randomHex(12)}`, taskId, status, url, body, signed, attempts: [], outcome: "pending" };
}

function randomHex(bytes: number): string {
  return [...globalThis.crypto.getRandomValues(new Uint8Array(bytes))]
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("");
}

/** Resolves true after `ms`, or false at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function describeFailure(error: unknown, timeoutMs: number): string {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === "TimeoutError") return `no answer within ${timeoutMs} ms`;
  if (name === "AbortError") return "cancelled (mock closing)";
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : error instanceof Error ? error.message : String(error);
}

/** The URL without its query and credentials: a callback URL may carry a token, which must not reach a log. */
function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}${parsed.search ? "?…" : ""}`;
  } catch {
    return "(invalid URL)";
  }
}
