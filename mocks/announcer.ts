// Callback scheduling: each status change of a task with a callback_url goes to the deliverer once, in order, on time
// (a timer on the real clock; with an injected clock, whenever a request reveals the change).
import type { Json } from "./answer.js";
import type { Deliverer } from "./callbacks.js";
import type { MockTask, TaskStore } from "./tasks.js";

/** The task as getTask answers it in `stage`, with media under `base`: the body a callback carries. */
export type TaskAt = (task: MockTask, stage: number, base: string) => Promise<Json>;

export class Announcer {
  private closed = false;

  constructor(
    private readonly store: TaskStore,
    private readonly deliverer: Deliverer,
    private readonly taskAt: TaskAt,
    private readonly clockInjected: boolean,
    private readonly log: ((line: string) => void) | undefined,
  ) {}

  /** After a create's answer has gone out, its `submitted` callback follows, as Kling's would. */
  afterCreate(task: MockTask): void {
    if (task.callbackUrl !== undefined) setTimeout(() => this.announceLogged(task), 0);
  }

  /** With an injected clock, each request is a chance for the status changes it reveals to be delivered. */
  async announceAll(): Promise<void> {
    if (!this.clockInjected) return;
    for (const task of this.store.tasks.values())
      if (task.callbackUrl !== undefined && task.announced <= 2) await this.announce(task);
  }

  close(): void {
    this.closed = true;
  }

  /** Delivers every status change of `task` that is due and not yet delivered, then waits for the next one. */
  private announce(task: MockTask): Promise<void> {
    // One at a time per task (two requests may reveal the same change at once): each status goes out once, in order.
    task.announcing = (task.announcing ?? Promise.resolve()).catch(() => {}).then(() => this.announceDue(task));
    return task.announcing;
  }

  private announceLogged(task: MockTask): void {
    this.announce(task).catch((error: unknown) =>
      this.log?.(`callback of task ${task.id} not sent: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  private async announceDue(task: MockTask): Promise<void> {
    const url = task.callbackUrl;
    if (url === undefined || this.closed || this.store.tasks.get(task.id) !== task) return;
    const due = this.store.stageOf(task);
    while (task.announced <= due) {
      const stage = task.announced++;
      const body = JSON.stringify(await this.taskAt(task, stage, task.base));
      if (this.closed) return;
      this.deliverer.send(task.id, this.store.stageStatus(task, stage), url, body);
    }
    this.schedule(task);
  }

  /** A timer for the task's next status change (on the real clock; an injected clock moves only when asked). */
  private schedule(task: MockTask): void {
    clearTimeout(task.timer);
    if (this.clockInjected || task.announced > 2 || this.closed) return;
    const next = this.store.stageAt(task, task.announced);
    task.timer = setTimeout(() => this.announceLogged(task), Math.max(0, next - this.store.now()));
    // In Node, a pending callback must not keep the process alive; browsers have no unref.
    (task.timer as { unref?: () => void }).unref?.();
  }
}
