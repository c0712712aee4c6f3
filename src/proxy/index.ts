// `kling-video-to-audio/proxy`: createProxy, the key-safe server proxy between browsers and Kling.
import { createAuthorizer } from "../auth.js";
import { isNotFound, KlingValidationError } from "../errors.js";
import { DEFAULTS, platformFetch, resolveOptions } from "../options.js";
import { ReadLimitError, readLimited } from "../read-limited.js";
import { createRedactor, type Redactor } from "../redact.js";
import { newExternalTaskId } from "../request/create.js";
import { checkCreateInput, checkTaskId, PAGE_NUM_MAX, PAGE_SIZE_MAX } from "../request/input.js";
import { anySignal } from "../request/transport.js";
import { checkCount, checkFunction, isHttpUrl } from "../validate.js";
import {
  checkAllowedOrigins,
  isJsonContentType,
  type Operation,
  operationOf,
  originAllowed,
  pageQueryOf,
  quoted,
} from "./checks.js";
import { toNodeHandler } from "./node.js";
import { browserIdOf, checkBrowserId, createOwnerScope, isBrowserId, storedId } from "./owner.js";
import { type Exchange, exchange, isErrorAnswer, type Upstream } from "./upstream.js";

export type { NodeHandler, NodeRequest, NodeResponse } from "./node.js";
export { MAX_BROWSER_ID_LENGTH } from "./owner.js";
export { toNodeHandler };

/**
 * On every answer: per-user data must never sit in a shared cache, and reflected input must never be sniffed as HTML.
 */
export const SAFE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "application/json",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

/** A JSON answer with the safe headers plus `extra`. */
export function jsonAnswer(status: number, body: unknown, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...extra, ...SAFE_HEADERS } });
}

/** Kling's error envelope (`code`, `message`, `request_id`), so the SDK in the browser maps it like the real API's. */
export function errorEnvelope(code: number, message: string): { code: number; message: string; request_id: string } {
  return { code, message, request_id: globalThis.crypto.randomUUID() };
}

/** The one message for "no such task of yours": an unknown id and another owner's task get exactly this. */
export const TASK_NOT_FOUND = "Task not found.";

/** Who is calling, as your app knows them. */
export interface ProxyCaller {
  /**
   * A stable id of your app's user (the session's user id, not an email that can change); compared exactly as given.
   */
  owner: string;
}

export interface ProxyOptions {
  /** The server's API key, sent upstream as a bearer token. @default env `KLING_V2A_API_KEY`, then `DEERAPI_KEY` */
  apiKey?: string | undefined;
  /** Kling access key, for a JWT signed on the server (with `secretKey`). @default undefined */
  accessKey?: string | undefined;
  /** Kling secret key. @default undefined */
  secretKey?: string | undefined;
  /** Where requests go. @default env `KLING_V2A_BASE_URL`, then `BASE_URLS.deerapi` */
  baseUrl?: string | undefined;
  /**
   * REQUIRED. Your app's check of the caller (session, API token), run first, before the body is read: return
   * `{ owner }` to let the request through as that user, or a falsy value to answer 401 (code 1000). A throw, or an
   * answer without a non-empty string `owner`, answers 500 and sends nothing.
   * @default none: required, `createProxy` throws `KlingValidationError` without it
   */
  authorize: (
    request: Request,
  ) => ProxyCaller | null | undefined | false | Promise<ProxyCaller | null | undefined | false>;
  /**
   * Origins besides the request URL's own that may call (`https://app.example`; exact, no wildcard). @default [] (same
   * origin only)
   */
  allowedOrigins?: readonly string[] | undefined;
  /**
   * Where Kling calls back, chosen by the server: a URL, or one per caller (`undefined`: none). The browser's
   * `callback_url` is always dropped. @default undefined
   */
  callbackUrl?: string | ((caller: ProxyCaller) => string | undefined) | undefined;
  /** The largest create body read, in bytes; a larger one gets 413 and is not read further. @default 16384 */
  maxBodyBytes?: number | undefined;
  /** How long a create body may take to arrive, in ms; then 408. @default 10000 */
  bodyTimeoutMs?: number | undefined;
  /**
   * The limit for the upstream side of one proxied request (every call it makes), in ms; then 504 (code 5002). @default
   * DEFAULTS.timeoutMs (options.ts)
   */
  timeoutMs?: number | undefined;
  /**
   * The most upstream list pages (of 500 tasks) one list request reads to find the caller's tasks. @default
   * DEFAULTS.scanPages (options.ts)
   */
  listScanPages?: number | undefined;
  /**
   * The key of the owner tags inside stored `external_task_id`s (at least 16 characters). Set it so users keep their
   * tasks when you rotate the API key. @default derived from `secretKey`, else `apiKey`
   */
  ownerSecret?: string | undefined;
  /** The upstream transport. @default globalThis.fetch */
  fetch?: ((request: Request) => Promise<Response>) | undefined;
}

