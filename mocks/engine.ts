// The mock's task engine, apart from any HTTP server: routing, tasks and their clock, media, auth, worded errors and
// callbacks, over a spec side (Prism on the server; the generated validators and examples in MSW). Plain data in/out.
import { LIMITS } from "../generated/limits.js";
import { Announcer } from "./announcer.js";
import {
  type Answer,
  isObject,
  type Json,
  jsonAnswer,
  jsonProblem,
  klingError,
  parseAny,
  parseJson,
  randomUuid,
  successEnvelope,
  textAnswer,
} from "./answer.js";
import { createDeliverer, type Deliverer, type PostCallback } from "./callbacks.js";
import { answerPreflight, corsHeaders, isPreflight } from "./cors.js";
import { describeMalformedJson, describeViolations, INVALID_PARAMETER, parseViolations } from "./errors.js";
import { loadMedia, type MediaSet, mediaAnswer, parseMediaPath, patchTaskMedia } from "./media.js";
import { callerChoice } from "./prefer.js";
import { CREATE_PATH, operationOf, type SpecRequest, type SpecSide } from "./spec-examples.js";
import { EXAMPLE_TASK_ID, type MockTask, shapeTask, TaskStore } from "./tasks.js";
import type { Delivery, MockOptions } from "./types.js";

/** Far above any create body (7 short fields); a bigger or endless upload is refused instead of filling memory. */
export const MAX_BODY_BYTES = 1024 * 1024;
const TASK_PATH = /^\/v1\/audio\/video-to-audio\/([^/]+)$/;
const DELIVERIES_PATH = "/__mock/deliveries";
const NO_FACTS = { bodyFields: [], branchFields: [], queryNames: [] };

/** The options the engine takes: startMock's, less those of a server (port, host, verbose), plus how to POST. */
export type EngineOptions = Omit<MockOptions, "port" | "host" | "verbose"> & { post?: PostCallback };

/** A request as an adapter hands it over. */
export interface EngineRequest extends SpecRequest {
  /** The API's base as the client reached it (origin, plus any prefix such as `/kling`): media URLs are built on it. */
  base: string;
  /** The body went over {@link MAX_BODY_BYTES} and was not read. */
  bodyTooLarge?: boolean;
}

export interface Handled {
  answer: Answer;
  /** What was decided, for a verbose log line: `→ 200 created task 866...`. */
  outcome: string;
  /** Refused before its body was read: the connection should not be reused. */
  closeConnection?: boolean;
}

interface Routed extends Handled {
  /** The engine made this body itself: `finish` leaves it alone. */
  patched?: boolean;
}

export class MockEngine {
  private readonly store: TaskStore;
  private readonly deliverer: Deliverer;
  private readonly announcer: Announcer;
  private readonly media: MediaSet = loadMedia();
  /** One getTask answer per example, from the spec side on first use: the shape of list items and callbacks. */
  private readonly templates = new Map<string, Json>();
  private readonly lifecycle: boolean;

  constructor(
    private readonly spec: SpecSide,
    private readonly options: EngineOptions = {},
  ) {
    this.lifecycle = options.lifecycle ?? true;
    this.store = new TaskStore({
      now: options.now ?? Date.now,
      submittedMs: options.submittedMs ?? 2000,
      processingMs: options.processingMs ?? 4000,
      maxTasks: Math.max(1, options.maxTasks ?? 10_000),
    });
    this.deliverer = createDeliverer({
      secret: options.webhookSecret,
      timeoutMs: options.callbackTimeoutMs,
      retryDelaysMs: options.callbackRetryDelaysMs,
      onDelivery: options.onDelivery,
      log: options.log,
      ...(options.post ? { post: options.post } : {}),
    });
    const taskAt = (task: MockTask, stage: number, base: string) => this.taskAt(task, stage, base);
    this.announcer = new Announcer(this.store, this.deliverer, taskAt, options.now !== undefined, options.log);
  }

  /** Every callback delivery so far (the latest 1000), oldest first. */
  get deliveries(): readonly Delivery[] {
    return this.deliverer.records;
  }

