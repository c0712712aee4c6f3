// Every client method against the real Prism mock, steered with `Prefer` through an openapi-fetch middleware; options
// and guards.
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createClient,
  KlingApiError,
  KlingTaskFailedError,
  KlingValidationError,
  type VideoToAudioClient,
} from "../../src/index.js";
import { isRetryable } from "../../src/request/failure.js";
import { ERROR_CODES } from "../support/error-codes.js";
import { prismUrl } from "../support/setup-jobs.js";
import { operations, responseExamples, validatorAt } from "../support/spec.js";

const baseUrl = await prismUrl();
const input = { video_url: "https://example.com/clip.mp4", bgm_prompt: "slow ambient piano" };

/** A client whose requests carry the `Prefer` values handed out by `next()` (one per request, the last repeating). */
function steered(...prefers: string[]): VideoToAudioClient & { seen: string[] } {
  const kling = createClient({ baseUrl, apiKey: "prism-accepts-any-key", maxRetries: 0, logLevel: "off" });
  const seen: string[] = [];
  let i = 0;
  kling.raw.use({
    onRequest({ request }) {
      const prefer = prefers[Math.min(i++, prefers.length - 1)];
      if (prefer) request.headers.set("Prefer", prefer);
      seen.push(`${request.method} ${new URL(request.url).pathname}`);
      return request;
    },
  });
  return Object.assign(kling, { seen });
}

describe("methods against Prism", () => {
  it("createTask returns the created task, valid against the spec", async () => {
    const task = await steered().createTask(input);
    expect(task.task_status).toBe("submitted");
    expect(validatorAt("#/components/schemas/Task")(task)).toBe(true);
  });

  it("getTask returns each status's example", async () => {
    for (const status of ["submitted", "processing", "succeed", "failed"]) {
      const task = await steered(`example=${status}`).getTask("866889456698785798");
      expect(task.task_status).toBe(status);
    }
  });

  it("listTasks and tasks() page through the list", async () => {
    const kling = steered();
    const page = await kling.listTasks({ pageNum: 1, pageSize: 30 });
    expect(page.length).toBeGreaterThan(0);
    const all: string[] = [];
    for await (const task of steered("example=page", "example=empty").tasks({ pageSize: 4 })) all.push(task.task_id);
    expect(all).toHaveLength(4);
  });

  it("waitForTask walks submitted → processing → succeed, reporting each change", async () => {
    const kling = steered("example=submitted", "example=processing", "example=processing", "example=succeed");
    const statuses: string[] = [];
    const task = await kling.waitForTask("866889456698785798", {
      pollIntervalMs: 5,
      onProgress: (t) => statuses.push(t.task_status),
    });
    expect(statuses).toEqual(["submitted", "processing", "succeed"]);
    expect(task.task_result?.audios?.[0]?.url_mp3).toMatch(/\.mp3$/);
    expect(kling.seen.filter((s) => s.startsWith("GET"))).toHaveLength(4);
  });

  it("run creates, then waits; a failed task throws KlingTaskFailedError with its reason", async () => {
    const ok = await steered("", "example=processing", "example=succeed").run(input, { pollIntervalMs: 5 });
    expect(ok.task_status).toBe("succeed");
    const failed = await steered("", "example=failed")
      .run(input, { pollIntervalMs: 5 })
      .catch((e) => e);
    expect(failed).toBeInstanceOf(KlingTaskFailedError);
    expect(failed.task.task_status_msg).toContain("between 3 and 20 seconds");
  });

  it("findTaskByExternalId scans the list", async () => {
    const found = await steered("example=page").findTaskByExternalId("job-2026-11-24-0003");
    expect(found?.task_id).toBe("866889456698785823");
    expect(await steered("example=empty").findTaskByExternalId("nope")).toBeUndefined();
  });
});

