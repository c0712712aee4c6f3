// createClient: the ergonomic client (safe creates, bounded waits and their polling loop, typed errors) over raw openapi-fetch.
import createFetchClient, { type Client } from "openapi-fetch";
import { LIMITS } from "../generated/facts.js";
import type { paths } from "../generated/openapi.js";
import { KlingConnectionError } from "./errors/connection-error.js";
import { KlingValidationError } from "./errors/validation-error.js";
import { createAuthorizer } from "./auth.js";
import { createLog } from "./logger.js";
import { type ClientOptions, DEFAULTS, isBrowserPage, type RequestOptions, resolveOptions, type WaitOptions } from "./options.js";
import type { BatchOptions, BatchResult } from "./batch.js";
import { findByExternalId, type LookupSteps } from "./lookup.js";
import { type CreateControl, newExternalTaskId, safeCreate } from "./safe-create.js";
import { waitLoop } from "./wait.js";
import { type CallOptions, createTransport } from "./transport.js";
import type { CreateTaskInput, Task } from "./types.js";
import {
  checkCreateInput,
  checkPageQuery,
  checkRequestOptions,
  checkTaskId,
  checkWaitOptions,
  PAGE_NUM_MAX,
  PAGE_SIZE_MAX,
} from "./validate.js";

const TASKS_PATH = "/v1/audio/video-to-audio" as const;
const TASK_PATH = "/v1/audio/video-to-audio/{task_id}" as const;

/** The low-level typed client: openapi-fetch over the generated `paths`. */
export type RawClient = Client<paths>;

export interface RawClientOptions {
  /** The server, e.g. `https://api.deerapi.com/kling`; paths such as `/v1/audio/video-to-audio` are appended. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>` when given. @default undefined */
  apiKey?: string;
  /** The transport. @default `globalThis.fetch`, called unbound so Workers and browsers do not throw "Illegal invocation" */
  fetch?: (request: Request) => Promise<Response>;
  /** Extra headers on every request. @default {} */
  headers?: Record<string, string>;
}

/** A raw client with base URL, bearer key and transport; `createClient` builds one over its retrying transport. */
export function createRawClient(options: RawClientOptions): RawClient {
  const headers: Record<string, string> = { ...options.headers };
  if (options.apiKey) headers.Authorization = `Bearer ${options.apiKey}`;
  return createFetchClient<paths>({
    baseUrl: options.baseUrl,
    headers,
    fetch: options.fetch ?? ((request: Request) => globalThis.fetch(request)),
  });
}

export interface LookupOptions extends RequestOptions {
  /** Pages of 500 tasks to scan. @default 10 */
  maxPages?: number | undefined;
}

export interface VideoToAudioClient {
  /** Creates a task and returns it (`submitted`). Retried safely: see "Safe create" in the README. */
  createTask(input: CreateTaskInput, options?: RequestOptions): Promise<Task>;
  /** The task as it is now. */
  getTask(taskId: string, options?: RequestOptions): Promise<Task>;
  /** One page of tasks (`pageNum` 1-1000, `pageSize` 1-500; defaults 1 and 30). */
  listTasks(query?: { pageNum?: number; pageSize?: number }, options?: RequestOptions): Promise<Task[]>;
  /** Every task, page after page, fetched lazily; stops on a short page or after page 1000. */
  tasks(query?: { pageSize?: number }, options?: RequestOptions): AsyncIterable<Task>;
  /**
   * The task whose `task_info.external_task_id` is `externalTaskId`, or `undefined`: one GET of the query path
   * (Kling takes either id there), else a scan of the newest list pages (for gateways that take only task ids).
   */
  findTaskByExternalId(externalTaskId: string, options?: LookupOptions): Promise<Task | undefined>;
  /** Polls until the task succeeds; throws `KlingTaskFailedError`, `KlingTimeoutError`, or the signal's reason. */
  waitForTask(taskId: string, options?: WaitOptions): Promise<Task>;
  /** Creates a task, then waits for it, under one deadline and one signal. */
  run(input: CreateTaskInput, options?: WaitOptions): Promise<Task>;
  /**
   * Runs many inputs through create-then-wait, at most `concurrency` at once (fewer while Kling answers 1303),
   * yielding each item's result as it finishes. With a `batchId`, a rerun waits for the tasks an earlier run
   * created instead of creating them again.
   */
  runBatch(inputs: Iterable<CreateTaskInput> | AsyncIterable<CreateTaskInput>, options?: BatchOptions): AsyncIterable<BatchResult>;
  /** The underlying openapi-fetch client, for anything the methods above do not cover. */
  readonly raw: RawClient;
}

