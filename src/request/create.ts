// Safe create and the lookup behind it: a task found by its external_task_id before it is sent again.

import { CODES } from "../../generated/facts.js";
import {
  isNotFound,
  KlingApiError,
  KlingConnectionError,
  KlingError,
  KlingInvalidRequestError,
  KlingRateLimitError,
  noteExternalTaskId,
} from "../errors.js";
import { DEFAULTS, type RequestOptions } from "../options.js";
import type { Log } from "../redact.js";
import type { CreateTaskInput, Task } from "../types.js";
import { checkCreateInput, checkRequestOptions, isPlainSegment, PAGE_NUM_MAX, PAGE_SIZE_MAX } from "./input.js";
import { backoffDelayMs, isAmbiguousFailure, sleep } from "./transport.js";

/**
 * What this server has shown of the direct lookup: `"unknown"` until a GET by external id returns the task
 * (`"supported"`: its 404 then means "no such task") or a scan finds a task the GET missed (`"unsupported"`: a
 * gateway that takes only task ids on that path, so later lookups go straight to the scan).
 */
type DirectLookup = "unknown" | "supported" | "unsupported";

export interface LookupSteps {
  /** GET of the query path with this id. */
  get(id: string): Promise<Task>;
  /** One list page of 500, newest first. */
  page(pageNum: number): Promise<Task[]>;
  /** Shared by every lookup of one client. */
  state: { direct: DirectLookup };
}

/** The task whose `task_info.external_task_id` is `externalTaskId`, or `undefined`. */
export async function findByExternalId(
  steps: LookupSteps,
  externalTaskId: string,
  maxPages: number = DEFAULTS.scanPages,
): Promise<Task | undefined> {
  const { state } = steps;
  if (state.direct !== "unsupported" && isPlainSegment(externalTaskId)) {
    const task = await getOrNotFound(steps, externalTaskId);
    // The path takes task ids too: only a task that carries this external id is the one looked for.
    if (task?.task_info?.external_task_id === externalTaskId) {
      state.direct = "supported";
      return task;
    }
    if (state.direct === "supported") return undefined;
  }
  const found = await scan(steps, externalTaskId, maxPages);
  if (found && state.direct === "unknown" && isPlainSegment(externalTaskId)) state.direct = "unsupported";
  return found;
}

async function getOrNotFound(steps: LookupSteps, id: string): Promise<Task | undefined> {
  try {
    return await steps.get(id);
  } catch (error) {
    if (error instanceof KlingApiError && isNotFound(error.status, error.code)) return undefined;
    throw error;
  }
}

async function scan(steps: LookupSteps, externalTaskId: string, maxPages: number): Promise<Task | undefined> {
  for (let pageNum = 1; pageNum <= Math.min(maxPages, PAGE_NUM_MAX); pageNum++) {
    const page = await steps.page(pageNum);
    const found = page.find((task) => task.task_info?.external_task_id === externalTaskId);
    if (found) return found;
    if (page.length < PAGE_SIZE_MAX) return undefined;
  }
  return undefined;
}

/** How a caller steers a create beyond the public RequestOptions (batches, queue workers). */
export interface CreateControl {
  /** Absolute epoch ms: no attempt, lookup or backoff runs past it. @default undefined (no deadline) */
  deadline?: number | undefined;
  /**
   * The task may exist already (a resumed batch item, a queue job taken over): look it up before the first send.
   * @default false
   */
  mayExist?: boolean | undefined;
  /**
   * Handles code 1303 (the account runs as many tasks as it may) in place of the transport's retries: resolve to send
   * again (not counted as an attempt), throw to give up. Batches wait for a slot; queue workers back the queue off.
   * @default undefined (the transport retries 1303 with backoff)
   */
  onConcurrencyLimit?: ((error: KlingRateLimitError) => Promise<void>) | undefined;
}

/** The steps safe create is made of, supplied by the client (and replaced in tests). */
interface CreateSteps {
  /** One create request; must throw at once (not retry) on a failure after which the task may exist. */
  send(): Promise<Task>;
  /** The task created under the external id, if any. */
  lookup(): Promise<Task | undefined>;
  log: Log;
}

interface SafeCreateOptions extends CreateControl {
  externalTaskId: string;
  /** Sends after an ambiguous failure (each preceded by a lookup). */
  maxRetries: number;
  signal?: AbortSignal | undefined;
}

/** What the client supplies to a create: its one POST, its lookup by external id, its log and its default retries. */
export interface CreatePath {
  post(body: CreateTaskInput, opts: RequestOptions | undefined, control: CreateControl): Promise<Task>;
  find(
    externalTaskId: string,
    opts: RequestOptions | undefined,
    deadline: number | undefined,
  ): Promise<Task | undefined>;
  log: Log;
  maxRetries: number;
}

