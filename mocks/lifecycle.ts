// The lifecycle mock: a node:http layer in front of Prism that remembers created tasks, steers Prism (via `Prefer`) so polling sees them progress, and adds what Prism lacks: media, callbacks, worded errors, no key.
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { LIMITS } from "../generated/limits.js";
import { createDeliverer } from "./callbacks.js";
import { answerPreflight, corsHeaders, isPreflight } from "./cors.js";
import {
  describeMalformedJson,
  describeViolations,
  INVALID_PARAMETER,
  type OperationFacts,
  operationFacts,
  parseViolations,
} from "./errors.js";
import { loadMedia, type MediaSet, parseMediaPath, patchTaskMedia, sendMedia } from "./media.js";
import { type RunningPrism, startPrism } from "./prism.js";
import type { MockOptions, MockTaskStatus, RunningMock } from "./types.js";

export type { Delivery, DeliveryAttempt, MockOptions, MockTaskStatus, RunningMock } from "./types.js";

/** What the mock remembers of a create request. */
interface MockTask {
  id: string;
  createdAt: number;
  externalTaskId?: string;
  videoId?: string;
  videoUrl?: string;
  callbackUrl?: string;
  /** `http://host:port` as the creating client reached the mock: the base of the media URLs its callbacks carry. */
  origin: string;
  /** Whether the task ends `failed` (a "fail" marker in an input, or `Prefer: example=failed` on the create). */
  fails: boolean;
  /** Gateway envelope asked for on the create (`Prefer: example=gateway`). */
  gateway: boolean;
  /** How many of the task's status changes have been delivered to its callback_url (0-3). */
  announced: number;
  /** The announcement in progress, which the next one waits for. */
  announcing?: Promise<void>;
  timer?: NodeJS.Timeout;
}

/** A buffered answer, before the layer's finishing touches (worded errors, media URLs, CORS). */
interface Answer {
  status: number;
  headers: http.OutgoingHttpHeaders;
  body: Buffer;
}

type Json = Record<string, unknown>;

const CREATE_PATH = "/v1/audio/video-to-audio";
const TASK_PATH = /^\/v1\/audio\/video-to-audio\/([^/]+)$/;
const DELIVERIES_PATH = "/__mock/deliveries";
/** The token the layer shows Prism when the caller needs none: Prism itself always checks for one. */
const MOCK_TOKEN = "Bearer mock";
/** Prism's own ways to pick an answer from the query string; like a `Prefer` header, they mean "the caller decides". */
const PRISM_QUERY_KEYS = new Set(["__example", "__code", "__dynamic"]);
/** Create examples the lifecycle can honour by remembering a task (statuses name how it ends; gateway its envelope). */
const CREATE_CHOICES = new Set(["submitted", "processing", "succeed", "failed", "gateway"]);
/** Headers about one connection (the layer has its own to each side), and Prism's CORS (the layer sets its own). */
const DROPPED_HEADERS =
  /^(connection|keep-alive|proxy-connection|transfer-encoding|te|trailer|upgrade|expect|content-length|access-control-.*|vary)$/;
/** Far above any create body (7 short fields); a bigger or endless upload is refused instead of filling memory. */
const MAX_BODY_BYTES = 1024 * 1024;
const FAIL_MARKER = /fail/i;
/** A Host header fit to build URLs from: a name or address and an optional port, nothing else. */
const HOST_HEADER = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;
/**
 * Task ids grow with the clock from the id of Kling's published sample (kling-api.md §3, created 2024-08-04), 4096
 * per millisecond: 18-digit numeric strings like Kling's, never the spec's example id, and a restarted mock does not
 * hand out an id a frontend remembers from an earlier run.
 */
const ID_BASE = 866_889_456_698_785_798n;
const ID_BASE_MS = 1_722_769_557_708n;
/** The spec's example task id: Prefer-chosen answers carry it, so its media are served too. */
const EXAMPLE_TASK_ID = ID_BASE.toString();

class BodyTooLarge extends Error {}