export type ProxyHandler = (request: Request) => Promise<Response>;

/** The proxy's defaults; `timeoutMs` is the client's, so one upstream attempt has one limit everywhere. */
export const PROXY_DEFAULTS = {
  maxBodyBytes: 16_384,
  bodyTimeoutMs: 10_000,
  timeoutMs: DEFAULTS.timeoutMs,
  listScanPages: DEFAULTS.scanPages,
  pageNum: 1,
  pageSize: DEFAULTS.pageSize,
} as const;
const COLLECTION = "/v1/audio/video-to-audio";
/** Response headers worth passing back, each only in its expected form. */
const RELAYED_HEADERS: Record<string, RegExp> = {
  "retry-after": /^(?:\d{1,6}|[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT)$/,
  "retry-after-ms": /^\d{1,9}$/,
  "x-request-id": /^[\w.:-]{1,128}$/,
};

/**
 * A `(Request) => Promise<Response>` handler for Next.js route handlers, Hono, Workers and `Deno.serve` (and Node
 * through `toNodeHandler`). Only the API's three operations pass, each checked in this order: route (404, code 1202),
 * Origin (403, code 1103), `authorize` (401, code 1000), media type (415), body size and time (413, 408), body rules
 * (400, code 1201). Tasks are kept per owner; the server's credentials never reach the browser. See docs/proxy.md.
 */
export function createProxy(options: ProxyOptions): ProxyHandler {
  requireAuthorize(options);
  // The client's one reading of credentials, server and timeout (options, then the environment, then defaults).
  const resolved = resolveOptions({
    apiKey: options.apiKey,
    accessKey: options.accessKey,
    secretKey: options.secretKey,
    baseUrl: options.baseUrl,
    timeoutMs: options.timeoutMs,
  });
  const config = checkOptions(options, resolved.timeoutMs);
  const authorizer = createAuthorizer(resolved);
  const redactor = createRedactor([...authorizer.secrets, options.ownerSecret ?? ""]);
  const owners = createOwnerScope(options.ownerSecret ?? resolved.secretKey ?? resolved.apiKey ?? "");
  const upstream: Upstream = {
    baseUrl: resolved.baseUrl,
    fetch: options.fetch ?? platformFetch,
    async authorization() {
      const header = await authorizer.authorization();
      if (header && authorizer.usesJwt) redactor.remember(header.replace(/^Bearer /, ""));
      return header;
    },
  };
  const flow: Flow = { config, upstream, redactor };

  return async (request) => {
    try {
      return await handle(flow, owners.tag, request);
    } catch {
      return reply(flow, 500, errorEnvelope(5000, "The proxy failed."));
    }
  };
}

interface Config {
  authorize: ProxyOptions["authorize"];
  allowedOrigins: ReadonlySet<string>;
  callbackUrl: ProxyOptions["callbackUrl"];
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  timeoutMs: number;
  listScanPages: number;
}

/** What every step of one request needs. */
interface Flow {
  config: Config;
  upstream: Upstream;
  redactor: Redactor;
}

/** One proxied request: the caller's tag and the signal covering its upstream calls. */
interface Call {
  tag: string;
  caller: ProxyCaller;
  accept: string | null;
  signal: AbortSignal;
  timedOut: () => boolean;
}

/** First of all checks, so a proxy without it never comes to exist, whatever else is wrong. */
function requireAuthorize(options: ProxyOptions): void {
  if (typeof options?.authorize !== "function") {
    throw new KlingValidationError(
      "authorize",
      "createProxy needs authorize(request), returning { owner } for a caller it lets in or a falsy value: " +
        "without it anyone who can reach the server uses your Kling account. For an open proxy, say so: " +
        'authorize: () => ({ owner: "public" }).',
    );
  }
}

function checkOptions(options: ProxyOptions, timeoutMs: number): Config {
  const callbackUrl = options.callbackUrl;
  if (typeof callbackUrl === "string") checkCallbackUrl(callbackUrl, "callbackUrl");
  else if (callbackUrl !== undefined && typeof callbackUrl !== "function")
    throw new KlingValidationError("callbackUrl", "callbackUrl must be a URL or a function of the caller.");
  checkFunction(options.fetch, "fetch");
  if (
    options.ownerSecret !== undefined &&
    (typeof options.ownerSecret !== "string" || options.ownerSecret.length < 16)
  ) {
    throw new KlingValidationError(
      "ownerSecret",
      "ownerSecret must be a string of at least 16 characters (random, kept on the server).",
    );
  }
  return {
    authorize: options.authorize,
    allowedOrigins: checkAllowedOrigins(options.allowedOrigins),
    callbackUrl,
    maxBodyBytes: positiveInteger(options.maxBodyBytes, "maxBodyBytes", PROXY_DEFAULTS.maxBodyBytes),
    bodyTimeoutMs: positiveInteger(options.bodyTimeoutMs, "bodyTimeoutMs", PROXY_DEFAULTS.bodyTimeoutMs),
    timeoutMs,
    listScanPages: Math.min(
      positiveInteger(options.listScanPages, "listScanPages", PROXY_DEFAULTS.listScanPages),
      PAGE_NUM_MAX,
    ),
  };
}

/** The option when given (checked as a whole number of at least 1, by the client's own rule), else its default. */
function positiveInteger(value: number | undefined, field: string, fallback: number): number {
  checkCount(value, field, 1);
  return value ?? fallback;
}

/** The spec's http(s) URL rule, through the client's own check (one definition), reported under `field`. */
function checkCallbackUrl(url: string, field: string): string {
  if (!isHttpUrl(url))
    throw new KlingValidationError(
      field,
      `${field} must be an absolute http(s) URL, not ${quoted(JSON.stringify(url))}.`,
    );
  return url;
}

async function handle(flow: Flow, tagOf: (owner: string) => Promise<string>, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const operation = operationOf(request.method, url.pathname);
  if (!operation)
    return fail(
      flow,
      404,
      1202,
      `${request.method} ${quoted(url.pathname)} is not an operation of the Video-to-Audio API.`,
    );
  if (!originAllowed(request.headers, url.origin, flow.config.allowedOrigins)) {
    return fail(
      flow,
      403,
      1103,
      `Cross-origin request refused: Origin ${quoted(originOf(request))} is not this site and not in allowedOrigins.`,
    );
  }
  const caller = await callerOf(flow.config.authorize, request);
  if (caller === "invalid")
    return fail(
      flow,
      500,
      5000,
      "The server's authorize hook failed or returned no owner; it must return { owner: <non-empty string> } or a " +
        "falsy value.",
    );
  if (!caller) return fail(flow, 401, 1000, "Not authorized by this server.");

  const tag = await tagOf(caller.owner);
  if (operation.kind === "create") return create(flow, request, caller, tag);
  let query: { pageNum?: number; pageSize?: number } = {};
  try {
    if (operation.kind === "get") checkTaskId(operation.id);
    else query = pageQueryOf(url.searchParams);
  } catch (error) {
    return invalid(flow, error);
  }
  return withUpstreamCall(flow, request, caller, tag, (call) =>
    operation.kind === "get" ? getTask(flow, call, operation) : listTasks(flow, call, query),
  );
}

async function callerOf(
  authorize: ProxyOptions["authorize"],
  request: Request,
): Promise<ProxyCaller | null | "invalid"> {
  let answer: unknown;
  try {
    answer = await authorize(request);
  } catch {
    return "invalid";
  }
  if (!answer) return null;
  const owner = (answer as { owner?: unknown }).owner;
  return typeof answer === "object" && typeof owner === "string" && owner !== "" ? { owner } : "invalid";
}

/** Runs `work` under one signal: the caller's (they left) and the proxy's timeout, whichever comes first. */
async function withUpstreamCall(
  flow: Flow,
  request: Request,
  caller: ProxyCaller,
  tag: string,
  work: (call: Call) => Promise<Response>,
): Promise<Response> {
  const timeout = AbortSignal.timeout(flow.config.timeoutMs);
  const signal = anySignal([request.signal, timeout]);
  return work({
    tag,
    caller,
    accept: request.headers.get("accept"),
    signal,
    timedOut: () => timeout.aborted && !request.signal.aborted,
  });
}

// ---------------------------------------------------------------------------------------------
// Create
// ---------------------------------------------------------------------------------------------

async function create(flow: Flow, request: Request, caller: ProxyCaller, tag: string): Promise<Response> {
  if (!isJsonContentType(request.headers.get("content-type"))) {
    return fail(flow, 415, 1200, "A create must be sent as Content-Type: application/json.");
  }
  const bytes = await readBody(flow, request);
  if (bytes instanceof Response) return bytes;
  const prepared = upstreamBody(flow, bytes, caller, tag);
  if (prepared instanceof Response) return prepared;
  return withUpstreamCall(flow, request, caller, tag, async (call) => {
    const answer = await exchange(flow.upstream, {
      method: "POST",
      target: COLLECTION,
      body: JSON.stringify(prepared.body),
      ...upstreamOf(call),
    });
    return relay(flow, call, answer, (envelope) => ({
      ...envelope,
      data: createdView(envelope.data, tag, prepared.browserId),
    }));
  });
}

/** The body, never read past `maxBodyBytes` nor waited for past `bodyTimeoutMs`; else the refusal to send. */
async function readBody(flow: Flow, request: Request): Promise<Uint8Array | Response> {
  const { maxBodyBytes, bodyTimeoutMs } = flow.config;
  const tooLarge = () => fail(flow, 413, 1200, `The body is larger than this server takes (${maxBodyBytes} bytes).`);
  if (Number(request.headers.get("content-length") ?? 0) > maxBodyBytes) return tooLarge();
  const bodyTimeout = AbortSignal.timeout(bodyTimeoutMs);
  try {
    return await readLimited(request.body, maxBodyBytes, { signal: anySignal([request.signal, bodyTimeout]) });
  } catch (error) {
    if (error instanceof ReadLimitError) return tooLarge();
    if (bodyTimeout.aborted) return fail(flow, 408, 1200, `The body did not arrive within ${bodyTimeoutMs} ms.`);
    return fail(flow, 400, 1200, "The body could not be read.");
  }
}

/**
 * What goes upstream: the checked input under the caller's stored id, without the browser's callback_url, with the
 * server's.
 */
function upstreamBody(
  flow: Flow,
  bytes: Uint8Array,
  caller: ProxyCaller,
  tag: string,
): { body: Record<string, unknown>; browserId: string } | Response {
  let body: Record<string, unknown>;
  let browserId: string;
  try {
    const input = checkCreateInput(parseBody(bytes)) as Record<string, unknown>;
    browserId = checkBrowserId(
      typeof input.external_task_id === "string" ? input.external_task_id : newExternalTaskId(),
    );
    const { callback_url: _dropped, ...rest } = input;
    body = { ...rest, external_task_id: storedId(tag, browserId) };
  } catch (error) {
    return invalid(flow, error);
  }
  try {
    const callbackUrl = callbackFor(flow.config.callbackUrl, caller);
    if (callbackUrl !== undefined) body.callback_url = callbackUrl;
  } catch {
    return fail(flow, 500, 5000, "The server's callbackUrl gave no valid http(s) URL for this caller.");
  }
  return { body, browserId };
}

function parseBody(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new KlingValidationError("body", "The request body is not valid JSON.");
  }
}

