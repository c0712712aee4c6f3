// Kling's status callbacks: parse either body dialect into a Task, verify Standard Webhooks signatures, sign for tests.
import {
  type SchemaError,
  validateCallbackEvent,
  validateCallbackPayload,
  validateCallbackTask,
} from "../generated/callback-validator.js";
import type { components } from "../generated/openapi.js";
import { KlingCallbackError, KlingValidationError } from "./errors.js";
import { ReadLimitError, readLimited } from "./read-limited.js";

// The `./callbacks` entry point carries what a webhook handler needs, and nothing of the client.
export { KlingCallbackError, type KlingCallbackErrorReason, KlingError } from "./errors.js";
export type { CallbackPayload, Task } from "./types.js";

type Task = components["schemas"]["Task"];
type CallbackEvent = components["schemas"]["CallbackEvent"];

/** Header values as Node's `IncomingMessage.headers` has them, accepted besides the standard `HeadersInit`. */
export type NodeLikeHeaders = Record<string, string | readonly string[] | undefined>;

/** A received callback: a fetch `Request` (Workers, Deno, Bun, Hono, Next.js), or the raw body and headers. */
export type CallbackRequest = Request | { headers: HeadersInit | NodeLikeHeaders; body: string | Uint8Array };

export interface VerifyCallbackOptions {
  /** The webhook secret from the Kling console (`whsec_…`, or the bare base64). Not the API key. */
  secret: string;
  /**
   * How far `webhook-timestamp` may be from now, in seconds, either way. It narrows the window for replays but does
   * not stop them: a delivery replayed within it carries the same `webhook-id`, so deduplicate on that. @default 300
   */
  toleranceSec?: number;
  /**
   * The most bytes of body read; a larger body (declared by `Content-Length`, or as it streams in) is refused with
   * `body_too_large` without reading the rest. A delivery is a few kB. @default 1048576 (1 MiB)
   */
  maxBodyBytes?: number;
  /** The current time in epoch milliseconds; for tests. @default Date.now */
  now?: () => number;
}

export interface SignCallbackOptions {
  /** The webhook secret (`whsec_…`, or the bare base64). */
  secret: string;
  /** The delivery id (`webhook-id`). @default a random `msg_…` id */
  id?: string;
  /** When the delivery was signed, in Unix seconds (not milliseconds). @default now */
  timestamp?: number;
}

const SECRET_PREFIX = "whsec_";
const DEFAULT_TOLERANCE_SEC = 300;
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const SIGNATURE_HEADERS = ["webhook-id", "webhook-timestamp", "webhook-signature"] as const;
const encoder = new TextEncoder();
// fatal: a body that is not UTF-8 is rejected instead of being parsed with U+FFFD in it.
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Checks a callback body against the spec's `CallbackPayload` and returns it as a task.
 *
 * Kling posts the task object itself (as `getTask` returns it). The console's test button posts a newer
 * dialect (`{id, status, message, create_time, update_time, external_id, outputs, billing}`), which is
 * mapped onto the task fields: `id` → `task_id`, `status` → `task_status` (`succeeded` → `succeed`, other
 * values kept), `message` → `task_status_msg`, `create_time`/`update_time` → `created_at`/`updated_at`,
 * `external_id` → `task_info.external_task_id`. `outputs` and `billing` have no documented shape for this
 * endpoint and are dropped: fetch the task with `getTask` for its results.
 *
 * This does not authenticate the sender; use {@link verifyCallback} when a webhook secret is configured.
 *
 * @param body The raw request body, exactly as received (text or bytes, UTF-8).
 * @throws {KlingCallbackError} `parsed_body` when given anything but a string or bytes, `invalid_json`,
 *   or `invalid_payload` (the message names the first failing field).
 */
export function parseCallback(body: string | Uint8Array): Task {
  let data: unknown;
  try {
    data = JSON.parse(decodeBody(body));
  } catch (error) {
    if (error instanceof KlingCallbackError) throw error;
    throw new KlingCallbackError("invalid_json", `The callback body is not valid JSON (${(error as Error).message}).`, {
      cause: error,
    });
  }
  if (!validateCallbackPayload(data)) {
    throw new KlingCallbackError(
      "invalid_payload",
      `The callback body is neither a Kling task nor a console test event: ${firstFailure(data)}. ` +
        "Check that the callback_url receives only Kling's deliveries.",
    );
  }
  // Both branches may match a body carrying both key sets; the task dialect wins, as it is the one Kling sends.
  if (validateCallbackTask(data)) return data as Task;
  return fromEvent(data as CallbackEvent);
}

