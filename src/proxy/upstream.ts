// One call from the proxy to the API: only the headers it chooses, bounded in time and size, answered as parsed JSON or
// a ready error.
import { MAX_ANSWER_BYTES, ReadLimitError, readLimited } from "../read-limited.js";

export interface Upstream {
  /** The server, without a trailing slash. */
  baseUrl: string;
  fetch: (request: Request) => Promise<Response>;
  /** The server's `Authorization` value, when it has credentials. */
  authorization(): Promise<string | undefined>;
}

/** A parsed JSON answer (any status), or why there is none as a status, Kling code and message to send back. */
export type Exchange =
  | { ok: true; status: number; headers: Headers; body: unknown }
  | { ok: false; status: number; code: number; message: string };

export interface ExchangeOptions {
  method: "GET" | "POST";
  /** Path and query after the base URL, already encoded. */
  target: string;
  /** A JSON body (POST). */
  body?: string | undefined;
  /** The caller's `Accept`, the only caller header forwarded besides the proxy's own `Content-Type`. */
  accept?: string | null | undefined;
  /** Aborts the call and the read: the caller leaving, or the proxy's timeout. */
  signal: AbortSignal;
  /** Whether an abort of `signal` came from the timeout (504) rather than the caller (who reads nothing). */
  timedOut: () => boolean;
}

export async function exchange(upstream: Upstream, options: ExchangeOptions): Promise<Exchange> {
  const headers = new Headers({ accept: options.accept || "application/json" });
  if (options.body !== undefined) headers.set("content-type", "application/json");
  const authorization = await upstream.authorization();
  if (authorization) headers.set("authorization", authorization);
  const request = new Request(`${upstream.baseUrl}${options.target}`, {
    method: options.method,
    headers,
    body: options.body ?? null,
    signal: options.signal,
    redirect: "manual",
  });
  let answer: Response;
  let bytes: Uint8Array;
  try {
    answer = await upstream.fetch(request);
    bytes = await readLimited(answer.body, MAX_ANSWER_BYTES, { signal: options.signal });
  } catch (error) {
    if (options.signal.aborted) {
      return options.timedOut()
        ? { ok: false, status: 504, code: 5002, message: "The upstream API did not answer in time." }
        : { ok: false, status: 499, code: 5000, message: "The caller went away." };
    }
    if (error instanceof ReadLimitError)
      return {
        ok: false,
        status: 502,
        code: 5000,
        message: `The upstream API's answer is larger than ${MAX_ANSWER_BYTES} bytes.`,
      };
    // The error's own text may name hosts or tokens; the browser only needs to know it may retry.
    return { ok: false, status: 502, code: 5000, message: "The upstream API could not be reached." };
  }
  const body = parseJson(bytes);
  if (body === undefined) {
    // A gateway's HTML page or plain text: summarised, never copied (it may quote anything, cookies and keys included).
    return {
      ok: false,
      status: answer.status >= 500 ? answer.status : 502,
      code: 5000,
      message: `The upstream API answered HTTP ${answer.status} without Kling's JSON envelope.`,
    };
  }
  return { ok: true, status: answer.status, headers: answer.headers, body };
}

function parseJson(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The upstream's own error, when the answer is one: an error status or a non-zero Kling `code`. */
export function isErrorAnswer(status: number, body: unknown): boolean {
  const code = (body as { code?: unknown }).code;
  return status >= 400 || (typeof code === "number" && code !== 0);
}
