// The public shape of a client: VideoToAudioClient and its raw openapi-fetch client (types only).
import type { Client } from "openapi-fetch";
import type { paths } from "../generated/openapi.js";
import type { BatchOptions, BatchResult } from "./batch.js";
import type { LookupOptions, RequestOptions, WaitOptions } from "./options.js";
import type { CreateTaskInput, Task } from "./types.js";

/** The low-level typed client: openapi-fetch over the generated `paths`. */
export type RawClient = Client<paths>;

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
  runBatch(
    inputs: Iterable<CreateTaskInput> | AsyncIterable<CreateTaskInput>,
    options?: BatchOptions,
  ): AsyncIterable<BatchResult>;
  /** The underlying openapi-fetch client, for anything the methods above do not cover. */
  readonly raw: RawClient;
}