/**
 * Verifies a signed callback (Standard Webhooks, as Kling sends when a webhook secret is configured in its
 * console), then parses it with {@link parseCallback}.
 *
 * The signature covers `${webhook-id}.${webhook-timestamp}.${raw body}`, so pass the body exactly as it
 * arrived: JSON that was parsed and serialized again differs in bytes and fails. A `Request` is read once
 * with `arrayBuffer()`. Uses WebCrypto only, so it runs on Node, Deno, Bun, browsers and edge runtimes.
 *
 * Checks, in order: the options (`KlingValidationError`), the secret (`invalid_secret`), the body is raw
 * (`parsed_body`) and at most `maxBodyBytes` (`body_too_large`, the rest left unread), the three headers are present
 * (`missing_headers`), the timestamp is Unix seconds (`invalid_timestamp`) within ±`toleranceSec`
 * (`timestamp_out_of_tolerance`), any `v1` signature matches in constant time (`invalid_signature`; other versions
 * are ignored), then the body (`invalid_json`, `invalid_payload`). The tolerance narrows replays, it does not stop
 * them: a replay within it carries the same `webhook-id`, so deduplicate deliveries on that.
 *
 * @throws {KlingCallbackError} with the `reason` above; answer the sender with a 4xx.
 */
export async function verifyCallback(req: CallbackRequest, options: VerifyCallbackOptions): Promise<Task> {
  const tolerance = checkedNumber(options.toleranceSec, "toleranceSec", DEFAULT_TOLERANCE_SEC, "seconds");
  const maxBodyBytes = checkedNumber(options.maxBodyBytes, "maxBodyBytes", DEFAULT_MAX_BODY_BYTES, "bytes");
  const secret = decodeSecret(options.secret);
  const { headers, body } = await readRequest(req, maxBodyBytes);

  const missing = SIGNATURE_HEADERS.filter((name) => !headers.has(name));
  if (missing.length > 0) {
    throw new KlingCallbackError(
      "missing_headers",
      `The callback has no ${missing.join(", ")} header${missing.length > 1 ? "s" : ""}: it is unsigned. ` +
        "Kling signs deliveries only when a webhook secret is configured in its console; " +
        "use parseCallback for unsigned ones.",
    );
  }
  const [id, timestamp, signatures] = SIGNATURE_HEADERS.map((name) => headers.get(name) ?? "") as [
    string,
    string,
    string,
  ];
  if (!/^[0-9]{1,15}$/.test(timestamp)) {
    throw new KlingCallbackError(
      "invalid_timestamp",
      "The webhook-timestamp header is not a Unix time in whole seconds " +
        `(got ${JSON.stringify(timestamp.slice(0, 40))}).`,
    );
  }

  const nowSec = Math.floor((options.now ?? Date.now)() / 1000);
  const skew = nowSec - Number(timestamp);
  if (Math.abs(skew) > tolerance) {
    throw new KlingCallbackError(
      "timestamp_out_of_tolerance",
      `The callback was signed ${Math.abs(skew)} s ${skew > 0 ? "ago" : "in the future"}, ` +
        `beyond the ${tolerance} s tolerance: ` +
        "a replayed delivery, or a clock out of sync (check NTP on this server).",
    );
  }

  const candidates = parseSignatures(signatures);
  if (candidates.length === 0) {
    throw new KlingCallbackError("invalid_signature", "The webhook-signature header has no v1 signature.");
  }
  const expected = await hmac(secret, signedContent(id, timestamp, body));
  let matched = false;
  for (const candidate of candidates) {
    // Every candidate is compared in full, so timing does not tell which one (if any) matched.
    const equal = timingSafeEqual(expected, candidate);
    matched = matched || equal;
  }
  if (!matched) {
    throw new KlingCallbackError(
      "invalid_signature",
      "No webhook-signature matches the body. Check that the secret is the console's webhook secret " +
        "(not the API key) and that the body is the raw bytes as received, not JSON that was parsed and " +
        "serialized again.",
    );
  }
  return parseCallback(body);
}

