// The client's methods over the retrying transport: safe creates, lookups, bounded waits, and the log they share;
// loaded with a client's first call.
import type { Authorizer } from "../auth.js";
import type { RawClient, VideoToAudioClient } from "../client.js";
import { KlingConnectionError, KlingValidationError } from "../errors.js";
import {
  type ClientOptions,
  DEFAULTS,
  type LogLevel,
  type LookupOptions,
  onFirstUse,
  platformFetch,
  RANK,
  type RequestOptions,
  type ResolvedOptions,
  type WaitOptions,
} from "../options.js";
import type { Log, Logger, RedactingLog } from "../redact.js";
import type { CreateTaskInput, Task } from "../types.js";
import { type CreateControl, type CreatePath, createChecked, findByExternalId, type LookupSteps } from "./create.js";
import {
  checkPageQuery,
  checkPollFloor,
  checkRequestOptions,
  checkTaskId,
  checkWaitOptions,
  PAGE_NUM_MAX,
  PAGE_SIZE_MAX,
} from "./input.js";
import { type CallOptions, createTransport, type TransportFetch } from "./transport.js";
import { waitLoop } from "./wait.js";

const TASKS_PATH = "/v1/audio/video-to-audio" as const;
const TASK_PATH = "/v1/audio/video-to-audio/{task_id}" as const;

/** What createClient has settled before the first call: the options, credentials, logger and the raw client. */
export interface Connection {
  resolved: ResolvedOptions;
  authorizer: Authorizer;
  /** The caller's logger, if any (else console). */
  logger: Logger | undefined;
  /** The caller's fetch, if any. */
  fetch: ClientOptions["fetch"];
  raw: RawClient;
}

/** The client's methods (see `VideoToAudioClient`), with the create path's controls, and the raw client's transport. */
export type ClientMethods = Omit<VideoToAudioClient, "raw" | "createTask"> & {
  /** The fetch under `raw`: the retrying transport with the client's defaults. */
  rawFetch: TransportFetch;
  createTask(input: CreateTaskInput, opts?: RequestOptions, control?: CreateControl): Promise<Task>;
};

/**
 * The methods of one client: one transport, one memory of whether its server takes external ids on the query path.
 * At "info" and "debug" a call that succeeds writes lines, so their redaction loads before the methods are handed out
 * and every line is written as it happens; at "warn" and above only a failure writes, and the failure loads it first.
 */
