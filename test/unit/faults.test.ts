// The client against a loopback server that injects faults: retries, safe creates, timeouts, bad bodies, no leaked
// secrets.
import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import {
  createClient,
  KlingAccountError,
  KlingConnectionError,
  KlingError,
  KlingServerError,
  KlingTaskFailedError,
  KlingTimeoutError,
  type Logger,
} from "../../src/index.js";
import { type FakeKling, type FakeRequest, type Fault, startFakeKling } from "../support/fake-kling.js";

const API_KEY = "sk-test-SECRET-0123456789abcdef";
const SECRET_KEY = "SECRETKEY-fedcba9876543210";
let fake: FakeKling | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** Faults for the n-th request matching `when` (1-based), none otherwise. */
function onNth(when: (r: FakeRequest) => boolean, faults: Record<number, Fault>) {
  let n = 0;
  return (r: FakeRequest) => (when(r) ? faults[++n] : undefined);
}
const isCreate = (r: FakeRequest) => r.method === "POST";
const isGet = (r: FakeRequest) => r.method === "GET" && r.path !== "/v1/audio/video-to-audio";
const input = { video_url: "https://example.com/clip.mp4" };

function recordingLogger() {
  const lines: string[] = [];
  const write = (...args: unknown[]) => lines.push(args.map((a) => (typeof a === "string" ? a : inspect(a))).join(" "));
  const logger: Logger = { debug: write, info: write, warn: write, error: write };
  return { logger, lines };
}

describe("retries decided by Kling's code", () => {
  it("429 + 1303 with Retry-After: waits as asked, then succeeds", async () => {
    fake = await startFakeKling({
      fault: onNth(isCreate, { 1: { kind: "error", status: 429, code: 1303, retryAfter: 1 } }),
    });
    const kling = createClient({ baseUrl: fake.url, apiKey: API_KEY });
    const task = await kling.createTask(input);
    expect(task.task_status).toBe("submitted");
    expect(fake.tasks).toHaveLength(1);
    const creates = fake.requests.filter(isCreate);
    expect(creates).toHaveLength(2);
    // Retry-After: 1 wins over the shorter backoff; a sleep can only run long, so this lower bound cannot flake.
    expect(creates[1]!.at - creates[0]!.at).toBeGreaterThanOrEqual(990);
  });

  it("429 + 1102 (resource pack used up) is never retried", async () => {
    fake = await startFakeKling({
      fault: () => ({ kind: "error", status: 429, code: 1102, message: "Resource pack exhausted" }),
    });
    const kling = createClient({ baseUrl: fake.url, apiKey: API_KEY });
    const error = await kling.createTask(input).catch((e) => e);
    expect(error).toBeInstanceOf(KlingAccountError);
    expect(error).toMatchObject({ status: 429, code: 1102, retryable: false });
    expect(error.message).toMatch(/recharge/i);
    expect(fake.requests).toHaveLength(1);
  });

  it("503 then success", async () => {
    fake = await startFakeKling({ fault: onNth(isGet, { 1: { kind: "error", status: 503, code: 5001 } }) });
    const kling = createClient({ baseUrl: fake.url, apiKey: API_KEY });
    const created = await kling.createTask(input);
    await expect(kling.getTask(created.task_id)).resolves.toMatchObject({ task_id: created.task_id });
    expect(fake.requests.filter(isGet)).toHaveLength(2);
  });

  it("an HTML 502 page from a gateway becomes a typed KlingConnectionError, never a SyntaxError", async () => {
    fake = await startFakeKling({ fault: (r) => (isGet(r) ? { kind: "html", status: 502 } : undefined) });
    const kling = createClient({ baseUrl: fake.url, apiKey: API_KEY, maxRetries: 1 });
    const error = await kling.getTask("1").catch((e) => e);
    expect(error).toBeInstanceOf(KlingConnectionError);
    expect(error.status).toBe(502);
    expect(error.message).toContain("502 Bad Gateway");
    expect(error.message).not.toContain("<html>");
    expect(fake.requests).toHaveLength(2);
  });

  it("a 200 with a non-zero code is an error", async () => {
    fake = await startFakeKling({ fault: (r) => (isGet(r) ? { kind: "code-in-200", code: 5000 } : undefined) });
    const kling = createClient({ baseUrl: fake.url, apiKey: API_KEY, maxRetries: 0 });
    const error = await kling.getTask("1").catch((e) => e);
    expect(error).toBeInstanceOf(KlingServerError);
    expect(error).toMatchObject({ status: 200, code: 5000, requestId: expect.any(String) });
  });
});