/**
 * Produces the Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`) that
 * Kling would send with `body`: for testing a callback endpoint.
 *
 * Async, unlike the synchronous signature in the design notes: WebCrypto's HMAC is async only, and
 * WebCrypto is what lets this run on every runtime.
 *
 * @throws {KlingCallbackError} `invalid_secret` when the secret is not base64 after an optional `whsec_`.
 */
export async function signCallback(
  body: string | Uint8Array,
  options: SignCallbackOptions,
): Promise<Record<string, string>> {
  const secret = decodeSecret(options.secret);
  const id = options.id ?? randomMessageId();
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new KlingValidationError("timestamp", `timestamp must be whole Unix seconds, got ${String(timestamp)}.`);
  }
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const signature = await hmac(secret, signedContent(id, String(timestamp), bytes));
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": `v1,${toBase64(signature)}`,
  };
}

function decodeBody(body: unknown): string {
  if (typeof body === "string") return body;
  const bytes = body instanceof ArrayBuffer ? new Uint8Array(body) : ArrayBuffer.isView(body) ? body : undefined;
  if (bytes === undefined) throw parsedBody(body);
  try {
    return decoder.decode(bytes);
  } catch (error) {
    throw new KlingCallbackError("invalid_json", "The callback body is not UTF-8 text.", { cause: error });
  }
}

function parsedBody(body: unknown): KlingCallbackError {
  const got =
    body === null ? "null" : Array.isArray(body) ? "an array" : typeof body === "object" ? "an object" : typeof body;
  return new KlingCallbackError(
    "parsed_body",
    `A callback needs the raw request body (a string or Uint8Array), but got ${got}. ` +
      "The signature covers the exact bytes Kling sent, which parsed JSON no longer has: read the body as text or " +
      "bytes " +
      '(e.g. express.raw({ type: "application/json" }), or request.arrayBuffer()) before any JSON parser touches it.',
  );
}

function isRawBody(body: unknown): body is string | Uint8Array {
  return typeof body === "string" || body instanceof Uint8Array;
}

/**
 * A numeric option: absent gives `fallback`; anything but a finite, non-negative number is refused, its type shown so
 * that the string "300" is not mistaken for the number 300.
 */
function checkedNumber(value: unknown, field: string, fallback: number, unit: string): number {
  if (value === undefined) return fallback;
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
  const given = typeof value === "number" ? String(value) : `${typeof value} ${JSON.stringify(value) ?? ""}`.trim();
  throw new KlingValidationError(field, `${field} must be a non-negative number of ${unit}, not ${given}.`);
}

async function readRequest(req: CallbackRequest, maxBytes: number): Promise<{ headers: Headers; body: Uint8Array }> {
  // Duck-typed rather than `instanceof Request`: frameworks and polyfills bring their own Request classes.
  if (!isRawBody((req as { body?: unknown }).body) && typeof (req as Request).arrayBuffer === "function") {
    const request = req as Request;
    if (request.bodyUsed) {
      throw new KlingCallbackError(
        "parsed_body",
        "The request body was already read (e.g. by request.json()), so its raw bytes are gone. " +
          "Pass the Request before reading it, or pass { headers, body } with the raw body.",
      );
    }
    return { headers: request.headers, body: await readBodyLimited(request, maxBytes) };
  }
  const { headers, body } = req as { headers: HeadersInit | NodeLikeHeaders; body: unknown };
  if (!isRawBody(body)) throw parsedBody(body);
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  if (bytes.byteLength > maxBytes) throw bodyTooLarge(maxBytes, bytes.byteLength);
  return { headers: toHeaders(headers), body: bytes };
}

/** The Request's body, refused unread past `maxBytes` when its Content-Length says so, else as soon as it passes. */
async function readBodyLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await request.body?.cancel().catch(() => {});
    throw bodyTooLarge(maxBytes, declared);
  }
  try {
    return await readLimited(request.body, maxBytes);
  } catch (error) {
    if (error instanceof ReadLimitError) throw bodyTooLarge(maxBytes);
    throw error;
  }
}

function bodyTooLarge(maxBytes: number, size?: number): KlingCallbackError {
  return new KlingCallbackError(
    "body_too_large",
    `The callback body is ${size === undefined ? "larger than" : `${size} bytes, over`} maxBodyBytes (${maxBytes}); ` +
      "a Kling delivery is a few kB. The rest was not read.",
  );
}