  /** Answers one request; CORS headers on every answer. */
  async handle(request: EngineRequest): Promise<Handled> {
    const routed = await this.route(request);
    const answer = routed.patched ? routed.answer : this.finish(routed.answer, request);
    answer.headers = { ...answer.headers, ...corsHeaders(request.headers.get("origin")) };
    return { answer, outcome: routed.outcome, ...(routed.closeConnection ? { closeConnection: true } : {}) };
  }

  /**
   * Calls each operation on the spec side once ahead of the first request (and keeps the task examples): a server
   * there (Prism) compiles its checks of an operation on first use, which would slow a client's first calls.
   */
  async warm(): Promise<void> {
    const list = { ...exampleRequest(), path: CREATE_PATH, target: CREATE_PATH };
    const body = new TextEncoder().encode('{"video_id":"1"}');
    const headers = new Headers({ "content-type": "application/json" });
    const create = { ...list, method: "POST", headers, body };
    await Promise.all([
      ...["submitted", "processing", "succeed", "failed", "gateway"].map((name) => this.template(name)),
      this.spec.answer(list, "example=empty"),
      this.spec.answer(create, "example=submitted"),
    ]);
  }

  /** Forgets every task and delivery record (deliveries under way are dropped); the clock and options stay. */
  reset(): void {
    this.store.clear();
    this.deliverer.reset();
  }

  /** Stops every timer and delivery. */
  async close(): Promise<void> {
    this.announcer.close();
    for (const task of this.store.tasks.values()) clearTimeout(task.timer);
    await this.deliverer.close();
  }

  private async route(request: EngineRequest): Promise<Routed> {
    const { method, path } = request;
    if (isPreflight(method, request.headers))
      return { answer: answerPreflight(request.headers), outcome: "→ 204 (preflight)" };
    if (path.startsWith("/media/")) return this.serveMedia(request);
    if (path === DELIVERIES_PATH && method === "GET")
      return {
        answer: jsonAnswer(200, this.deliverer.records),
        outcome: `→ 200 ${this.deliverer.records.length} deliveries`,
      };
    if (request.bodyTooLarge) {
      const answer = klingError(400, 1200, `Invalid request: the body is over ${MAX_BODY_BYTES} bytes`);
      return { answer, outcome: "→ 400 (body too large)", closeConnection: true };
    }
    await this.announcer.announceAll();
    const refused = await this.refuseAuth(request);
    if (refused) return { answer: refused, outcome: `→ ${refused.status} (no usable Authorization)` };
    if (request.body.length > 0 && /json/i.test(request.headers.get("content-type") ?? "")) {
      const problem = jsonProblem(request.body);
      if (problem !== undefined)
        return {
          answer: klingError(400, INVALID_PARAMETER, describeMalformedJson(problem)),
          outcome: "→ 400 (malformed JSON)",
        };
    }
    return this.routeOperation(request);
  }

  private async routeOperation(request: EngineRequest): Promise<Routed> {
    const { method, path } = request;
    const choice = callerChoice(request.headers.get("prefer"), request.query);
    const isCreate = method === "POST" && path === CREATE_PATH;
    if (this.lifecycle && isCreate && choice.kind !== "other")
      return this.create(request, choice.kind === "create" ? choice.example : undefined);
    if (this.lifecycle && choice.kind === "none" && method === "GET" && path === CREATE_PATH) return this.list(request);
    const taskId = method === "GET" ? safeDecode(TASK_PATH.exec(path)?.[1]) : undefined;
    if (this.lifecycle && choice.kind === "none" && taskId !== undefined) return this.get(request, taskId);
    // The caller chose (or lifecycle is off): the spec side answers as it is. A create choice it has no example for
    // (`failed`, ...) gets the submitted example, so the polling loop that follows does not crash on a 404.
    const prefer = isCreate && choice.kind === "create" ? createExample(choice.example) : undefined;
    const answer = await this.spec.answer(request, prefer);
    const chosen = choice.kind !== "none" ? " (caller's Prefer)" : "";
    return { answer, outcome: `→ ${answer.status}${chosen}${violationSummary(answer)}` };
  }