/**
 * A create as the client's `createTask` makes it (loaded with its first call): the input checked (nothing is sent
 * when it is bad), given an external_task_id (the caller's, or a fresh one), and created safely.
 */
export async function createChecked(
  path: CreatePath,
  input: unknown,
  opts?: RequestOptions,
  control: CreateControl = {},
): Promise<Task> {
  const checked = checkCreateInput(input);
  checkRequestOptions(opts);
  const externalTaskId = checked.external_task_id ?? newExternalTaskId();
  const body = { ...checked, external_task_id: externalTaskId } as CreateTaskInput;
  return safeCreate(
    {
      send: () => path.post(body, opts, control),
      lookup: () => path.find(externalTaskId, opts, control.deadline),
      log: path.log,
    },
    { ...control, externalTaskId, maxRetries: opts?.maxRetries ?? path.maxRetries, signal: opts?.signal },
  );
}

/** A fresh id for a create that the caller gave none: it lets a lost answer be found again instead of re-billed. */
export function newExternalTaskId(): string {
  return `kv2a-${globalThis.crypto.randomUUID()}`;
}

/** Whether an error is Kling's "the account's task limit is reached" (code 1303). */
export function isConcurrencyLimit(error: unknown): error is KlingRateLimitError {
  return (
    error instanceof KlingRateLimitError && error.code !== undefined && CODES[error.code]?.concurrencyLimit === true
  );
}

/**
 * Creates at most one task for `externalTaskId`. An ambiguous failure (the request may have reached the server:
 * connection lost after sending, attempt timeout, 5xx) is followed by a backoff and a lookup by the id: a found task
 * is returned, otherwise the create is sent again, up to `maxRetries` times. A rejection of a re-send (perhaps "that
 * id exists") gets one more lookup. Whatever is thrown after an ambiguous failure names the id.
 */
async function safeCreate(steps: CreateSteps, options: SafeCreateOptions): Promise<Task> {
  const { externalTaskId, signal, deadline } = options;
  let ambiguous = options.mayExist === true;
  let lookupFirst = ambiguous;
  let attempt = 0;
  for (;;) {
    if (lookupFirst) {
      const existing = await lookupOrExplain(steps, externalTaskId, signal, undefined);
      if (existing) return existing;
    }
    try {
      return await steps.send();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (options.onConcurrencyLimit && isConcurrencyLimit(error)) {
        await options.onConcurrencyLimit(error);
        lookupFirst = ambiguous;
        continue;
      }
      const rejectedRetry = ambiguous && error instanceof KlingInvalidRequestError;
      if (!isAmbiguousFailure(error) && !rejectedRetry) throw ambiguous ? markMayExist(error, externalTaskId) : error;
      ambiguous = true;
      if (attempt < options.maxRetries) await sleep(boundedDelay(backoffDelayMs(attempt), deadline), signal);
      steps.log.warn(
        `createTask attempt ${attempt + 1} failed ambiguously; looking up external_task_id=${externalTaskId} before ` +
          `sending it again`,
      );
      const existing = await lookupOrExplain(steps, externalTaskId, signal, error);
      if (existing) return existing;
      if (attempt >= options.maxRetries || rejectedRetry) throw markMayExist(error, externalTaskId);
      attempt++;
      lookupFirst = false;
    }
  }
}

/**
 * The lookup; a lookup that fails is reported as the create's failure (`failure`, when there is one), naming the id.
 */
async function lookupOrExplain(
  steps: CreateSteps,
  externalTaskId: string,
  signal: AbortSignal | undefined,
  failure: unknown,
): Promise<Task | undefined> {
  try {
    const existing = await steps.lookup();
    if (existing)
      steps.log.info(`createTask: found task ${existing.task_id} created earlier (external_task_id=${externalTaskId})`);
    return existing;
  } catch (lookupError) {
    if (signal?.aborted) throw signal.reason;
    throw markMayExist(failure ?? lookupError, externalTaskId, lookupError);
  }
}

function boundedDelay(delay: number, deadline: number | undefined): number {
  return deadline === undefined ? delay : Math.max(0, Math.min(delay, deadline - Date.now()));
}

/** The error to throw when a task may exist under `externalTaskId`: always a KlingError that names the id. */
function markMayExist(error: unknown, externalTaskId: string, lookupError?: unknown): KlingError {
  if (error instanceof KlingError) return noteExternalTaskId(error, externalTaskId);
  return new KlingConnectionError("createTask failed.", { cause: lookupError ?? error, externalTaskId });
}