function callbackFor(callbackUrl: ProxyOptions["callbackUrl"], caller: ProxyCaller): string | undefined {
  const url = typeof callbackUrl === "function" ? callbackUrl({ owner: caller.owner }) : callbackUrl;
  return url === undefined || url === "" ? undefined : checkCallbackUrl(url, "callbackUrl");
}

/** The created task as the browser sees it: its own id, never the stored one (gateways that omit task_info stay so). */
function createdView(data: unknown, tag: string, browserId: string): unknown {
  if (!isObject(data) || !isObject(data.task_info) || data.task_info.external_task_id === undefined) return data;
  const owned = browserIdOf(tag, data.task_info.external_task_id) === browserId;
  const { external_task_id: _stored, ...info } = data.task_info;
  return { ...data, task_info: owned ? { ...info, external_task_id: browserId } : info };
}

// ---------------------------------------------------------------------------------------------
// Get and list
// ---------------------------------------------------------------------------------------------

/**
 * A task of the caller's by task_id, else by the caller's own external_task_id. Both lookups run for any id that could
 * be either, so an unknown id and another owner's task cost the same calls and get the same 404.
 */
async function getTask(flow: Flow, call: Call, operation: Extract<Operation, { kind: "get" }>): Promise<Response> {
  const ids = [operation.id];
  if (isBrowserId(operation.id)) ids.push(storedId(call.tag, operation.id));
  for (const id of ids) {
    const answer = await exchange(flow.upstream, {
      method: "GET",
      target: `${COLLECTION}/${encodeURIComponent(id)}`,
      ...upstreamOf(call),
    });
    if (!answer.ok) return relay(flow, call, answer);
    if (isErrorAnswer(answer.status, answer.body)) {
      if (isNotFound(answer.status, (answer.body as { code?: unknown }).code)) continue;
      return relay(flow, call, answer);
    }
    const task = ownView((answer.body as { data?: unknown }).data, call.tag);
    if (task) return relay(flow, call, answer, (envelope) => ({ ...envelope, data: task }));
  }
  return fail(flow, 404, 1203, TASK_NOT_FOUND);
}