  private async create(request: EngineRequest, choice: string | undefined): Promise<Routed> {
    // Asked for by name so that the answer has the full Kling shape whatever the order of the examples.
    const answer = await this.spec.answer(request, createExample(choice));
    const envelope = successEnvelope(answer);
    const input = parseJson(request.body);
    if (!envelope || !isObject(envelope.data) || !input)
      return { answer, outcome: `→ ${answer.status} (not created)${violationSummary(answer)}` };
    const task = this.store.create(input, request.base, choice);
    envelope.data = shapeTask(envelope.data, task, task.createdAt, task.base, this.media);
    this.announcer.afterCreate(task);
    const marks = `${task.fails ? " (will fail)" : ""}${task.callbackUrl ? " (callbacks on)" : ""}`;
    return {
      answer: withJson(answer, freshRequestId(envelope)),
      outcome: `→ 200 created task ${task.id}${marks}`,
      patched: true,
    };
  }

  private async get(request: EngineRequest, taskId: string): Promise<Routed> {
    const task = this.store.find(taskId);
    if (!task) {
      const answer = await this.spec.answer(request, "code=404, example=1203_task_not_found");
      return { answer, outcome: `→ ${answer.status} (unknown task)` };
    }
    const stage = this.store.stageOf(task);
    const answer = await this.spec.answer(request, `example=${this.store.exampleName(task, stage)}`);
    const envelope = successEnvelope(answer);
    if (!envelope || !isObject(envelope.data))
      return { answer, outcome: `→ ${answer.status} (passed through)${violationSummary(answer)}` };
    envelope.data = shapeTask(envelope.data, task, this.store.stageAt(task, stage), request.base, this.media);
    const status = this.store.stageStatus(task, stage);
    return { answer: withJson(answer, freshRequestId(envelope)), outcome: `→ 200 ${status}`, patched: true };
  }

  private async list(request: EngineRequest): Promise<Routed> {
    // The spec side answers the empty page: it still checks pageNum/pageSize, and supplies the envelope.
    const answer = await this.spec.answer(request, "example=empty");
    const envelope = successEnvelope(answer);
    if (!envelope || !Array.isArray(envelope.data))
      return { answer, outcome: `→ ${answer.status} (passed through)${violationSummary(answer)}` };
    const pageNum = intParam(request.query, "pagenum", LIMITS.pageNumDefault);
    const pageSize = intParam(request.query, "pagesize", LIMITS.pageSizeDefault);
    const page = this.store.page(pageNum, pageSize);
    const at = this.store.now();
    envelope.data = await Promise.all(
      page.map((task) => this.taskAt(task, this.store.stageOf(task, at), request.base)),
    );
    const outcome = `→ 200 ${page.length} of ${this.store.tasks.size} tasks`;
    return { answer: withJson(answer, freshRequestId(envelope)), outcome, patched: true };
  }

  /** 401 as the real API answers it, before anything else is looked at; undefined when the request may go on. */
  private async refuseAuth(request: EngineRequest): Promise<Answer | undefined> {
    if (!this.options.requireAuth) return undefined;
    const header = request.headers.get("authorization");
    const token = header !== null ? /^Bearer[ ]+(\S+)\s*$/i.exec(header)?.[1] : undefined;
    if (token !== undefined) return undefined;
    const empty = header === null || /^\s*(Bearer\s*)?$/i.test(header);
    const example = empty ? "1001_authorization_empty" : "1002_authorization_invalid";
    return this.spec.answer(exampleRequest(), `code=401, example=${example}`);
  }

