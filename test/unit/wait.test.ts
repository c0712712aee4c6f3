// The wait loop: schedule, deadline, abort, progress, unknown statuses, transient poll failures.
import { describe, expect, it } from "vitest";
import {
  KlingConnectionError,
  KlingInvalidRequestError,
  KlingTaskFailedError,
  KlingTimeoutError,
} from "../../src/errors.js";
import { createLog } from "../../src/redact.js";
import { pollDelayMs, waitLoop } from "../../src/request/wait.js";
import type { Task } from "../../src/types.js";

const silent = createLog(console, "off", []);
const task = (task_status: string, extra: Partial<Task> = {}): Task => ({
  task_id: "42",
  task_status: task_status as Task["task_status"],
  ...extra,
});

/** A fetchTask that answers the scripted statuses (or throws scripted errors) in turn, repeating the last. */
function scripted(...steps: Array<Task | Error>) {
  let calls = 0;
  const fetchTask = async () => {
    const step = steps[Math.min(calls++, steps.length - 1)]!;
    if (step instanceof Error) throw step;
    return step;
  };
  return { fetchTask, calls: () => calls };
}

const fast = { deadline: Date.now() + 10_000, timeoutMs: 10_000, pollIntervalMs: 1, log: silent };

describe("pollDelayMs", () => {
  it("starts at 1 s, grows by 1.5x, settles at the steady interval, with ±20% jitter", () => {
    const mid = () => 0.5;
    expect([0, 1, 2, 3, 4, 5, 10].map((n) => pollDelayMs(n, 5000, mid))).toEqual([
      1000, 1500, 2250, 3375, 5000, 5000, 5000,
    ]);
    expect(pollDelayMs(0, 5000, () => 0)).toBe(800);
    expect(pollDelayMs(0, 5000, () => 1)).toBe(1200);
    expect(pollDelayMs(7, 2000, mid)).toBe(2000);
    expect(pollDelayMs(0, 10, mid)).toBe(10);
  });
});

describe("waitLoop", () => {
  it("resolves on succeed and reports each status change once", async () => {
    const seen: string[] = [];
    const { fetchTask, calls } = scripted(
      task("submitted"),
      task("submitted"),
      task("processing"),
      task("processing"),
      task("succeed"),
    );
    const done = await waitLoop("42", fetchTask, { ...fast, onProgress: (t) => seen.push(t.task_status) });
    expect(done.task_status).toBe("succeed");
    expect(seen).toEqual(["submitted", "processing", "succeed"]);
    expect(calls()).toBe(5);
  });

  it(
    "a poll cut short by the wait's own deadline ends the wait with no warning (the deadline, not an " + "outage)",
    async () => {
      let clock = 0;
      const warnings: string[] = [];
      const log = createLog({ debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} }, "warn", []);
      // The last poll gets the 1 ms left and times out as one attempt; by then the deadline has passed.
      const fetchTask = async () => {
        if (clock === 0) {
          clock = 999;
          return task("processing");
        }
        clock = 1000;
        throw new KlingTimeoutError({ kind: "attempt", timeoutMs: 1 });
      };
      const error = await waitLoop("42", fetchTask, {
        deadline: 1000,
        timeoutMs: 1000,
        pollIntervalMs: 1,
        log,
        now: () => clock,
      }).catch((e) => e);
      expect(error).toBeInstanceOf(KlingTimeoutError);
      expect(error).toMatchObject({ kind: "wait", taskId: "42", lastStatus: "processing" });
      expect(warnings).toEqual([]);
    },
  );

  it("counts unknown statuses as still running", async () => {
    const { fetchTask } = scripted(task("queued"), task("rendering"), task("succeed"));
    await expect(waitLoop("42", fetchTask, fast)).resolves.toMatchObject({ task_status: "succeed" });
  });

  it("throws KlingTaskFailedError with the task and its reason", async () => {
    const { fetchTask } = scripted(task("processing"), task("failed", { task_status_msg: "video too short" }));
    const error = await waitLoop("42", fetchTask, fast).catch((e) => e);
    expect(error).toBeInstanceOf(KlingTaskFailedError);
    expect(error.task.task_status_msg).toBe("video too short");
    expect(error.message).toContain("video too short");
  });

  it("throws KlingTimeoutError with taskId and lastStatus at the deadline; the task is not cancelled", async () => {
    let clock = 0;
    const { fetchTask } = scripted(task("processing"));
    const error = await waitLoop("42", fetchTask, {
      ...fast,
      deadline: 50,
      timeoutMs: 50,
      now: () => (clock += 10),
    }).catch((e) => e);
    expect(error).toBeInstanceOf(KlingTimeoutError);
    expect(error).toMatchObject({ kind: "wait", taskId: "42", lastStatus: "processing", timeoutMs: 50 });
    expect(error.message).toContain('waitForTask("42")');
  });

  it("an abort interrupts a long poll sleep at once with the signal's reason", async () => {
    const controller = new AbortController();
    const { fetchTask } = scripted(task("processing"));
    const waiting = waitLoop("42", fetchTask, {
      ...fast,
      pollIntervalMs: 600_000,
      signal: controller.signal,
      onProgress: () => queueMicrotask(() => controller.abort(new Error("user left"))),
    });
    // With a 10-minute sleep pending, only the abort can settle this before the test times out.
    await expect(waiting).rejects.toThrow("user left");
  });

  it("starts from a task in hand without polling at once", async () => {
    const { fetchTask, calls } = scripted(task("succeed"));
    const seen: string[] = [];
    await waitLoop("42", fetchTask, {
      ...fast,
      initial: task("submitted"),
      onProgress: (t) => seen.push(t.task_status),
    });
    expect(seen).toEqual(["submitted", "succeed"]);
    expect(calls()).toBe(1);
  });

  it("rides out transient poll failures but stops on a final error", async () => {
    const transient = scripted(
      new KlingConnectionError("socket hang up"),
      task("processing"),
      new KlingConnectionError("reset"),
      task("succeed"),
    );
    await expect(waitLoop("42", transient.fetchTask, fast)).resolves.toMatchObject({ task_status: "succeed" });
    const notFound = new KlingInvalidRequestError({ status: 404, code: 1203, message: "Task not found" });
    const final = scripted(notFound);
    await expect(waitLoop("42", final.fetchTask, fast)).rejects.toBe(notFound);
    expect(final.calls()).toBe(1);
  });
});