/**
 * A page of the caller's tasks. Kling lists the whole account, so the proxy reads upstream pages of 500 (newest
 * first) until it holds `pageNum × pageSize` of the caller's tasks, the account ends, or `listScanPages` are read;
 * a page of the caller's is then cut from them. A short page means the end, as the SDK's iterator expects.
 */
async function listTasks(flow: Flow, call: Call, query: { pageNum?: number; pageSize?: number }): Promise<Response> {
  const pageNum = query.pageNum ?? PROXY_DEFAULTS.pageNum;
  const pageSize = query.pageSize ?? PROXY_DEFAULTS.pageSize;
  const wanted = pageNum * pageSize;
  const mine: unknown[] = [];
  let first: Extract<Exchange, { ok: true }> | undefined;
  for (let page = 1; page <= flow.config.listScanPages && mine.length < wanted; page++) {
    const answer = await exchange(flow.upstream, {
      method: "GET",
      target: `${COLLECTION}?pageNum=${page}&pageSize=${PAGE_SIZE_MAX}`,
      ...upstreamOf(call),
    });
    if (!answer.ok || isErrorAnswer(answer.status, answer.body)) return relay(flow, call, answer);
    first ??= answer;
    const data = (answer.body as { data?: unknown }).data;
    if (data !== undefined && !Array.isArray(data))
      return fail(flow, 502, 5000, "The upstream list answered without a task array.");
    for (const task of data ?? []) {
      const view = ownView(task, call.tag);
      if (view) mine.push(view);
    }
    if ((data ?? []).length < PAGE_SIZE_MAX) break;
  }
  return relay(flow, call, first!, (envelope) => ({ ...envelope, data: mine.slice((pageNum - 1) * pageSize, wanted) }));
}