  private serveMedia(request: EngineRequest): Routed {
    const { method } = request;
    const wanted = parseMediaPath(request.path);
    const task = wanted ? this.store.find(wanted.taskId) : undefined;
    const succeeded = task !== undefined && this.store.stageStatus(task, this.store.stageOf(task)) === "succeed";
    const exists =
      wanted !== undefined && (wanted.taskId === EXAMPLE_TASK_ID || (task?.id === wanted.taskId && succeeded));
    if (!wanted || !exists || (method !== "GET" && method !== "HEAD")) {
      const status = wanted && exists ? 405 : 404;
      const text =
        status === 405
          ? "Only GET and HEAD serve media.\n"
          : "No such media: result files exist once their task has succeeded.\n";
      return { answer: textAnswer(status, text), outcome: `→ ${status}`, patched: true };
    }
    const range = request.headers.get("range");
    const answer = mediaAnswer(range, this.media[wanted.kind], {});
    return { answer, outcome: `→ ${answer.status} ${wanted.kind}${range ? ` (${range})` : ""}`, patched: true };
  }

  /** Every other answer passes here: a bare 1201 gets the violations in words, result URLs the mock's media. */
  private finish(answer: Answer, request: EngineRequest): Answer {
    const violations = parseViolations(answer.headers["sl-violations"]);
    const json = parseJson(answer.body);
    if (answer.status === 400 && violations.length > 0 && json?.code === INVALID_PARAMETER) {
      const facts = operationOf(request.method, request.path) ?? NO_FACTS;
      const message = describeViolations(violations, parseAny(request.body), facts, request.query);
      return withJson(answer, freshRequestId({ ...json, message }));
    }
    const envelope = successEnvelope(answer);
    if (!envelope) return answer;
    for (const task of Array.isArray(envelope.data) ? envelope.data : [envelope.data])
      patchTaskMedia(task, request.base, this.media);
    return withJson(answer, envelope);
  }

  /** The task as getTask answers it in `stage`, from the spec's example of that stage. */
  private async taskAt(task: MockTask, stage: number, base: string): Promise<Json> {
    const status = this.store.stageStatus(task, stage);
    const example = (await this.template(this.store.exampleName(task, stage))) ?? {
      task_id: task.id,
      task_status: status,
      task_status_msg: "",
      task_info: {},
    };
    return shapeTask(example, task, this.store.stageAt(task, stage), base, this.media);
  }

  private async template(name: string): Promise<Json | undefined> {
    let cached = this.templates.get(name);
    if (!cached) {
      const data = successEnvelope(await this.spec.answer(exampleRequest(), `example=${name}`))?.data;
      if (!isObject(data)) return undefined;
      cached = data;
      this.templates.set(name, cached);
    }
    return structuredClone(cached);
  }
}

/** A getTask request for a named example of the spec, outside any caller's request (a 401 body, a task template). */
function exampleRequest(): SpecRequest {
  const path = `${CREATE_PATH}/example`;
  const headers = new Headers({ accept: "application/json" });
  return { method: "GET", path, target: path, query: new URLSearchParams(), headers, body: new Uint8Array(0) };
}

function createExample(choice: string | undefined): string {
  return `example=${choice === "gateway" ? "gateway" : "submitted"}`;
}

/** The answer with a new JSON body (and its headers, less a stale length). */
function withJson(answer: Answer, body: unknown): Answer {
  const { "content-length": _length, ...headers } = answer.headers;
  return jsonAnswer(answer.status, body, headers);
}

function freshRequestId(envelope: Json): Json {
  if (typeof envelope.request_id === "string") envelope.request_id = randomUuid();
  return envelope;
}

/** The spec side's reasons for refusing a request, for the verbose log. */
function violationSummary(answer: Answer): string {
  const list = parseViolations(answer.headers["sl-violations"]);
  return list.length > 0 ? `: ${list.map((violation) => String(violation.message)).join("; ")}` : "";
}

/** A page parameter as the spec side read it: names case-insensitive, the first value; its range already checked. */
function intParam(query: URLSearchParams, lowerName: string, fallback: number): number {
  for (const [key, value] of query) {
    if (key.toLowerCase() !== lowerName) continue;
    const number = Number(value);
    return Number.isInteger(number) && number >= 1 ? number : fallback;
  }
  return fallback;
}

function safeDecode(segment: string | undefined): string | undefined {
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
