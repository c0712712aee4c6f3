// The lifecycle mock: a thin node:http layer in front of Prism that remembers created tasks and steers Prism (via `Prefer`) so polling sees them progress.
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type RunningPrism, startPrism } from "./prism.js";

export type MockTaskStatus = "submitted" | "processing" | "succeed" | "failed";

export interface MockOptions {
  /** Port of the mock; 0 picks a free one. @default 0 */
  port?: number;
  /** Interface to listen on. @default "127.0.0.1" */
  host?: string;
  /** Put the lifecycle layer in front of Prism; false serves plain Prism (every answer is a static example). @default true */
  lifecycle?: boolean;
  /** How long a created task stays `submitted`. @default 2000 */
  submittedMs?: number;
  /** How long it then stays `processing` before it ends `succeed` (or `failed`). @default 4000 */
  processingMs?: number;
  /** Log one line per request (and the lifecycle decision) to stderr; with `lifecycle: false`, Prism's own log. @default false */
  verbose?: boolean;
  /** The clock, in Unix milliseconds; inject one in tests to move tasks along without sleeping. @default Date.now */
  now?: () => number;
  /** Tasks remembered at most; beyond it the oldest are forgotten (and then answer 404 like any unknown id). @default 10000 */
  maxTasks?: number;
  /** Where verbose lines go. @default a line on stderr */
  log?: (line: string) => void;
}

export interface RunningMock {
  /** `http://host:port`, without a trailing slash. */
  url: string;
  /** Stops the layer and Prism; drops keep-alive connections so the port is free when it resolves. */
  close(): Promise<void>;
}

/** What the mock remembers of a create request. */
interface MockTask {
  id: string;
  createdAt: number;
  externalTaskId?: string;
  videoId?: string;
  videoUrl?: string;
  /** Whether the task ends `failed` (a "fail" marker in an id, the URL or a prompt). */
  fails: boolean;
}

type Json = Record<string, unknown>;

const CREATE_PATH = "/v1/audio/video-to-audio";
const TASK_PATH = /^\/v1\/audio\/video-to-audio\/([^/]+)$/;
/** Prism's own ways to pick an answer from the query string; like a `Prefer` header, they mean "the caller decides". */
const PRISM_QUERY_KEYS = new Set(["__example", "__code", "__dynamic"]);
/** Headers about one connection: the layer has its own connection to each side. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "expect", "content-length"]);
/** Kling's list defaults (kling-api.md §4), used when the query leaves them out. */
const DEFAULT_PAGE_NUM = 1;
const DEFAULT_PAGE_SIZE = 30;
const FAIL_MARKER = /fail/i;
/**
 * Task ids grow with the clock from the id of Kling's published sample (kling-api.md §3, created 2024-08-04), 4096
 * per millisecond: 18-digit numeric strings like Kling's, never the spec's example id, and a restarted mock does not
 * hand out an id a frontend remembers from an earlier run.
 */
const ID_BASE = 866_889_456_698_785_798n;
const ID_BASE_MS = 1_722_769_557_708n;

/**
 * Starts Prism on a free internal port and, unless `lifecycle` is false, the lifecycle layer in front of it.
 *
 * Created tasks answer `submitted`, then `processing` after `submittedMs`, then `succeed` after another
 * `processingMs` (`failed` when the create's `video_id`, `video_url`, a prompt or `external_task_id` contains
 * "fail"). Unknown task ids answer 404 with code 1203. A caller's `Prefer` header (or `__example`/`__code`/`__dynamic`
 * query) always wins: such requests pass through to Prism untouched. Prism validates every request and produces
 * every body; the layer only picks the example and patches ids and timestamps into it.
 */
export async function startMock(options: MockOptions = {}): Promise<RunningMock> {
  const host = options.host ?? "127.0.0.1";
  if (options.lifecycle === false) {
    return startPrism({ port: options.port ?? 0, host, verbose: options.verbose ?? false });
  }
  const prism = await startPrism({ port: 0, host: "127.0.0.1" });
  try {
    return await startLayer(prism, { ...options, host });
  } catch (error) {
    await prism.close();
    throw error;
  }
}