/** The task as its owner sees it (its own external_task_id), or `undefined` when it is not the caller's. */
function ownView(task: unknown, tag: string): Record<string, unknown> | undefined {
  if (!isObject(task) || !isObject(task.task_info)) return undefined;
  const browserId = browserIdOf(tag, task.task_info.external_task_id);
  if (browserId === undefined) return undefined;
  return { ...task, task_info: { ...task.task_info, external_task_id: browserId } };
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

function upstreamOf(call: Call) {
  return { accept: call.accept, signal: call.signal, timedOut: call.timedOut };
}

/**
 * Sends an upstream answer back: its status, its JSON (transformed for the caller), a few checked headers; every
 * string redacted of the server's credentials and of the caller's own owner tag (an upstream message may quote the
 * stored id).
 */
function relay(
  flow: Flow,
  call: Call,
  answer: Exchange,
  transform?: (envelope: Record<string, unknown>) => unknown,
): Response {
  if (!answer.ok) return fail(flow, answer.status, answer.code, answer.message);
  const body =
    transform && !isErrorAnswer(answer.status, answer.body)
      ? transform(answer.body as Record<string, unknown>)
      : answer.body;
  const headers: Record<string, string> = {};
  for (const [name, form] of Object.entries(RELAYED_HEADERS)) {
    const value = answer.headers.get(name);
    if (value !== null && form.test(value)) headers[name] = flow.redactor.text(value);
  }
  return reply(flow, answer.status, body, headers, `${call.tag}.`);
}

function fail(flow: Flow, status: number, code: number, message: string): Response {
  return reply(flow, status, errorEnvelope(code, message));
}

function invalid(flow: Flow, error: unknown): Response {
  if (error instanceof KlingValidationError)
    return fail(flow, 400, 1201, `Invalid parameter ${error.field}: ${error.message}`);
  throw error;
}

function reply(
  flow: Flow,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  strip?: string,
): Response {
  let safe = flow.redactor.json(body);
  if (strip) safe = JSON.parse(JSON.stringify(safe).split(strip).join(""));
  return jsonAnswer(status, safe, headers);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The request's Origin for a message, or what stands for it when absent. */
function originOf(request: Request): string {
  return request.headers.get("origin") ?? "(none; Sec-Fetch-Site: cross-site)";
}
