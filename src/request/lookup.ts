// Finding a task by its external_task_id: one GET on the query path (Kling takes either id there), the list scan as fallback.
import { isNotFound, KlingApiError } from "../errors.js";
import { DEFAULTS } from "../options.js";
import type { Task } from "../types.js";
import { isPlainSegment, PAGE_NUM_MAX, PAGE_SIZE_MAX } from "./input.js";

/**
 * What this server has shown of the direct lookup: `"unknown"` until a GET by external id returns the task
 * (`"supported"`: its 404 then means "no such task") or a scan finds a task the GET missed (`"unsupported"`: a
 * gateway that takes only task ids on that path, so later lookups go straight to the scan).
 */
export type DirectLookup = "unknown" | "supported" | "unsupported";

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