/**
 * Starts Prism on a free internal port and the layer in front of it.
 *
 * Created tasks answer `submitted`, then `processing` after `submittedMs`, then `succeed` after another
 * `processingMs` (`failed` when the create's `video_id`, `video_url`, a prompt or `external_task_id` contains
 * "fail", or it was sent with `Prefer: example=failed`). Unknown task ids answer 404 with code 1203. A caller's
 * `Prefer` header (or `__example`/`__code`/`__dynamic` query) otherwise wins: such requests get Prism's static
 * answer. Prism validates every request and produces every body; the layer picks the example, patches ids,
 * timestamps and playable media URLs into it, words Prism's validation failures, and delivers callbacks.
 */
export async function startMock(options: MockOptions = {}): Promise<RunningMock> {
  const [prism, media] = await Promise.all([startPrism({ port: 0, host: "127.0.0.1", callbacks: false }), loadMedia()]);
  try {
    return await startLayer(prism, media, { ...options, host: options.host ?? "127.0.0.1" });
  } catch (error) {
    await prism.close();
    throw error;
  }
}

async function startLayer(
  prism: RunningPrism,
  media: MediaSet,
  options: MockOptions & { host: string },
): Promise<RunningMock> {
  const lifecycle = options.lifecycle ?? true;
  const clockInjected = options.now !== undefined;
  const now = options.now ?? Date.now;
  const submittedMs = options.submittedMs ?? 2000;
  const processingMs = options.processingMs ?? 4000;
  const maxTasks = Math.max(1, options.maxTasks ?? 10_000);
  const log = options.log ?? (options.verbose ? (line: string) => process.stderr.write(`${line}\n`) : undefined);
  const requestLog = options.verbose ? log : undefined;
  const facts = operationFacts(prism.operations);
  const upstream = new URL(prism.url);
  const agent = new http.Agent({ keepAlive: true });
  /** Insertion order is creation order: the first key is the oldest task. */
  const tasks = new Map<string, MockTask>();
  /** The latest task per external_task_id: getTask takes either id, as Kling's does (kling-api.md §9). */
  const byExternalId = new Map<string, string>();
  /** One getTask answer per status, fetched from Prism on first use, as the shape of list items and callbacks. */
  const templates = new Map<string, Json>();
  const deliverer = createDeliverer({
    secret: options.webhookSecret,
    timeoutMs: options.callbackTimeoutMs,
    retryDelaysMs: options.callbackRetryDelaysMs,
    onDelivery: options.onDelivery,
    log,
  });
  let lastId = ID_BASE;
  let mockUrl = "";
  let closed = false;

  function nextTaskId(at: number): string {
    const fromClock = ID_BASE + (BigInt(Math.trunc(at)) - ID_BASE_MS) * 4096n;
    lastId = fromClock > lastId ? fromClock : lastId + 1n;
    return lastId.toString();
  }

  /** When each of the task's three states begins: submitted, processing, and the end. */
  function stageTimes(task: MockTask): [number, number, number] {
    return [task.createdAt, task.createdAt + submittedMs, task.createdAt + submittedMs + processingMs];
  }

  function stageAt(task: MockTask, stage: number): number {
    return stageTimes(task)[Math.min(2, Math.max(0, stage))] ?? task.createdAt;
  }

  function stageStatus(task: MockTask, stage: number): MockTaskStatus {
    return stage === 0 ? "submitted" : stage === 1 ? "processing" : task.fails ? "failed" : "succeed";
  }

  function stateOf(task: MockTask, at: number): { status: MockTaskStatus; updatedAt: number; stage: number } {
    const times = stageTimes(task);
    const stage = at >= times[2] ? 2 : at >= times[1] ? 1 : 0;
    return { status: stageStatus(task, stage), updatedAt: stageAt(task, stage), stage };
  }

  function remember(task: MockTask): void {
    tasks.set(task.id, task);
    if (task.externalTaskId !== undefined) byExternalId.set(task.externalTaskId, task.id);
    while (tasks.size > maxTasks) {
      const oldest = tasks.values().next().value;
      if (oldest === undefined) break;
      forget(oldest);
    }
  }

  function forget(task: MockTask): void {
    tasks.delete(task.id);
    clearTimeout(task.timer);
    if (task.externalTaskId !== undefined && byExternalId.get(task.externalTaskId) === task.id)
      byExternalId.delete(task.externalTaskId);
  }

  function findTask(id: string): MockTask | undefined {
    const direct = tasks.get(id);
    if (direct) return direct;
    const viaExternal = byExternalId.get(id);
    return viaExternal === undefined ? undefined : tasks.get(viaExternal);
  }

  // ------------------------------------------------------------------------------------------
  // Talking to Prism
  // ------------------------------------------------------------------------------------------

  function prismRequest(
    method: string,
    path: string,
    headers: http.OutgoingHttpHeaders,
    body: Buffer,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const out = http.request(
        { hostname: upstream.hostname, port: upstream.port, method, path, headers, agent },
        (res) => {
          readAll(res, Number.POSITIVE_INFINITY).then(
            (answer) => resolve({ status: res.statusCode ?? 502, headers: keptHeaders(res.headers), body: answer }),
            reject,
          );
        },
      );
      out.on("error", reject);
      out.end(body.length > 0 ? body : undefined);
    });
  }

  /** The caller's request as Prism should see it: its own headers, the layer's token, maybe a `Prefer`. */
  function forwarded(req: http.IncomingMessage, body: Buffer, prefer?: string): http.OutgoingHttpHeaders {
    const headers = keptHeaders(req.headers);
    if (body.length > 0 || req.headers["content-length"] !== undefined) headers["content-length"] = body.length;
    // The layer has already judged the caller's token (refuseAuth); Prism, which always wants one, gets a fixed one.
    headers.authorization = MOCK_TOKEN;
    if (prefer !== undefined) headers.prefer = prefer;
    return headers;
  }

  /** A named example of the spec, fetched from Prism outside any caller's request (e.g. a 401 body, a task template). */
  function example(prefer: string): Promise<Answer> {
    return prismRequest(
      "GET",
      `${CREATE_PATH}/example`,
      { prefer, accept: "application/json", authorization: MOCK_TOKEN },
      Buffer.alloc(0),
    );
  }

  async function template(status: string): Promise<Json | undefined> {
    const cached = templates.get(status);
    if (cached) return structuredClone(cached);
    const data = successData(await example(`example=${status}`));
    if (isObject(data)) templates.set(status, data);
    return isObject(data) ? structuredClone(data) : undefined;
  }

  // ------------------------------------------------------------------------------------------
  // Shaping tasks
  // ------------------------------------------------------------------------------------------

  /** Prism's example task, made into this task: its id everywhere (result URLs too), its inputs, its timestamps. */
  function shape(example: Json, task: MockTask, updatedAt: number, origin: string): Json {
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
    patchTaskMedia(data, origin, media);
    return data;
  }

  /** The task as getTask answers it in `stage`, from the template of that status. */
  async function taskAt(task: MockTask, stage: number, origin: string): Promise<Json> {
    const status = stageStatus(task, stage);
    const example = (await template(task.gateway && status === "succeed" ? "gateway" : status)) ?? {
      task_id: task.id,
      task_status: status,
      task_status_msg: "",
      task_info: {},
    };
    return shape(example, task, stageAt(task, stage), origin);
  }

  // ------------------------------------------------------------------------------------------
  // Status changes on time, and their callbacks
  // ------------------------------------------------------------------------------------------

  /** Delivers every status change of `task` that is due and not yet delivered, then waits for the next one. */
  function announce(task: MockTask): Promise<void> {
    // One at a time per task (two requests may reveal the same change at once): each status goes out once, in order.
    task.announcing = (task.announcing ?? Promise.resolve()).catch(() => {}).then(() => announceDue(task));
    return task.announcing;
  }

  async function announceDue(task: MockTask): Promise<void> {
    if (task.callbackUrl === undefined || closed) return;
    const at = now();
    const due = stateOf(task, at).stage;
    while (task.announced <= due) {
      const stage = task.announced++;
      const body = JSON.stringify(await taskAt(task, stage, task.origin));
      if (closed) return;
      deliverer.send(task.id, stageStatus(task, stage), task.callbackUrl, body);
    }
    schedule(task);
  }

  /** A timer for the task's next status change (on the real clock; an injected clock moves only when asked). */
  function schedule(task: MockTask): void {
    clearTimeout(task.timer);
    if (clockInjected || task.announced > 2 || closed) return;
    const next = stageAt(task, task.announced);
    task.timer = setTimeout(
      () =>
        void announce(task).catch((error: unknown) => log?.(`callback of task ${task.id} not sent: ${message(error)}`)),
      Math.max(0, next - now()),
    );
    task.timer.unref();
  }

  /** With an injected clock, each request is a chance for the status changes it reveals to be delivered. */
  async function announceAll(): Promise<void> {
    if (!clockInjected) return;
    for (const task of tasks.values()) if (task.callbackUrl !== undefined && task.announced <= 2) await announce(task);
  }

  // ------------------------------------------------------------------------------------------
  // The operations
  // ------------------------------------------------------------------------------------------

  async function handleCreate(
    req: http.IncomingMessage,
    body: Buffer,
    path: string,
    choice: string | undefined,
  ): Promise<[Answer, string]> {
    // Asked for by name so that Prism's answer has the full Kling shape whatever the order of the examples.
    const answer = await prismRequest(
      "POST",
      path,
      forwarded(req, body, `example=${choice === "gateway" ? "gateway" : "submitted"}`),
      body,
    );
    const envelope = successEnvelope(answer);
    const input = parseJson(body);
    if (!envelope || !isObject(envelope.data) || !input)
      return [answer, `→ ${answer.status} (not created)${violationSummary(answer)}`];
    const createdAt = now();
    const task: MockTask = {
      id: nextTaskId(createdAt),
      createdAt,
      externalTaskId: stringField(input, "external_task_id"),
      videoId: stringField(input, "video_id"),
      videoUrl: stringField(input, "video_url"),
      callbackUrl: stringField(input, "callback_url"),
      origin: originOf(req),
      fails:
        choice === "failed" ||
        ["video_id", "video_url", "sound_effect_prompt", "bgm_prompt", "external_task_id"].some((key) =>
          FAIL_MARKER.test(stringField(input, key) ?? ""),
        ),
      gateway: choice === "gateway",
      announced: 0,
    };
    remember(task);
    envelope.data = shape(envelope.data, task, createdAt, task.origin);
    if (typeof envelope.request_id === "string") envelope.request_id = randomUUID();
    // The answer goes out first; the `submitted` callback follows it, as Kling's would.
    setImmediate(
      () =>
        void announce(task).catch((error: unknown) => log?.(`callback of task ${task.id} not sent: ${message(error)}`)),
    );
    return [
      withJson(answer, envelope),
      `→ 200 created task ${task.id}${task.fails ? " (will fail)" : ""}${task.callbackUrl ? " (callbacks on)" : ""}`,
    ];
  }

  async function handleGet(
    req: http.IncomingMessage,
    body: Buffer,
    path: string,
    taskId: string,
  ): Promise<[Answer, string]> {
    const task = findTask(taskId);
    if (!task) {
      const answer = await prismRequest(
        "GET",
        path,
        forwarded(req, body, "code=404, example=1203_task_not_found"),
        body,
      );
      return [answer, `→ ${answer.status} (unknown task)`];
    }
    const { status, stage } = stateOf(task, now());
    const example = task.gateway && status === "succeed" ? "gateway" : status;
    const answer = await prismRequest("GET", path, forwarded(req, body, `example=${example}`), body);
    const envelope = successEnvelope(answer);
    if (!envelope || !isObject(envelope.data))
      return [answer, `→ ${answer.status} (passed through)${violationSummary(answer)}`];
    envelope.data = shape(envelope.data, task, stageAt(task, stage), originOf(req));
    if (typeof envelope.request_id === "string") envelope.request_id = randomUUID();
    return [withJson(answer, envelope), `→ 200 ${status}`];
  }

  async function handleList(
    req: http.IncomingMessage,
    body: Buffer,
    path: string,
    query: URLSearchParams,
  ): Promise<[Answer, string]> {
    // Prism answers the empty page: it still checks pageNum/pageSize, and supplies the envelope.
    const answer = await prismRequest("GET", path, forwarded(req, body, "example=empty"), body);
    const envelope = successEnvelope(answer);
    if (!envelope || !Array.isArray(envelope.data))
      return [answer, `→ ${answer.status} (passed through)${violationSummary(answer)}`];
    const pageNum = intParam(query, "pagenum", LIMITS.pageNumDefault);
    const pageSize = intParam(query, "pagesize", LIMITS.pageSizeDefault);
    const page = [...tasks.values()].reverse().slice((pageNum - 1) * pageSize, pageNum * pageSize);
    const at = now();
    const origin = originOf(req);
    envelope.data = await Promise.all(page.map((task) => taskAt(task, stateOf(task, at).stage, origin)));
    if (typeof envelope.request_id === "string") envelope.request_id = randomUUID();
    return [withJson(answer, envelope), `→ 200 ${page.length} of ${tasks.size} tasks`];
  }

  /** 401 as the real API answers it, before anything else is looked at; undefined when the request may go on. */
  async function refuseAuth(req: http.IncomingMessage): Promise<Answer | undefined> {
    if (!options.requireAuth) return undefined;
    const header = req.headers.authorization;
    const token = typeof header === "string" ? /^Bearer[ ]+(\S+)\s*$/i.exec(header)?.[1] : undefined;
    if (token !== undefined) return undefined;
    const empty = header === undefined || /^\s*(Bearer\s*)?$/i.test(header);
    return example(
      empty ? "code=401, example=1001_authorization_empty" : "code=401, example=1002_authorization_invalid",
    );
  }

  function serveMedia(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): string {
    const wanted = parseMediaPath(pathname);
    const task = wanted ? findTask(wanted.taskId) : undefined;
    const exists =
      wanted !== undefined &&
      (wanted.taskId === EXAMPLE_TASK_ID ||
        (task !== undefined && task.id === wanted.taskId && stateOf(task, now()).status === "succeed"));
    if (!wanted || !exists || (req.method !== "GET" && req.method !== "HEAD")) {
      const status = wanted && exists ? 405 : 404;
      const text =
        status === 405
          ? "Only GET and HEAD serve media.\n"
          : "No such media: result files exist once their task has succeeded.\n";
      res.writeHead(status, {
        ...corsHeaders(req),
        "content-type": "text/plain; charset=utf-8",
        "content-length": Buffer.byteLength(text),
      });
      res.end(req.method === "HEAD" ? undefined : text);
      return `→ ${status}`;
    }
    sendMedia(req, res, media[wanted.kind], corsHeaders(req));
    return `→ ${res.statusCode} ${wanted.kind}${req.headers.range ? ` (${req.headers.range})` : ""}`;
  }

  /** Every answer passes here: Prism's bare 1201 gets the violations in words, result URLs point at the mock's media. */
  function finish(
    answer: Answer,
    req: http.IncomingMessage,
    body: Buffer,
    route: string,
    query: URLSearchParams,
  ): Answer {
    const violations = parseViolations(answer.headers["sl-violations"] as string | undefined);
    const json = parseJson(answer.body);
    if (answer.status === 400 && violations.length > 0 && json?.code === INVALID_PARAMETER) {
      const routeFacts: OperationFacts = facts.get(route) ?? { bodyFields: [], branchFields: [], queryNames: [] };
      const worded = describeViolations(violations, parseAny(body), routeFacts, query);
      return withJson(answer, {
        ...json,
        message: worded,
        ...(typeof json.request_id === "string" ? { request_id: randomUUID() } : {}),
      });
    }
    const envelope = successEnvelope(answer);
    if (envelope && !isPatched(answer)) {
      const origin = originOf(req);
      for (const task of Array.isArray(envelope.data) ? envelope.data : [envelope.data])
        patchTaskMedia(task, origin, media);
      return withJson(answer, envelope);
    }
    return answer;
  }

  function originOf(req: http.IncomingMessage): string {
    const host = req.headers.host;
    return typeof host === "string" && HOST_HEADER.test(host) ? `http://${host}` : mockUrl;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<string> {
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    const url = new URL(path, "http://mock.invalid");
    if (isPreflight(req)) {
      answerPreflight(req, res);
      return "→ 204 (preflight)";
    }
    if (url.pathname.startsWith("/media/")) return serveMedia(req, res, url.pathname);
    if (url.pathname === DELIVERIES_PATH && method === "GET") {
      send(res, req, {
        status: 200,
        headers: { "content-type": "application/json" },
        body: Buffer.from(JSON.stringify(deliverer.records)),
      });
      return `→ 200 ${deliverer.records.length} deliveries`;
    }
    let body: Buffer;
    try {
      body = await readAll(req, MAX_BODY_BYTES);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
      send(res, req, kling(400, 1200, `Invalid request: the body is over ${MAX_BODY_BYTES} bytes`), true);
      return "→ 400 (body too large)";
    }
    await announceAll();
    const refused = await refuseAuth(req);
    if (refused) {
      send(res, req, refused);
      return `→ ${refused.status} (no usable Authorization)`;
    }
    if (body.length > 0 && /json/i.test(String(req.headers["content-type"] ?? ""))) {
      const problem = jsonProblem(body);
      if (problem !== undefined) {
        send(res, req, kling(400, INVALID_PARAMETER, describeMalformedJson(problem)));
        return "→ 400 (malformed JSON)";
      }
    }

    const taskMatch = method === "GET" ? TASK_PATH.exec(url.pathname) : null;
    const route =
      url.pathname === CREATE_PATH
        ? `${method} ${CREATE_PATH}`
        : taskMatch
          ? `GET ${CREATE_PATH}/{task_id}`
          : `${method} ${url.pathname}`;
    const choice = callerChoice(req, url.searchParams);
    let answer: Answer;
    let outcome: string;
    if (
      lifecycle &&
      method === "POST" &&
      url.pathname === CREATE_PATH &&
      (choice.kind === "none" || choice.kind === "create")
    ) {
      [answer, outcome] = await handleCreate(req, body, path, choice.kind === "create" ? choice.example : undefined);
    } else if (lifecycle && choice.kind === "none" && method === "GET" && url.pathname === CREATE_PATH) {
      [answer, outcome] = await handleList(req, body, path, url.searchParams);
    } else if (
      lifecycle &&
      choice.kind === "none" &&
      taskMatch?.[1] !== undefined &&
      safeDecode(taskMatch[1]) !== undefined
    ) {
      [answer, outcome] = await handleGet(req, body, path, safeDecode(taskMatch[1]) ?? "");
    } else {
      // The caller chose (or lifecycle is off): Prism answers as it is. A create choice it has no example for
      // (`failed`, ...) gets the submitted example, so the polling loop that follows does not crash on a 404.
      const prefer =
        method === "POST" && url.pathname === CREATE_PATH && choice.kind === "create"
          ? `example=${choice.example === "gateway" ? "gateway" : "submitted"}`
          : undefined;
      answer = await prismRequest(method, path, forwarded(req, body, prefer), body);
      outcome = `→ ${answer.status}${choice.kind !== "none" ? " (caller's Prefer)" : ""}${violationSummary(answer)}`;
    }
    send(res, req, finish(answer, req, body, route, url.searchParams));
    return outcome;
  }

  function send(res: http.ServerResponse, req: http.IncomingMessage, answer: Answer, closeConnection = false): void {
    const headers: http.OutgoingHttpHeaders = {
      ...answer.headers,
      ...corsHeaders(req),
      "content-length": answer.body.length,
    };
    if (closeConnection) headers.connection = "close";
    res.writeHead(answer.status, headers);
    res.end(req.method === "HEAD" ? undefined : answer.body);
  }

  const server = http.createServer((req, res) => {
    const line = `${req.method} ${req.url}`;
    handle(req, res).then(
      (outcome) => requestLog?.(`${line} ${outcome}`),
      (error: unknown) => {
        requestLog?.(`${line} → 502 (${message(error)})`);
        if (res.headersSent) {
          res.destroy();
          return;
        }
        send(res, req, kling(502, 5000, "The lifecycle mock could not reach Prism"));
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
  mockUrl = `http://${hostForUrl}:${address.port}`;

  let closing: Promise<void> | undefined;
  return {
    url: mockUrl,
    get deliveries() {
      return deliverer.records;
    },
    close() {
      closing ??= (async () => {
        closed = true;
        for (const task of tasks.values()) clearTimeout(task.timer);
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        // Idle keep-alive sockets (a browser's, a polling loop's) would otherwise hold the port for seconds.
        server.closeAllConnections();
        await deliverer.close();
        agent.destroy();
        await stopped;
        await prism.close();
      })();
      return closing;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

type Choice = { kind: "none" } | { kind: "create"; example: string } | { kind: "other" };

/**
 * What the caller asked Prism for, from `Prefer` or Prism's query forms. An example that names a task status (or
 * `gateway`), with no other status code than 200, is a choice the lifecycle can honour on create.
 */
function callerChoice(req: http.IncomingMessage, query: URLSearchParams): Choice {
  const prefer = typeof req.headers.prefer === "string" ? req.headers.prefer : undefined;
  const fromQuery = [...query.keys()].some((key) => PRISM_QUERY_KEYS.has(key.toLowerCase()));
  if (prefer === undefined && !fromQuery) return { kind: "none" };
  const params = new Map<string, string>();
  for (const part of (prefer ?? "").split(/[,;]/)) {
    const [key, value] = part.split("=").map((item) => item.trim());
    if (key && value !== undefined) params.set(key.toLowerCase(), value.replace(/^"|"$/g, ""));
  }
  for (const [key, value] of query)
    if (PRISM_QUERY_KEYS.has(key.toLowerCase())) params.set(key.toLowerCase().slice(2), value);
  const code = params.get("code");
  const example = params.get("example");
  if (
    (code === undefined || code === "200") &&
    example !== undefined &&
    CREATE_CHOICES.has(example) &&
    !params.has("dynamic")
  ) {
    return { kind: "create", example };
  }
  return { kind: "other" };
}

function kling(status: number, code: number, text: string): Answer {
  return {
    status,
    headers: { "content-type": "application/json" },
    body: Buffer.from(JSON.stringify({ code, message: text, request_id: randomUUID() })),
  };
}

const PATCHED = Symbol("patched");

/** The answer with a new JSON body, marked so that `finish` does not patch it twice. */
function withJson(answer: Answer, body: unknown): Answer {
  const next: Answer & { [PATCHED]?: true } = {
    status: answer.status,
    headers: { ...answer.headers, "content-type": "application/json" },
    body: Buffer.from(JSON.stringify(body)),
  };
  next[PATCHED] = true;
  return next;
}

function isPatched(answer: Answer): boolean {
  return (answer as Answer & { [PATCHED]?: true })[PATCHED] === true;
}

function keptHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const kept: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined && !DROPPED_HEADERS.test(name)) kept[name] = value;
  return kept;
}

async function readAll(stream: NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** A success envelope of Prism's, or undefined when the answer is anything else (an error, a validation failure). */
function successEnvelope(answer: Answer): Json | undefined {
  if (answer.status !== 200 || !String(answer.headers["content-type"] ?? "").includes("json")) return undefined;
  const parsed = parseJson(answer.body);
  return parsed?.code === 0 ? parsed : undefined;
}

function successData(answer: Answer): unknown {
  return successEnvelope(answer)?.data;
}

/** Prism's reasons for refusing a request, for the verbose log. */
function violationSummary(answer: Answer): string {
  const list = parseViolations(answer.headers["sl-violations"] as string | undefined);
  return list.length > 0 ? `: ${list.map((violation) => String(violation.message)).join("; ")}` : "";
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseAny(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}

function parseJson(body: Buffer): Json | undefined {
  const parsed = parseAny(body);
  return isObject(parsed) ? parsed : undefined;
}

/** Why a body is not JSON, or undefined when it is. */
function jsonProblem(body: Buffer): unknown {
  try {
    JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
    return undefined;
  } catch (error) {
    return error;
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
  if (isObject(value))
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, replaceInStrings(item, from, to)]));
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

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
