// Callback deliveries: POSTs each status change to the task's callback_url, signed (Standard Webhooks) when a secret is set, retried with backoff, bounded.
import { randomBytes } from "node:crypto";
import http from "node:http";
import https from "node:https";
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
}

export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [500, 1000, 2000, 4000];
const DEFAULT_TIMEOUT_MS = 3000;
const USER_AGENT = "kling-video-to-audio-mock";

export interface Deliverer {
  /** Queues one delivery; deliveries of the same task go out one after another, in order. */
  send(taskId: string, status: string, url: string, body: string): void;
  readonly records: readonly Delivery[];
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
  const stop = new AbortController();
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

  async function attempt(delivery: Delivery): Promise<boolean> {
    const started = Date.now();
    const entry: DeliveryAttempt = { at: started, ms: 0 };
    delivery.attempts.push(entry);
    const headers: Record<string, string> = { "content-type": "application/json", "user-agent": USER_AGENT };
    // Re-signed on every attempt (a fresh timestamp), keeping its webhook-id, as Standard Webhooks senders do.
    if (options.secret !== undefined)
      Object.assign(headers, await signCallback(delivery.body, { secret: options.secret, id: delivery.id }));
    else headers["webhook-id"] = delivery.id;
    try {
      entry.status = await post(delivery.url, headers, delivery.body, timeoutMs, stop.signal);
    } catch (error) {
      entry.error = describeFailure(error, timeoutMs);
    }
    entry.ms = Date.now() - started;
    const ok = entry.status !== undefined && entry.status >= 200 && entry.status < 300;
    const try_ = `attempt ${delivery.attempts.length}/${delays.length + 1}`;
    options.log?.(
      `callback ${delivery.status} of task ${delivery.taskId} → ${safeUrl(delivery.url)}: ${entry.status ?? entry.error} (${try_}, ${entry.ms} ms${delivery.signed ? ", signed" : ""})`,
    );
    return ok;
  }

  async function deliver(delivery: Delivery): Promise<void> {
    for (let index = 0; ; index++) {
      if (stop.signal.aborted) return settle(delivery, "dropped");
      if (await attempt(delivery)) return settle(delivery, "delivered");
      const delay = delays[index];
      if (delay === undefined) return settle(delivery, "failed");
      if (!(await sleep(delay, stop.signal))) return settle(delivery, "dropped");
    }
  }

  return {
    records,
    send(taskId, status, url, body) {
      const delivery: Delivery = {
        id: `msg_${randomBytes(12).toString("hex")}`,
        taskId,
        status,
        url,
        body,
        signed: options.secret !== undefined,
        attempts: [],
        outcome: "pending",
      };
      record(delivery);
      if (stop.signal.aborted || pending >= maxPending) {
        options.log?.(`callback ${status} of task ${taskId} dropped: ${pending} deliveries already pending`);
        return settle(delivery, "dropped");
      }
      pending++;
      const previous = chains.get(taskId) ?? Promise.resolve();
      const next = previous
        .then(() => deliver(delivery))
        .finally(() => {
          pending--;
          if (chains.get(taskId) === next) chains.delete(taskId);
        });
      chains.set(taskId, next);
    },
    async close() {
      stop.abort();
      await Promise.allSettled([...chains.values()]);
    },
  };
}

/**
 * One POST with node:http(s) (not fetch, whose "bad ports" list would refuse e.g. :6000), resolving the status. The
 * answer's body is discarded as it arrives: only the status counts, and a huge or endless body must not hold us,
 * so the whole exchange (not each socket event) is bounded by `timeoutMs`.
 */
function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const client = target.protocol === "https:" ? https : http;
    const payload = Buffer.from(body);
    const request = client.request(
      target,
      { method: "POST", headers: { ...headers, "content-length": payload.length }, agent: false },
      (response) => {
        resolve(response.statusCode ?? 0);
        response.resume();
        response.on("error", () => {});
      },
    );
    const timer = setTimeout(
      () => request.destroy(Object.assign(new Error("timeout"), { name: "TimeoutError" })),
      timeoutMs,
    );
    const onAbort = () => request.destroy(Object.assign(new Error("aborted"), { name: "AbortError" }));
    signal.addEventListener("abort", onAbort, { once: true });
    request.on("close", () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    });
    request.on("error", reject);
    request.end(payload);
  });
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