export function createClient(options: ClientOptions = {}): VideoToAudioClient {
  const resolved = resolveOptions(options);
  const { baseUrl, maxRetries } = resolved;
  const authorizer = createAuthorizer(resolved);
  if (isBrowserPage() && (options.apiKey || options.secretKey) && !options.dangerouslyAllowBrowser) {
    throw new KlingValidationError(
      "dangerouslyAllowBrowser",
      "createClient was given a key in a browser, where any visitor can read it. Call the API through your server " +
        '(createProxy from "kling-video-to-audio/proxy", then createClient({ baseUrl: "/api/kling" }) with no key), ' +
        "or pass dangerouslyAllowBrowser: true if you understand the risk.",
    );
  }
  const log = createLog(options.logger ?? console, resolved.logLevel, authorizer.secrets);
  // Called through a closure, never as a method of another object, so browsers and Workers do not throw "Illegal invocation".
  const baseFetch = options.fetch ?? ((request: Request, init?: RequestInit) => globalThis.fetch(request, init));
  const transport = createTransport({
    fetch: baseFetch,
    platformFetch: options.fetch === undefined,
    authorizer,
    log,
    timeoutMs: resolved.timeoutMs,
    maxRetries,
  });
  const raw = createRawClient({ baseUrl, fetch: transport() });

  // The methods' Requests carry no signal (theirs goes in the call options), so the transport need not listen to it.
  const call = (opts: RequestOptions | undefined, extra?: Partial<CallOptions>) =>
    transport({ signal: opts?.signal, timeoutMs: opts?.timeoutMs, maxRetries: opts?.maxRetries, ignoreRequestSignal: true, ...extra });

  async function postCreate(body: CreateTaskInput, opts: RequestOptions | undefined, deadline: number | undefined, passConcurrencyLimit: boolean): Promise<Task> {
    const { data } = await raw.POST(TASKS_PATH, { body, fetch: call(opts, { unsafe: true, deadline, passConcurrencyLimit }) });
    return redactTask(taskOf(data, "createTask"), log.redact);
  }

  async function getTaskWithin(taskId: string, opts: RequestOptions | undefined, deadline?: number): Promise<Task> {
    checkRequestOptions(opts);
    const { data } = await raw.GET(TASK_PATH, { params: { path: { task_id: checkTaskId(taskId) } }, fetch: call(opts, { deadline }) });
    return redactTask(taskOf(data, "getTask"), log.redact);
  }

  async function listPage(query: { pageNum?: number; pageSize?: number }, opts: RequestOptions | undefined, deadline?: number): Promise<Task[]> {
    checkPageQuery(query);
    checkRequestOptions(opts);
    const { data } = await raw.GET(TASKS_PATH, { params: { query }, fetch: call(opts, { deadline }) });
    if (data && data.data !== undefined && !Array.isArray(data.data)) throw new KlingConnectionError("listTasks answered without a task array in `data`.");
    return (data?.data ?? []).map((task) => redactTask(task, log.redact));
  }

  const lookupState: LookupSteps["state"] = { direct: "unknown" };
  function findTaskByExternalId(externalTaskId: string, opts?: LookupOptions, deadline?: number): Promise<Task | undefined> {
    const steps: LookupSteps = {
      get: (id) => getTaskWithin(id, opts, deadline),
      page: (pageNum) => listPage({ pageNum, pageSize: PAGE_SIZE_MAX }, opts, deadline),
      state: lookupState,
    };
    return findByExternalId(steps, externalTaskId, opts?.maxPages);
  }

  /** Checks the input, gives it an external_task_id (the caller's, or a fresh one) and creates it safely. */
  async function createTask(input: CreateTaskInput, opts?: RequestOptions, control: CreateControl = {}): Promise<Task> {
    const checked = checkCreateInput(input);
    checkRequestOptions(opts);
    const externalTaskId = checked.external_task_id ?? newExternalTaskId();
    const body = { ...checked, external_task_id: externalTaskId } as CreateTaskInput;
    const { deadline } = control;
    const passConcurrencyLimit = control.onConcurrencyLimit !== undefined;
    return safeCreate(
      {
        send: () => postCreate(body, opts, deadline, passConcurrencyLimit),
        lookup: () => findTaskByExternalId(externalTaskId, opts, deadline),
        log,
      },
      { ...control, externalTaskId, maxRetries: opts?.maxRetries ?? maxRetries, signal: opts?.signal },
    );
  }

  async function waitForTask(taskId: string, opts: WaitOptions = {}, initial?: Task, startedAt?: number): Promise<Task> {
    checkTaskId(taskId);
    checkWaitOptions(opts);
    const timeoutMs = opts.timeoutMs ?? DEFAULTS.waitTimeoutMs;
    const deadline = (startedAt ?? Date.now()) + timeoutMs;
    const requestOptions = { signal: opts.signal, maxRetries: opts.maxRetries };
    return waitLoop(taskId, () => getTaskWithin(taskId, requestOptions, deadline), {
      deadline,
      timeoutMs,
      signal: opts.signal,
      onProgress: opts.onProgress,
      pollIntervalMs: opts.pollIntervalMs,
      initial,
      log,
    });
  }

  const client: VideoToAudioClient = {
    raw,
    createTask: (input, opts) => createTask(input, opts),
    getTask: (taskId, opts) => getTaskWithin(taskId, opts),
    listTasks: (query = {}, opts) => listPage(query, opts),
    tasks: (query = {}, opts) => ({
      async *[Symbol.asyncIterator]() {
        const pageSize = query.pageSize ?? LIMITS.pageSizeDefault;
        checkPageQuery({ pageSize });
        for (let pageNum = 1; pageNum <= PAGE_NUM_MAX; pageNum++) {
          const page = await listPage({ pageNum, pageSize }, opts);
          yield* page;
          if (page.length < pageSize) return;
        }
      },
    }),
    findTaskByExternalId: (externalTaskId, opts) => {
      if (typeof externalTaskId !== "string" || externalTaskId === "") {
        return Promise.reject(new KlingValidationError("externalTaskId", "externalTaskId must be a non-empty string."));
      }
      return findTaskByExternalId(externalTaskId, opts);
    },
    waitForTask: (taskId, opts) => waitForTask(taskId, opts),
    async run(input, opts = {}) {
      checkWaitOptions(opts);
      const startedAt = Date.now();
      const deadline = startedAt + (opts.timeoutMs ?? DEFAULTS.waitTimeoutMs);
      const task = await createTask(input, { signal: opts.signal, maxRetries: opts.maxRetries }, { deadline });
      return waitForTask(task.task_id, opts, task, startedAt);
    },
    // Loaded on first use, so apps that never run batches do not download or parse the batch code.
    runBatch: (inputs, opts) => ({
      async *[Symbol.asyncIterator]() {
        const { runBatch } = await import("./batch.js");
        const batchClient = { createTask, waitForTask: client.waitForTask, tasks: client.tasks };
        yield* runBatch(batchClient, inputs, { ...opts, maxRetries: opts?.maxRetries ?? maxRetries });
      },
    }),
  };
  controlledCreates.set(client, createTask);
  return client;
}

/**
 * @internal Each client's create path with its controls (look up first, hand 1303 to the caller), for the queue
 * workers of `kling-video-to-audio/bullmq`, which must not retry 1303 themselves. Not part of the public client.
 */
export const controlledCreates = new WeakMap<VideoToAudioClient, (input: CreateTaskInput, opts?: RequestOptions, control?: CreateControl) => Promise<Task>>();

function taskOf(data: { data?: Task } | undefined, operation: string): Task {
  const task = data?.data;
  if (!task || typeof task.task_id !== "string" || typeof task.task_status !== "string") {
    throw new KlingConnectionError(`${operation} answered without a task in \`data\` (no task_id/task_status); the server or gateway sent an unexpected body.`);
  }
  return task;
}

/**
 * The task with the configured credentials removed from its `task_status_msg`: a server may quote the key there
 * ("quota of key sk-… exceeded"), and that text reaches errors, logs and the CLI's output.
 */
function redactTask(task: Task, redact: (text: string) => string): Task {
  const message = task?.task_status_msg;
  if (typeof message !== "string" || message === "") return task;
  const clean = redact(message);
  return clean === message ? task : { ...task, task_status_msg: clean };
}