function toHeaders(init: HeadersInit | NodeLikeHeaders): Headers {
  if (init instanceof Headers || Array.isArray(init) || init === null || typeof init !== "object")
    return new Headers(init as HeadersInit);
  // Node's IncomingMessage.headers may hold arrays (repeated headers) and undefined values.
  const headers = new Headers();
  for (const [name, value] of Object.entries(init as NodeLikeHeaders)) {
    if (value === undefined) continue;
    if (typeof value === "string") headers.append(name, value);
    else for (const item of value) headers.append(name, item);
  }
  return headers;
}

/** The `v1` signatures of a `webhook-signature` header, decoded; other versions and malformed entries are ignored. */
function parseSignatures(header: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  // Space-separated per the standard; a trailing comma appears when a proxy joined repeated headers with ", ".
  for (const entry of header.split(" ")) {
    const token = entry.replace(/,+$/, "");
    const comma = token.indexOf(",");
    if (comma < 0 || token.slice(0, comma) !== "v1") continue;
    const bytes = fromBase64(token.slice(comma + 1));
    if (bytes !== undefined) out.push(bytes);
  }
  return out;
}

function decodeSecret(secret: string): Uint8Array<ArrayBuffer> {
  const encoded =
    typeof secret === "string" && secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const bytes = typeof encoded === "string" && encoded.length > 0 ? fromBase64(encoded) : undefined;
  if (bytes === undefined || bytes.length === 0) {
    // Never echo the secret: this message ends up in logs.
    throw new KlingCallbackError(
      "invalid_secret",
      "The webhook secret is not valid base64 after its optional whsec_ prefix. Copy it again from the Kling " +
        "console's " +
        "webhook settings (it is not the API key).",
    );
  }
  return bytes;
}

function signedContent(id: string, timestamp: string, body: Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix = encoder.encode(`${id}.${timestamp}.`);
  const content = new Uint8Array(prefix.length + body.length);
  content.set(prefix, 0);
  content.set(body, prefix.length);
  return content;
}

async function hmac(secret: Uint8Array<ArrayBuffer>, content: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, content));
}

/** Compares in time that depends only on the lengths, which are public (32 bytes for SHA-256). */
function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return undefined;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function randomMessageId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `msg_${Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

function fromEvent(event: CallbackEvent): Task {
  const task: Task = {
    task_id: event.id,
    // Other statuses are kept as sent: callers treat unknown statuses as still running.
    task_status: (event.status === "succeeded" ? "succeed" : event.status) as Task["task_status"],
  };
  if (event.message !== undefined) task.task_status_msg = event.message;
  if (event.create_time !== undefined) task.created_at = event.create_time;
  if (event.update_time !== undefined) task.updated_at = event.update_time;
  if (event.external_id !== undefined) task.task_info = { external_task_id: event.external_id };
  return task;
}

/** The first schema failure of the dialect the body most looks like, as `field message`. */
function firstFailure(data: unknown): string {
  const record =
    data !== null && typeof data === "object" && !Array.isArray(data) ? (data as Record<string, unknown>) : undefined;
  const looksLikeEvent =
    record !== undefined && !("task_id" in record || "task_status" in record) && ("id" in record || "status" in record);
  const validate = looksLikeEvent ? validateCallbackEvent : validateCallbackTask;
  validate(data);
  const error: SchemaError | undefined = validate.errors?.[0];
  if (error === undefined) return "it matches no schema";
  const allowed = error.params.allowedValues;
  const suffix = Array.isArray(allowed) ? ` (${allowed.map((value) => JSON.stringify(value)).join(", ")})` : "";
  return `${fieldName(error.instancePath)} ${error.message ?? "is invalid"}${suffix}`;
}

/** `/task_result/audios/0/url_mp3` → `task_result.audios[0].url_mp3`; the root is "the body". */
function fieldName(pointer: string): string {
  if (pointer === "") return "the body";
  return pointer
    .slice(1)
    .split("/")
    .map((segment) => segment.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce(
      (path, segment) => (/^[0-9]+$/.test(segment) ? `${path}[${segment}]` : path ? `${path}.${segment}` : segment),
      "",
    );
}