async function startLayer(prism: RunningPrism, options: MockOptions & { host: string }): Promise<RunningMock> {
  const now = options.now ?? Date.now;
  const submittedMs = options.submittedMs ?? 2000;
  const processingMs = options.processingMs ?? 4000;
  const maxTasks = Math.max(1, options.maxTasks ?? 10_000);
  const log = options.verbose ? (options.log ?? ((line: string) => process.stderr.write(`${line}\n`))) : undefined;
  const upstream = new URL(prism.url);
  const agent = new http.Agent({ keepAlive: true });
  /** Insertion order is creation order: the first key is the oldest task. */
  const tasks = new Map<string, MockTask>();
  /** One getTask answer per status, fetched from Prism on first use, as the shape of list items. */
  const templates = new Map<MockTaskStatus, Json>();
  let lastId = ID_BASE;

  function nextTaskId(at: number): string {
    const fromClock = ID_BASE + (BigInt(Math.trunc(at)) - ID_BASE_MS) * 4096n;
    lastId = fromClock > lastId ? fromClock : lastId + 1n;
    return lastId.toString();
  }

  function stateOf(task: MockTask, at: number): { status: MockTaskStatus; updatedAt: number } {
    const processingAt = task.createdAt + submittedMs;
    const endAt = processingAt + processingMs;
    if (at < processingAt) return { status: "submitted", updatedAt: task.createdAt };
    if (at < endAt) return { status: "processing", updatedAt: processingAt };
    return { status: task.fails ? "failed" : "succeed", updatedAt: endAt };
  }

  function remember(task: MockTask): void {
    tasks.set(task.id, task);
    while (tasks.size > maxTasks) {
      const oldest = tasks.keys().next().value;
      if (oldest === undefined) break;
      tasks.delete(oldest);
    }
  }

  function request(method: string, path: string, headers: http.OutgoingHttpHeaders, body: Buffer): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const out = http.request({ protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, method, path, headers, agent }, resolve);
      out.on("error", reject);
      out.end(body.length > 0 ? body : undefined);
    });
  }

  async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
    return Buffer.concat(chunks);
  }

  function forwardedHeaders(req: http.IncomingMessage, body: Buffer, prefer?: string): http.OutgoingHttpHeaders {
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    // The body was read whole, so its length is known; a chunked upload becomes a plain one.
    if (body.length > 0 || req.headers["content-length"] !== undefined) headers["content-length"] = body.length;
    if (prefer !== undefined) headers.prefer = prefer;
    return headers;
  }

  function responseHeaders(upstreamRes: http.IncomingMessage): http.OutgoingHttpHeaders {
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(upstreamRes.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    return headers;
  }

  /** Streams Prism's answer back as it is (status, headers including CORS, body). */
  function pipeBack(upstreamRes: http.IncomingMessage, res: http.ServerResponse): void {
    const headers = responseHeaders(upstreamRes);
    if (upstreamRes.headers["content-length"] !== undefined) headers["content-length"] = upstreamRes.headers["content-length"];
    res.writeHead(upstreamRes.statusCode ?? 502, headers);
    upstreamRes.pipe(res);
  }

  /** Sends a buffered answer of Prism's, with a body the layer may have rewritten. */
  function sendBack(upstreamRes: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
    const headers = responseHeaders(upstreamRes);
    headers["content-length"] = body.length;
    res.writeHead(upstreamRes.statusCode ?? 502, headers);
    res.end(body);
  }

  /** A success envelope of Prism's, or undefined when the answer is anything else (an error, a validation failure). */
  function successEnvelope(upstreamRes: http.IncomingMessage, body: Buffer): Json | undefined {
    if (upstreamRes.statusCode !== 200 || !String(upstreamRes.headers["content-type"] ?? "").includes("json")) return undefined;
    try {
      const parsed: unknown = JSON.parse(body.toString("utf8"));
      return isObject(parsed) && parsed.code === 0 ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  /** Prism's example task, made into this task: its id everywhere (result URLs too), its inputs, its timestamps. */
  function shape(example: Json, task: MockTask, updatedAt: number): Json {
    const exampleId = typeof example.task_id === "string" && example.task_id !== "" ? example.task_id : undefined;
    const data = (exampleId ? replaceInStrings(example, exampleId, task.id) : structuredClone(example)) as Json;
    data.task_id = task.id;
    if (isObject(data.task_info)) {
      const info = data.task_info;
      if (task.externalTaskId !== undefined) info.external_task_id = task.externalTaskId;
      else delete info.external_task_id;
      if (isObject(info.parent_video)) {
        info.parent_video.id = task.videoId ?? "";
        if (task.videoUrl !== undefined) info.parent_video.url = task.videoUrl;
      }
      if (Object.keys(info).length === 0) delete data.task_info;
    }
    data.created_at = task.createdAt;
    data.updated_at = updatedAt;
    return data;
  }

  async function template(status: MockTaskStatus, authorization: string | undefined): Promise<Json | undefined> {
    const cached = templates.get(status);
    if (cached) return cached;
    const headers: http.OutgoingHttpHeaders = { prefer: `example=${status}`, accept: "application/json" };
    if (authorization !== undefined) headers.authorization = authorization;
    const upstreamRes = await request("GET", `${CREATE_PATH}/template`, headers, Buffer.alloc(0));
    const envelope = successEnvelope(upstreamRes, await readAll(upstreamRes));
    // Only a success is kept: a refused token now must not spoil the lists of later callers.
    if (isObject(envelope?.data)) templates.set(status, envelope.data);
    return isObject(envelope?.data) ? envelope.data : undefined;
  }

  async function handleCreate(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, path: string): Promise<string> {
    // Asked for by name so that Prism's answer has the full Kling shape whatever the order of the examples.
    const upstreamRes = await request("POST", path, forwardedHeaders(req, body, "example=submitted"), body);
    const answer = await readAll(upstreamRes);
    const envelope = successEnvelope(upstreamRes, answer);
    const input = parseJson(body);
    if (!envelope || !isObject(envelope.data) || !input) {
      sendBack(upstreamRes, answer, res);
      return `→ ${upstreamRes.statusCode} (passed through)${violations(upstreamRes)}`;
    }
    const createdAt = now();
    const task: MockTask = {
      id: nextTaskId(createdAt),
      createdAt,
      externalTaskId: stringField(input, "external_task_id"),
      videoId: stringField(input, "video_id"),
      videoUrl: stringField(input, "video_url"),
      fails: ["video_id", "video_url", "sound_effect_prompt", "bgm_prompt", "external_task_id"].some((key) =>
        FAIL_MARKER.test(stringField(input, key) ?? ""),
      ),
    };
    remember(task);
    envelope.data = shape(envelope.data, task, createdAt);
    if (typeof envelope.request_id === "string") envelope.request_id = randomUUID();
    sendBack(upstreamRes, Buffer.from(JSON.stringify(envelope)), res);
    return `→ 200 created task ${task.id}${task.fails ? " (will fail)" : ""}`;
  }

  async function handleGet(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, path: string, taskId: string): Promise<string> {
    const task = tasks.get(taskId);
    if (!task) {
      const upstreamRes = await request("GET", path, forwardedHeaders(req, body, "code=404, example=1203_task_not_found"), body);
      pipeBack(upstreamRes, res);
      return `→ ${upstreamRes.statusCode} (unknown task)`;
    }
    const { status, updatedAt } = stateOf(task, now());
    const upstreamRes = await request("GET", path, forwardedHeaders(req, body, `example=${status}`), body);
    const answer = await readAll(upstreamRes);
    const envelope = successEnvelope(upstreamRes, answer);
    if (!envelope || !isObject(envelope.data)) {
      sendBack(upstreamRes, answer, res);
      return `→ ${upstreamRes.statusCode} (passed through)${violations(upstreamRes)}`;
    }
    envelope.data = shape(envelope.data, task, updatedAt);
    if (typeof envelope.request_id === "string") envelope.request_id = randomUUID();
    sendBack(upstreamRes, Buffer.from(JSON.stringify(envelope)), res);
    return `→ 200 ${status}`;
  }

  async function handleList(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, path: string, query: URLSearchParams): Promise<string> {
    // Prism answers the empty page: it still checks the token and pageNum/pageSize, and supplies the envelope.
    const upstreamRes = await request("GET", path, forwardedHeaders(req, body, "example=empty"), body);
    const answer = await readAll(upstreamRes);
    const envelope = successEnvelope(upstreamRes, answer);
    if (!envelope || !Array.isArray(envelope.data)) {
      sendBack(upstreamRes, answer, res);
      return `→ ${upstreamRes.statusCode} (passed through)${violations(upstreamRes)}`;
    }
    const pageNum = intParam(query, "pagenum", DEFAULT_PAGE_NUM);
    const pageSize = intParam(query, "pagesize", DEFAULT_PAGE_SIZE);
    const newestFirst = [...tasks.values()].reverse();
    const page = newestFirst.slice((pageNum - 1) * pageSize, pageNum * pageSize);
    const at = now();
    const authorization = req.headers.authorization;
    envelope.data = await Promise.all(
      page.map(async (task) => {
        const { status, updatedAt } = stateOf(task, at);
        const example = (await template(status, authorization)) ?? { task_id: task.id, task_status: status, task_status_msg: "", task_info: {} };
        return shape(example, task, updatedAt);
      }),
    );
    if (typeof envelope.request_id === "string") envelope.request_id = randomUUID();
    sendBack(upstreamRes, Buffer.from(JSON.stringify(envelope)), res);
    return `→ 200 ${page.length} of ${tasks.size} tasks`;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<string> {
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    const url = new URL(path, "http://mock.invalid");
    const body = await readAll(req);
    const callerChooses =
      req.headers.prefer !== undefined || [...url.searchParams.keys()].some((key) => PRISM_QUERY_KEYS.has(key.toLowerCase()));
    if (!callerChooses) {
      if (method === "POST" && url.pathname === CREATE_PATH) return handleCreate(req, res, body, path);
      if (method === "GET" && url.pathname === CREATE_PATH) return handleList(req, res, body, path, url.searchParams);
      const match = method === "GET" ? TASK_PATH.exec(url.pathname) : null;
      const taskId = match?.[1] !== undefined ? safeDecode(match[1]) : undefined;
      if (taskId !== undefined) return handleGet(req, res, body, path, taskId);
    }
    const upstreamRes = await request(method, path, forwardedHeaders(req, body), body);
    pipeBack(upstreamRes, res);
    return `→ ${upstreamRes.statusCode}${callerChooses ? " (caller's Prefer)" : ""}${violations(upstreamRes)}`;
  }

  const server = http.createServer((req, res) => {
    const line = `${req.method} ${req.url}`;
    handle(req, res).then(
      (outcome) => log?.(`${line} ${outcome}`),
      (error: unknown) => {
        log?.(`${line} → 502 (${error instanceof Error ? error.message : String(error)})`);
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const body = JSON.stringify({ code: 5000, message: "The lifecycle mock could not reach Prism", request_id: randomUUID() });
        res.writeHead(502, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        res.end(body);
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === "IPv6" ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostForUrl}:${address.port}`,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        // Idle keep-alive sockets (a browser's, a polling loop's) would otherwise hold the port for seconds.
        server.closeAllConnections();
        agent.destroy();
        await stopped;
        await prism.close();
      })();
      return closing;
    },
  };
}

/** Prism's reasons for refusing a request, for the verbose log. */
function violations(upstreamRes: http.IncomingMessage): string {
  const header = upstreamRes.headers["sl-violations"];
  if (typeof header !== "string") return "";
  try {
    const list = JSON.parse(header) as Array<{ message?: string }>;
    return `: ${list.map((violation) => violation.message).join("; ")}`;
  } catch {
    return `: ${header}`;
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseJson(body: Buffer): Json | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString("utf8"));
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function stringField(input: Json, key: string): string | undefined {
  const value = input[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** A copy of `value` with `from` replaced by `to` inside every string (e.g. the example task id in result URLs). */
function replaceInStrings(value: unknown, from: string, to: string): unknown {
  if (typeof value === "string") return value.replaceAll(from, to);
  if (Array.isArray(value)) return value.map((item) => replaceInStrings(item, from, to));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, replaceInStrings(item, from, to)]));
  return value;
}

/** A page parameter as Prism read it: names case-insensitive, the first value; Prism has already checked the range. */
function intParam(query: URLSearchParams, lowerName: string, fallback: number): number {
  for (const [key, value] of query) {
    if (key.toLowerCase() !== lowerName) continue;
    const number = Number(value);
    return Number.isInteger(number) && number >= 1 ? number : fallback;
  }
  return fallback;
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