export async function clientMethods(connection: Connection): Promise<ClientMethods> {
  const { resolved, authorizer, raw } = connection;
  const log = deferredLog(connection.logger ?? console, resolved.logLevel, authorizer.secrets);
  const { maxRetries } = resolved;
  log.debug("request code loaded (transport, retries, safe create, waits), with this client's first call");
  // Called through a closure, never as a method of another object, so browsers and Workers do not throw "Illegal
  // invocation".
  const baseFetch = connection.fetch ?? platformFetch;
  const transport = createTransport({
    fetch: baseFetch,
    platformFetch: connection.fetch === undefined,
    authorizer,
    log,
    loadFailurePath: () => import("./failure.js"),
    timeoutMs: resolved.timeoutMs,
    maxRetries,
  });

  // The methods' Requests carry no signal (theirs goes in the call options), so the transport need not listen to it;
  // they read answers with json() only, so the transport can hand them the answer it read.
  const call = (opts: RequestOptions | undefined, deadline: number | undefined, extra?: Partial<CallOptions>) =>
    transport({
      signal: opts?.signal,
      timeoutMs: opts?.timeoutMs,
      maxRetries: opts?.maxRetries,
      deadline,
      ignoreRequestSignal: true,
      jsonOnly: true,
      ...extra,
    });

  async function getTaskWithin(taskId: string, opts: RequestOptions | undefined, deadline?: number): Promise<Task> {
    checkRequestOptions(opts);
    const { data } = await raw.GET(TASK_PATH, {
      params: { path: { task_id: checkTaskId(taskId) } },
      fetch: call(opts, deadline),
    });
    return redactTask(taskOf(data, "getTask"), log);
  }

  async function listPage(
    query: { pageNum?: number; pageSize?: number },
    opts: RequestOptions | undefined,
    deadline?: number,
  ): Promise<Task[]> {
    checkPageQuery(query);
    checkRequestOptions(opts);
    const { data } = await raw.GET(TASKS_PATH, { params: { query }, fetch: call(opts, deadline) });
    if (data && data.data !== undefined && !Array.isArray(data.data))
      throw new KlingConnectionError("listTasks answered without a task array in `data`.");
    return Promise.all((data?.data ?? []).map((task) => redactTask(task, log)));
  }

  const lookupState: LookupSteps["state"] = { direct: "unknown" };
  async function findTaskByExternalId(
    externalTaskId: string,
    opts?: LookupOptions,
    deadline?: number,
  ): Promise<Task | undefined> {
    const steps: LookupSteps = {
      get: (id) => getTaskWithin(id, opts, deadline),
      page: (pageNum) => listPage({ pageNum, pageSize: PAGE_SIZE_MAX }, opts, deadline),
      state: lookupState,
    };
    return findByExternalId(steps, externalTaskId, opts?.maxPages);
  }

  const createPath: CreatePath = {
    async post(body, opts, control) {
      const passConcurrencyLimit = control.onConcurrencyLimit !== undefined;
      const { data } = await raw.POST(TASKS_PATH, {
        body,
        fetch: call(opts, control.deadline, { unsafe: true, passConcurrencyLimit }),
      });
      return redactTask(taskOf(data, "createTask"), log);
    },
    find: findTaskByExternalId,
    log,
    maxRetries,
  };
  const createTask = (input: CreateTaskInput, opts?: RequestOptions, control?: CreateControl): Promise<Task> =>
    createChecked(createPath, input, opts, control);

  async function waitForTask(
    taskId: string,
    opts: WaitOptions = {},
    initial?: Task,
    startedAt?: number,
  ): Promise<Task> {
    checkTaskId(taskId);
    checkWaitOptions(opts);
    checkPollFloor(opts.pollIntervalMs, resolved.baseUrl);
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

  async function* tasks(query: { pageSize?: number } = {}, opts?: RequestOptions): AsyncGenerator<Task> {
    const pageSize = query.pageSize ?? DEFAULTS.pageSize;
    checkPageQuery({ pageSize });
    for (let pageNum = 1; pageNum <= PAGE_NUM_MAX; pageNum++) {
      const page = await listPage({ pageNum, pageSize }, opts);
      yield* page;
      if (page.length < pageSize) return;
    }
  }

  const rawSafe = transport();
  const rawUnsafe = transport({ unsafe: true });
  if (log.enabled("info")) await log.redaction();
  return {
    // Through raw, only GET and HEAD are safe to send again after a failure that may have taken effect: a POST is
    // retried only where the server certainly did not act (refused connection, 1302/1303), as raw has no safe create.
    rawFetch: (request, init) =>
      (request.method === "GET" || request.method === "HEAD" ? rawSafe : rawUnsafe)(request, init),
    createTask,
    getTask: (taskId, opts) => getTaskWithin(taskId, opts),
    listTasks: (query = {}, opts) => listPage(query, opts),
    tasks,
    findTaskByExternalId: (externalTaskId, opts) => {
      if (typeof externalTaskId !== "string" || externalTaskId === "") {
        return Promise.reject(new KlingValidationError("externalTaskId", "externalTaskId must be a non-empty string."));
      }
      return findTaskByExternalId(externalTaskId, opts);
    },
    waitForTask: (taskId, opts) => waitForTask(taskId, opts),
    async run(input, opts = {}) {
      checkWaitOptions(opts);
      checkPollFloor(opts.pollIntervalMs, resolved.baseUrl);
      const startedAt = Date.now();
      const deadline = startedAt + (opts.timeoutMs ?? DEFAULTS.waitTimeoutMs);
      const task = await createTask(input, { signal: opts.signal, maxRetries: opts.maxRetries }, { deadline });
      return waitForTask(task.task_id, opts, task, startedAt);
    },
    // Loaded on first use, so apps that never run batches do not download or parse the batch code.
    async *runBatch(inputs, opts) {
      checkPollFloor(opts?.pollIntervalMs, resolved.baseUrl);
      const { runBatch } = await import("./batch.js");
      const batchClient = {
        createTask,
        waitForTask: (taskId: string, o?: WaitOptions) => waitForTask(taskId, o),
        tasks,
      };
      yield* runBatch(batchClient, inputs, { ...opts, maxRetries: opts?.maxRetries ?? maxRetries });
    },
  };
}

function taskOf(data: { data?: Task } | undefined, operation: string): Task {
  const task = data?.data;
  if (!task || typeof task.task_id !== "string" || typeof task.task_status !== "string") {
    throw new KlingConnectionError(
      `${operation} answered without a task in \`data\` (no task_id/task_status); the server or gateway sent an ` +
        `unexpected body.`,
    );
  }
  return task;
}

/**
 * The task with the configured credentials removed from its `task_status_msg`: a server may quote the key there
 * ("quota of key sk-… exceeded"), and that text reaches errors, logs and the CLI's output. A task without a message
 * (every one that has not failed) needs no redaction, so none is loaded for it.
 */
async function redactTask(task: Task, log: Log): Promise<Task> {
  const message = task?.task_status_msg;
  if (typeof message !== "string" || message === "") return task;
  const clean = (await log.redaction())(message);
  return clean === message ? task : { ...task, task_status_msg: clean };
}

/**
 * The client's log. The level is checked at once; the redaction (src/redact.ts) loads with the first line written or
 * the first failure, so calls that succeed at the default level ("warn") never load it. Lines written before it has
 * loaded are written, in order, once it has; where it cannot load, they wait for a later line or failure to load it.
 */
export function deferredLog(
  logger: Logger,
  level: LogLevel,
  secrets: readonly string[],
  load: () => Promise<typeof import("../redact.js")> = () => import("../redact.js"),
): Log {
  const pending: Array<(log: RedactingLog) => void> = [];
  const redacting = onFirstUse(() =>
    load().then(({ createLog }) => {
      const log = createLog(logger, level, secrets);
      for (const write of pending.splice(0)) write(log);
      return log;
    }),
  );
  const write =
    (at: Exclude<LogLevel, "off">) =>
    (message: string, ...rest: unknown[]): void => {
      if (RANK[at] < RANK[level]) return;
      const log = redacting.loaded;
      if (log) {
        log[at](message, ...rest);
        return;
      }
      pending.push((loaded) => loaded[at](message, ...rest));
      redacting.get().catch(() => {}); // the lines wait for a later load
    };
  return {
    level,
    enabled: (at) => RANK[at] >= RANK[level],
    redaction: () => redacting.get().then((log) => log.redact),
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
  };
}
