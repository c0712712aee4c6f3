// createClient: the ergonomic client (safe creates, bounded waits and their polling loop, typed errors) over raw openapi-fetch.
import createFetchClient, { type Client } from "openapi-fetch";
import type { paths } from "../generated/openapi.js";
import { KlingConnectionError, KlingError, KlingInvalidRequestError, KlingValidationError, noteExternalTaskId } from "./errors.js";
import { createAuthorizer } from "./auth.js";
import { createLog, parseLogLevel } from "./logger.js";
import { baseUrlFrom, type ClientOptions, credentialsFrom, DEFAULTS, isBrowserPage, readEnv, type RequestOptions, type WaitOptions } from "./options.js";
import type { BatchOptions, BatchResult } from "./batch.js";
import { newExternalTaskId } from "./item-id.js";
import { backoffDelayMs, sleep } from "./retry.js";
import { waitLoop } from "./wait.js";
import { type CallOptions, createTransport, isAmbiguousFailure } from "./transport.js";
import type { CreateTaskInput, Task } from "./types.js";
import {
  checkBaseUrl,
  checkCount,
  checkCreateInput,
  checkDuration,
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

/** How many list pages (of 500) a lookup by `external_task_id` reads before it gives up. */
export const LOOKUP_MAX_PAGES = 10;

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
  /** The task whose `task_info.external_task_id` is `externalTaskId`, found by scanning the list; `undefined` if none. */
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
  checkDuration(options.timeoutMs, "timeoutMs");
  checkCount(options.maxRetries, "maxRetries", 0);
  const baseUrl = checkBaseUrl(baseUrlFrom(options.baseUrl));
  const maxRetries = options.maxRetries ?? DEFAULTS.maxRetries;
  const authorizer = createAuthorizer(credentialsFrom(options));
  if (isBrowserPage() && (options.apiKey || options.secretKey) && !options.dangerouslyAllowBrowser) {
    throw new KlingValidationError(
      "dangerouslyAllowBrowser",
      "createClient was given a key in a browser, where any visitor can read it. Call the API through your server " +
        '(createProxy from "kling-video-to-audio/proxy", then createClient({ baseUrl: "/api/kling" }) with no key), ' +
        "or pass dangerouslyAllowBrowser: true if you understand the risk.",
    );
  }
  const log = createLog(options.logger ?? console, options.logLevel ?? parseLogLevel(readEnv("KLING_V2A_LOG")) ?? DEFAULTS.logLevel, authorizer.secrets);
  // Called through a closure, never as a method of another object, so browsers and Workers do not throw "Illegal invocation".
  const baseFetch = options.fetch ?? ((request: Request, init?: RequestInit) => globalThis.fetch(request, init));
  const transport = createTransport({
    fetch: baseFetch,
    platformFetch: options.fetch === undefined,
    authorizer,
    log,
    timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
    maxRetries,
  });
  const raw = createRawClient({ baseUrl, fetch: transport() });

  // The methods' Requests carry no signal (theirs goes in the call options), so the transport need not listen to it.
  const call = (opts: RequestOptions | undefined, extra?: Partial<CallOptions>) =>
    transport({ signal: opts?.signal, timeoutMs: opts?.timeoutMs, maxRetries: opts?.maxRetries, ignoreRequestSignal: true, ...extra });

  async function postCreate(body: CreateTaskInput, opts: RequestOptions | undefined, deadline: number | undefined): Promise<Task> {
    const { data } = await raw.POST(TASKS_PATH, { body, fetch: call(opts, { unsafe: true, deadline }) });
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

  async function findTaskByExternalId(externalTaskId: string, opts?: LookupOptions, deadline?: number): Promise<Task | undefined> {
    const maxPages = opts?.maxPages ?? LOOKUP_MAX_PAGES;
    for (let pageNum = 1; pageNum <= Math.min(maxPages, PAGE_NUM_MAX); pageNum++) {
      const page = await listPage({ pageNum, pageSize: PAGE_SIZE_MAX }, opts, deadline);
      const found = page.find((task) => task.task_info?.external_task_id === externalTaskId);
      if (found) return found;
      if (page.length < PAGE_SIZE_MAX) return undefined;
    }
    return undefined;
  }

  /**
   * Safe create. Every create carries an external_task_id. When an attempt fails ambiguously (the request may
   * have reached the server: connection lost after sending, attempt timeout, 5xx), the task is looked up by
   * that id before the create is sent again, so one call never leaves two tasks behind.
   */
  async function createTask(input: CreateTaskInput, opts?: RequestOptions, deadline?: number): Promise<Task> {
    const checked = checkCreateInput(input);
    checkRequestOptions(opts);
    const externalTaskId = checked.external_task_id ?? newExternalTaskId();
    const body = { ...checked, external_task_id: externalTaskId } as CreateTaskInput;
    const retries = opts?.maxRetries ?? maxRetries;
    let ambiguous = false;
    for (let attempt = 0; ; attempt++) {
      try {
        return await postCreate(body, opts, deadline);
      } catch (error) {
        if (opts?.signal?.aborted) throw opts.signal.reason;
        // After an ambiguous failure, a rejection of the re-sent create may mean "that id already exists".
        const rejectedRetry = ambiguous && error instanceof KlingInvalidRequestError;
        if (!isAmbiguousFailure(error) && !rejectedRetry) throw ambiguous ? markMayExist(error, externalTaskId) : error;
        ambiguous = true;
        if (attempt < retries) await sleep(boundedDelay(backoffDelayMs(attempt), deadline), opts?.signal);
        log.warn(`createTask attempt ${attempt + 1} failed ambiguously; looking up external_task_id=${externalTaskId} before sending it again`);
        let existing: Task | undefined;
        try {
          existing = await findTaskByExternalId(externalTaskId, opts, deadline);
        } catch (lookupError) {
          if (opts?.signal?.aborted) throw opts.signal.reason;
          throw markMayExist(error, externalTaskId, lookupError);
        }
        if (existing) {
          log.info(`createTask: found task ${existing.task_id} created by the earlier attempt (external_task_id=${externalTaskId})`);
          return existing;
        }
        if (attempt >= retries || rejectedRetry) throw markMayExist(error, externalTaskId);
      }
    }
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
        const pageSize = query.pageSize ?? 30;
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
      const task = await createTask(input, { signal: opts.signal, maxRetries: opts.maxRetries }, deadline);
      return waitForTask(task.task_id, opts, task, startedAt);
    },
    // Loaded on first use, so apps that never run batches do not download or parse the batch code.
    runBatch: (inputs, opts) => ({
      async *[Symbol.asyncIterator]() {
        const { runBatch } = await import("./batch.js");
        yield* runBatch(client, inputs, { ...opts, maxRetries: opts?.maxRetries ?? maxRetries });
      },
    }),
  };
  return client;
}

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

function boundedDelay(delay: number, deadline: number | undefined): number {
  return deadline === undefined ? delay : Math.max(0, Math.min(delay, deadline - Date.now()));
}

/** The error to throw when a task may exist under `externalTaskId`: always a KlingError that names the id. */
function markMayExist(error: unknown, externalTaskId: string, lookupError?: unknown): KlingError {
  if (error instanceof KlingError) return noteExternalTaskId(error, externalTaskId);
  return new KlingConnectionError("createTask failed.", { cause: lookupError ?? error, externalTaskId });
}