describe("every documented error example becomes the right typed error", () => {
  const classes = Object.fromEntries(ERROR_CODES.map(([, code, cls]) => [code, cls]));
  const getTask = operations().find((op) => op.operationId === "getTask")!;
  const errors = responseExamples(getTask).filter((e) => e.status !== "200");

  it.each(errors.map((e) => [e.name, e] as const))("%s", async (_name, example) => {
    const error = await steered(`code=${example.status}, example=${example.name}`)
      .getTask("1")
      .catch((e) => e);
    expect(error).toBeInstanceOf(KlingApiError);
    expect(error).toBeInstanceOf(classes[example.value.code]!);
    expect(error).toMatchObject({
      status: Number(example.status),
      code: example.value.code,
      requestId: example.value.request_id,
    });
    expect(error.retryable).toBe(isRetryable(Number(example.status), example.value.code));
    expect(error.message).toContain(example.value.request_id);
    expect(error.message).toContain(String(example.value.code));
  });

  it("retries exactly the retryable codes", () => {
    const retried = Object.keys(classes)
      .map(Number)
      .filter((code) => isRetryable(429, code) || isRetryable(500, code));
    expect(retried.sort()).toEqual([1302, 1303, 5000, 5001, 5002]);
  });
});

describe("createClient options", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.unstubAllGlobals();
  });

  it("reads the key, base URL and log level from the environment", async () => {
    vi.stubEnv("KLING_V2A_API_KEY", "");
    vi.stubEnv("DEERAPI_KEY", "deer-key-from-env-123");
    vi.stubEnv("KLING_V2A_BASE_URL", baseUrl);
    const seen: string[] = [];
    const kling = createClient({
      fetch: (request, init) => {
        seen.push(request.headers.get("authorization") ?? "");
        return fetch(request, init);
      },
    });
    await kling.getTask("866889456698785798");
    expect(seen).toEqual(["Bearer deer-key-from-env-123"]);
    vi.stubEnv("KLING_V2A_API_KEY", "v2a-key-wins-over-deer");
    const first = createClient({
      fetch: (request, init) => {
        seen.push(request.headers.get("authorization") ?? "");
        return fetch(request, init);
      },
    });
    await first.getTask("866889456698785798");
    expect(seen[1]).toBe("Bearer v2a-key-wins-over-deer");
  });

  it("calls the default fetch unbound, as browsers and Workers require", async () => {
    const realFetch = globalThis.fetch;
    // Browsers and workerd throw "Illegal invocation" when fetch is called as a method of another object.
    vi.stubGlobal("fetch", function (this: unknown, request: Request, init?: RequestInit) {
      if (this !== undefined && this !== globalThis) throw new TypeError("Illegal invocation");
      return realFetch(request, init);
    });
    await expect(
      createClient({ baseUrl, apiKey: "prism-accepts-any-key" }).getTask("866889456698785798"),
    ).resolves.toBeDefined();
  });

  it("refuses a key in a browser page unless dangerouslyAllowBrowser is set; no key is fine", () => {
    vi.stubGlobal("window", {});
    vi.stubGlobal("document", {});
    vi.stubGlobal("location", { href: "https://app.example/page" });
    expect(() => createClient({ baseUrl, apiKey: "sk-in-a-browser-123" })).toThrow(KlingValidationError);
    expect(() => createClient({ baseUrl, apiKey: "sk-in-a-browser-123" })).toThrow(/proxy/);
    expect(() => createClient({ baseUrl, apiKey: "sk-in-a-browser-123", dangerouslyAllowBrowser: true })).not.toThrow();
    expect(() => createClient({ baseUrl: "/api/kling" })).not.toThrow();
  });

  it("logs one line per attempt at debug, nothing at the default level", async () => {
    const lines: string[] = [];
    const logger = {
      debug: (m: string) => lines.push(m),
      info: (m: string) => lines.push(m),
      warn: (m: string) => lines.push(m),
      error: (m: string) => lines.push(m),
    };
    await createClient({ baseUrl, apiKey: "prism-accepts-any-key", logger }).getTask("866889456698785798");
    expect(lines).toEqual([]);
    vi.stubEnv("KLING_V2A_LOG", "debug");
    await createClient({ baseUrl, apiKey: "prism-accepts-any-key", logger }).getTask("866889456698785798");
    expect(lines.some((l) => l.includes("GET /v1/audio/video-to-audio/866889456698785798"))).toBe(true);
    expect(lines.join("\n")).toMatch(/200/);
  });

  it("checks ids and pages before sending", async () => {
    const kling = steered();
    await expect(kling.getTask("")).rejects.toBeInstanceOf(KlingValidationError);
    await expect(kling.listTasks({ pageSize: 501 })).rejects.toMatchObject({ field: "pageSize" });
    expect(kling.seen).toEqual([]);
  });
});
