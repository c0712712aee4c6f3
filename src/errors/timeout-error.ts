// KlingTimeoutError: one HTTP attempt or a whole wait ran past its limit.
import { KlingError, type KlingErrorOptions } from "./kling-error.js";

export interface KlingTimeoutErrorOptions extends KlingErrorOptions {
  /** `"attempt"`: one HTTP attempt; `"wait"`: a whole wait or call deadline. */
  kind: "attempt" | "wait";
  /** The limit that ran out, in ms. @default undefined */
  timeoutMs?: number | undefined;
  /** The task being waited for. @default undefined */
  taskId?: string | undefined;
  /** The task's last observed `task_status`. @default undefined */
  lastStatus?: string | undefined;
  /** What was being sent, e.g. `GET /v1/audio/video-to-audio/123`, for the message. @default undefined */
  request?: string | undefined;
}

/** A limit ran out: one HTTP attempt got no answer in time, or a whole wait passed its deadline. */
export class KlingTimeoutError extends KlingError {
  override readonly name: string = "KlingTimeoutError";
  /** Which limit ran out: one HTTP attempt, or a whole wait. */
  readonly kind: "attempt" | "wait";
  /** The task being waited for: pass it to `waitForTask` to keep waiting. */
  declare readonly taskId?: string;
  /** The task's last observed `task_status`. */
  declare readonly lastStatus?: string;
  /** The limit that ran out, in ms. */
  declare readonly timeoutMs?: number;

  constructor(options: KlingTimeoutErrorOptions) {
    super(timeoutMessage(options), options);
    this.kind = options.kind;
    if (options.taskId !== undefined) this.taskId = options.taskId;
    if (options.lastStatus !== undefined) this.lastStatus = options.lastStatus;
    if (options.timeoutMs !== undefined) this.timeoutMs = options.timeoutMs;
  }
}

function timeoutMessage({ kind, timeoutMs, taskId, lastStatus, request }: KlingTimeoutErrorOptions): string {
  const within = timeoutMs !== undefined ? ` within ${timeoutMs} ms` : " in time";
  if (kind === "attempt") {
    return `${request ?? "The HTTP request"} got no answer${within} (one attempt). Raise timeoutMs if the server or network is slow.`;
  }
  if (taskId === undefined) {
    return `${request ?? "The operation"} did not finish${within}: the deadline passed. Raise timeoutMs, or try again.`;
  }
  const seen = lastStatus ? ` (last status: ${lastStatus})` : "";
  return `Task ${taskId} did not finish${within}${seen}. It keeps running on the server: wait for it again with waitForTask("${taskId}").`;
}
