// KlingTaskFailedError: the task ended failed; carries the task and the server's reason.
import type { components } from "../../generated/openapi.js";
import { KlingError, type KlingErrorOptions } from "./kling-error.js";

type Task = components["schemas"]["Task"];

/** The task ended with `task_status: "failed"`; carries the task and the server's reason. */
export class KlingTaskFailedError extends KlingError {
  override readonly name: string = "KlingTaskFailedError";
  /** The failed task as last fetched; `task.task_status_msg` says why. */
  readonly task: Task;

  constructor(task: Task, options?: KlingErrorOptions) {
    const external = task.task_info?.external_task_id;
    const reason = task.task_status_msg?.trim() || "no reason given";
    super(
      `Task ${task.task_id}${external ? ` (external_task_id ${external})` : ""} failed: ${reason}. ` +
        "Nothing more will happen to it; fix the input if the reason names it, then create a new task.",
      options,
    );
    this.task = task;
  }
}