describe("safe create", () => {
  it("create committed, then the connection dropped: looks the task up, exactly one task", async () => {
    fake = await startFakeKling({ fault: onNth(isCreate, { 1: { kind: "drop-after-commit" } }) });
    const kling = createClient({ baseUrl: fake.url, apiKey: API_KEY });
    const task = await kling.createTask(input);
    expect(fake.tasks).toHaveLength(1);
    expect(task.task_id).toBe(fake.tasks[0]!.task_id);
    expect(fake.requests.filter(isCreate)).toHaveLength(1);
  });

  it("dropped before the work: looks up, finds nothing, sends again, exactly one task", async () => {
    fake = await startFakeKling({ fault: onNth(isCreate, { 1: { kind: "drop" } }) });
    const kling = createClient({ baseUrl: fake.url, apiKey: API_KEY });
    await kling.createTask(input);
    expect(fake.tasks).toHaveLength(1);
    expect(fake.requests.filter(isCreate)).toHaveLength(2);
  });

  it("a truncated answer to a committed create: exactly one task", async () => {
    fake = await startFakeKling({ fault: onNth(isCreate, { 1: { kind: "truncated" } }) });
    const kling = createClient({ baseUrl: fake.url, apiKey: API_KEY });
    await kling.createTask(input);
    expect(fake.tasks).toHaveLength(1);
  });

  it("when the lookup is impossible, the error names the external_task_id", async () => {
    fake = await startFakeKling({
      fault: (r) =>
        isCreate(r)
          ? { kind: "drop-after-commit" }
          : r.method === "GET"
            ? { kind: "error", status: 404, code: 1202 }
            : undefined,
    });
    const kling = createClient({ baseUrl: fake.url, apiKey: API_KEY });
    const error = await kling.createTask({ ...input, external_task_id: "job-42" }).catch((e) => e);
    expect(error).toBeInstanceOf(KlingError);
    expect(error.externalTaskId).toBe("job-42");
    expect(error.message).toContain("job-42");
    expect(fake.tasks).toHaveLength(1);
  });

  it("generates an external_task_id when the caller gives none, and keeps the caller's", async () => {
    fake = await startFakeKling();
    const kling = createClient({ baseUrl: fake.url, apiKey: API_KEY });
    await kling.createTask(input);
    await kling.createTask({ ...input, external_task_id: "mine" });
    expect(fake.tasks[0]!.external_task_id).toMatch(/^kv2a-[0-9a-f-]{36}$/);
    expect(fake.tasks[1]!.external_task_id).toBe("mine");
  });
});

describe("bounded waits", () => {
  it("a hanging server: the attempt times out, retries, and ends with KlingTimeoutError", async () => {
    fake = await startFakeKling({ fault: () => ({ kind: "hang" }) });
    const kling = createClient({ baseUrl: fake.url, apiKey: API_KEY, timeoutMs: 100, maxRetries: 1 });
    const error = await kling.getTask("1").catch((e) => e);
    expect(error).toBeInstanceOf(KlingTimeoutError);
    expect(error.kind).toBe("attempt");
    expect(fake.requests).toHaveLength(2);
  });

  it("run() creates, waits and returns the audio; a failing task throws KlingTaskFailedError", async () => {
    fake = await startFakeKling({ taskDurationMs: 40 });
    const kling = createClient({ baseUrl: fake.url, apiKey: API_KEY });
    const seen: string[] = [];
    const task = await kling.run(input, { pollIntervalMs: 10, onProgress: (t) => seen.push(t.task_status) });
    expect(task.task_result?.audios?.[0]?.url_mp3).toMatch(/\.mp3$/);
    expect(seen[0]).toBe("submitted");
    expect(seen.at(-1)).toBe("succeed");
    const failed = await kling
      .run({ video_url: "https://example.com/fail.mp4" }, { pollIntervalMs: 10 })
      .catch((e) => e);
    expect(failed).toBeInstanceOf(KlingTaskFailedError);
  });

  it("run() with a whole-wait deadline ends with the task id and its last status", async () => {
    fake = await startFakeKling({ taskDurationMs: 60_000 });
    const kling = createClient({ baseUrl: fake.url, apiKey: API_KEY });
    const error = await kling.run(input, { timeoutMs: 150, pollIntervalMs: 20 }).catch((e) => e);
    expect(error).toBeInstanceOf(KlingTimeoutError);
    expect(error).toMatchObject({
      kind: "wait",
      taskId: fake.tasks[0]!.task_id,
      lastStatus: expect.stringMatching(/submitted|processing/),
    });
    await expect(kling.waitForTask(error.taskId, { timeoutMs: 50, pollIntervalMs: 10 })).rejects.toBeInstanceOf(
      KlingTimeoutError,
    );
  });

  it("an abort during a retry sleep rejects at once with the signal's reason", async () => {
    fake = await startFakeKling({ fault: () => ({ kind: "error", status: 429, code: 1303, retryAfter: 60 }) });
    const kling = createClient({ baseUrl: fake.url, apiKey: API_KEY });
    const controller = new AbortController();
    const pending = kling.createTask(input, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("stop")), 50);
    // A 60 s Retry-After is pending: only the abort can settle this before the test times out.
    await expect(pending).rejects.toThrow("stop");
  });
});

describe("secrets", () => {
  it("never appear in errors or log lines, for an API key or access/secret keys", async () => {
    fake = await startFakeKling({
      fault: (r) =>
        r.seq % 3 === 0
          ? { kind: "html", status: 502 }
          : r.seq % 3 === 1
            ? { kind: "error", status: 401, code: 1004 }
            : { kind: "drop-after-commit" },
    });
    const { logger, lines } = recordingLogger();
    const errors: unknown[] = [];
    for (const credentials of [{ apiKey: API_KEY }, { accessKey: "AK-visible-id", secretKey: SECRET_KEY }]) {
      const kling = createClient({ baseUrl: fake.url, ...credentials, logger, logLevel: "debug", maxRetries: 1 });
      errors.push(await kling.createTask(input).catch((e) => e));
      errors.push(await kling.getTask("1").catch((e) => e));
      errors.push(await kling.listTasks().catch((e) => e));
    }
    expect(lines.length).toBeGreaterThan(5);
    const everything = [
      ...lines,
      ...errors.flatMap((e) => [
        String(e),
        JSON.stringify(e),
        inspect(e, { depth: 10, showHidden: true }),
        (e as Error).stack ?? "",
      ]),
    ].join("\n");
    expect(errors.every((e) => e instanceof KlingError)).toBe(true);
    expect(everything).not.toContain(API_KEY);
    expect(everything).not.toContain(SECRET_KEY);
    expect(everything).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
  });
});
