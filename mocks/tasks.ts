// The mock's task store and clock: tasks remembered (at most maxTasks), their ids, their stages over time, and the
// task object each stage shows, shaped from the spec's example.
import { isObject, type Json } from "./answer.js";
import { type MediaSet, patchTaskMedia } from "./media.js";
import type { MockTaskStatus } from "./types.js";

/** What the mock remembers of a create request. */
export interface MockTask {
  id: string;
  createdAt: number;
  externalTaskId?: string | undefined;
  videoId?: string | undefined;
  videoUrl?: string | undefined;
  callbackUrl?: string | undefined;
  /** The API's base as the creating client reached it: the base of the media URLs its callbacks carry. */
  base: string;
  /** Whether the task ends `failed` (a "fail" marker in an input, or `Prefer: example=failed` on the create). */
  fails: boolean;
  /** Gateway envelope asked for on the create (`Prefer: example=gateway`). */
  gateway: boolean;
  /** How many of the task's status changes have been delivered to its callback_url (0-3). */
  announced: number;
  /** The announcement in progress, which the next one waits for. */
  announcing?: Promise<void>;
  timer?: ReturnType<typeof setTimeout>;
}

/** The stage a task is in: 0 submitted, 1 processing, 2 ended. */
export type Stage = 0 | 1 | 2;

export interface TaskStoreOptions {
  now: () => number;
  submittedMs: number;
  processingMs: number;
  maxTasks: number;
}

/** Inputs whose "fail" marker makes a task end `failed`. */
const FAIL_FIELDS = ["video_id", "video_url", "sound_effect_prompt", "bgm_prompt", "external_task_id"];
const FAIL_MARKER = /fail/i;
/**
 * Task ids grow with the clock from the id of Kling's published sample (kling-api.md §3, created 2024-08-04), 4096
 * per millisecond: 18-digit numeric strings like Kling's, never the spec's example id, and a restarted mock does not
 * hand out an id a frontend remembers from an earlier run.
 */
const ID_BASE = 866_889_456_698_785_798n;
const ID_BASE_MS = 1_722_769_557_708n;
/** The spec's example task id: Prefer-chosen answers carry it, so its media are served too. */
export const EXAMPLE_TASK_ID = ID_BASE.toString();

export class TaskStore {
  /** Insertion order is creation order: the first key is the oldest task. */
  readonly tasks = new Map<string, MockTask>();
  /** The latest task per external_task_id: getTask takes either id, as Kling's does (kling-api.md §9). */
  private readonly byExternalId = new Map<string, string>();
  private lastId = ID_BASE;

  constructor(private readonly options: TaskStoreOptions) {}

  now(): number {
    return this.options.now();
  }

  /** Remembers a new task made from a create body, forgetting the oldest beyond `maxTasks`. */
  create(input: Json, base: string, choice: string | undefined): MockTask {
    const createdAt = this.now();
    const task: MockTask = {
      id: this.nextTaskId(createdAt),
      createdAt,
      externalTaskId: stringField(input, "external_task_id"),
      videoId: stringField(input, "video_id"),
      videoUrl: stringField(input, "video_url"),
      callbackUrl: stringField(input, "callback_url"),
      base,
      fails: choice === "failed" || FAIL_FIELDS.some((key) => FAIL_MARKER.test(stringField(input, key) ?? "")),
      gateway: choice === "gateway",
      announced: 0,
    };
    this.tasks.set(task.id, task);
    if (task.externalTaskId !== undefined) this.byExternalId.set(task.externalTaskId, task.id);
    while (this.tasks.size > this.options.maxTasks) {
      const oldest = this.tasks.values().next().value;
      if (oldest === undefined) break;
      this.forget(oldest);
    }
    return task;
  }

  /** The task with this task_id, or else the latest with this external_task_id. */
  find(id: string): MockTask | undefined {
    const direct = this.tasks.get(id);
    if (direct) return direct;
    const viaExternal = this.byExternalId.get(id);
    return viaExternal === undefined ? undefined : this.tasks.get(viaExternal);
  }

  /** One page of tasks, newest first, as the API pages its list. */
  page(pageNum: number, pageSize: number): MockTask[] {
    return [...this.tasks.values()].reverse().slice((pageNum - 1) * pageSize, pageNum * pageSize);
  }

  /** Forgets every task and stops their timers. */
  clear(): void {
    for (const task of this.tasks.values()) clearTimeout(task.timer);
    this.tasks.clear();
    this.byExternalId.clear();
  }

  /** When the task's stage begins. */
  stageAt(task: MockTask, stage: number): number {
    const { submittedMs, processingMs } = this.options;
    const times = [task.createdAt, task.createdAt + submittedMs, task.createdAt + submittedMs + processingMs];
    return times[Math.min(2, Math.max(0, stage))] ?? task.createdAt;
  }

  stageStatus(task: MockTask, stage: number): MockTaskStatus {
    return stage === 0 ? "submitted" : stage === 1 ? "processing" : task.fails ? "failed" : "succeed";
  }

  /** The stage the task is in at `at` (now by default). */
  stageOf(task: MockTask, at = this.now()): Stage {
    return at >= this.stageAt(task, 2) ? 2 : at >= this.stageAt(task, 1) ? 1 : 0;
  }

  /** The example the task's stage is shaped from: its status, or `gateway` for a gateway task that succeeded. */
  exampleName(task: MockTask, stage: number): string {
    const status = this.stageStatus(task, stage);
    return task.gateway && status === "succeed" ? "gateway" : status;
  }

  private nextTaskId(at: number): string {
    const fromClock = ID_BASE + (BigInt(Math.trunc(at)) - ID_BASE_MS) * 4096n;
    this.lastId = fromClock > this.lastId ? fromClock : this.lastId + 1n;
    return this.lastId.toString();
  }

  private forget(task: MockTask): void {
    this.tasks.delete(task.id);
    clearTimeout(task.timer);
    if (task.externalTaskId !== undefined && this.byExternalId.get(task.externalTaskId) === task.id)
      this.byExternalId.delete(task.externalTaskId);
  }
}

/** The spec's example task, made into this task: its id everywhere (result URLs too), its inputs, its timestamps. */
export function shapeTask(example: Json, task: MockTask, updatedAt: number, base: string, media: MediaSet): Json {
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
  patchTaskMedia(data, base, media);
  return data;
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
