// The lifecycle mock: created tasks progress on an injected clock, Prism still validates and answers, the caller's
// Prefer wins.
import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PRISM_MISSING, runMockCommand } from "../../mocks/command.js";
import { type RunningMock, startMock } from "../../mocks/lifecycle.js";
import { createClient } from "../../src/index.js";
import { startReceiver, withMockMedia } from "../support/mock.js";
import { buildError } from "../support/setup-jobs.js";
import { spec, validatorAt } from "../support/spec.js";

const buildFailure = await buildError();

const PATH = "/v1/audio/video-to-audio";
const EXAMPLE_ID = "866889456698785798";
const AUTH = { Authorization: "Bearer test-key" };
const JSON_AUTH = { ...AUTH, "Content-Type": "application/json" };
const SUBMITTED_MS = 1_000;
const PROCESSING_MS = 2_000;
const START = 1_800_000_000_000;

const validTask = validatorAt("#/components/schemas/TaskResponse");
const validList = validatorAt("#/components/schemas/TaskListResponse");
const validError = validatorAt("#/components/schemas/ErrorEnvelope");
const getExamples: Record<string, { value: any }> =
  spec.paths[`${PATH}/{task_id}`].get.responses["200"].content["application/json"].examples;

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/** A mock on an injected clock: `advance` moves time, nothing sleeps. */
async function startClocked(extra: Parameters<typeof startMock>[0] = {}) {
  let clock = START;
  const mock = await startMock({ submittedMs: SUBMITTED_MS, processingMs: PROCESSING_MS, now: () => clock, ...extra });
  async function call(path: string, init: RequestInit = {}): Promise<Answer> {
    const response = await fetch(mock.url + path, init);
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  }
  return {
    mock,
    call,
    advance: (ms: number) => {
      clock += ms;
    },
    now: () => clock,
    create: (body: object, headers: Record<string, string> = {}) =>
      call(PATH, { method: "POST", headers: { ...JSON_AUTH, ...headers }, body: JSON.stringify(body) }),
    get: (id: string, headers: Record<string, string> = {}) =>
      call(`${PATH}/${id}`, { headers: { ...AUTH, ...headers } }),
    list: (query = "", headers: Record<string, string> = {}) =>
      call(`${PATH}${query}`, { headers: { ...AUTH, ...headers } }),
  };
}

function expectValid(validate: ReturnType<typeof validatorAt>, body: unknown) {
  expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
}

describe("lifecycle mock", () => {
  let m: Awaited<ReturnType<typeof startClocked>>;
  beforeAll(async () => {
    m = await startClocked();
  });
  afterAll(() => m.mock.close());

  it("moves a created task submitted → processing → succeed, with its own id, inputs and timestamps", async () => {
    const created = await m.create({
      video_url: "https://example.com/rain.mp4",
      bgm_prompt: "slow piano",
      external_task_id: "job-progress",
    });
    expect(created.status).toBe(200);
    expectValid(validTask, created.body);
    const id: string = created.body.data.task_id;
    const createdAt = m.now();
    expect(id).toMatch(/^\d{18}$/);
    expect(id).not.toBe(EXAMPLE_ID);
    expect(created.body.data).toEqual({
      task_id: id,
      task_status: "submitted",
      task_info: { external_task_id: "job-progress" },
      created_at: createdAt,
      updated_at: createdAt,
    });

    const timeline: Array<[number, string, number]> = [
      [0, "submitted", createdAt],
      [SUBMITTED_MS - 1, "submitted", createdAt],
      [1, "processing", createdAt + SUBMITTED_MS],
      [PROCESSING_MS - 1, "processing", createdAt + SUBMITTED_MS],
      [1, "succeed", createdAt + SUBMITTED_MS + PROCESSING_MS],
      [60_000, "succeed", createdAt + SUBMITTED_MS + PROCESSING_MS],
    ];
    for (const [step, status, updatedAt] of timeline) {
      m.advance(step);
      const got = await m.get(id);
      expect(got.status).toBe(200);
      expectValid(validTask, got.body);
      expect(got.body.data).toMatchObject({
        task_id: id,
        task_status: status,
        created_at: createdAt,
        updated_at: updatedAt,
      });
      expect(got.body.data.task_info.external_task_id).toBe("job-progress");
    }

    const done = (await m.get(id)).body.data;
    expect(done.task_info.parent_video.url).toBe("https://example.com/rain.mp4");
    expect(done.task_result.audios[0].url_mp3).toBe(`${m.mock.url}/media/${id}.mp3`);
    expect(done.task_result.videos[0].url).toBe(`${m.mock.url}/media/${id}.mp4`);
    expect(JSON.stringify(done)).not.toContain(EXAMPLE_ID);
  });

  it("gives every task its own id, and fresh request ids", async () => {
    const a = await m.create({ video_url: "https://example.com/a.mp4" });
    const b = await m.create({ video_id: "866534912876544067" });
    expect(a.body.data.task_id).not.toBe(b.body.data.task_id);
    expect(a.body.request_id).not.toBe(b.body.request_id);
    // Without an external_task_id the example's is dropped, not echoed.
    expect(a.body.data.task_info).toBeUndefined();
    m.advance(SUBMITTED_MS + PROCESSING_MS);
    const byId = (await m.get(b.body.data.task_id)).body.data;
    expect(byId.task_info.parent_video.id).toBe("866534912876544067");
    expect(byId.task_info.external_task_id).toBeUndefined();
  });

  it.each([
    ["a prompt", { video_url: "https://example.com/a.mp4", sound_effect_prompt: "Please FAIL" }],
    ["the external_task_id", { video_url: "https://example.com/a.mp4", external_task_id: "job-fail-1" }],
    ["the video_url", { video_url: "https://example.com/fail.mp4" }],
    ["the video_id", { video_id: "fail-866534912876544067" }],
  ])('ends failed, with a reason, when %s contains "fail"', async (_label, body) => {
    const id: string = (await m.create(body)).body.data.task_id;
    m.advance(SUBMITTED_MS);
    expect((await m.get(id)).body.data.task_status).toBe("processing");
    m.advance(PROCESSING_MS);
    const failed = await m.get(id);
    expectValid(validTask, failed.body);
    expect(failed.body.data).toMatchObject({
      task_id: id,
      task_status: "failed",
      task_status_msg: expect.stringMatching(/.+/),
    });
  });

  it("lets the caller's Prefer win at once, untouched", async () => {
    const id: string = (await m.create({ video_url: "https://example.com/a.mp4" })).body.data.task_id;
    const byHeader = await m.get(id, { Prefer: "example=failed" });
    expect(byHeader.status).toBe(200);
    expect(byHeader.body).toEqual(getExamples.failed?.value);
    const byQuery = await m.call(`${PATH}/${id}?__example=processing`, { headers: AUTH });
    expect(byQuery.body).toEqual(getExamples.processing?.value);
  });

  it("passes a preferred error through, on get and on create (which then remembers nothing)", async () => {
    const prefer = { Prefer: "code=429, example=1303_concurrency_limit" };
    const before = (await m.list("?pageSize=500")).body.data.length;
    for (const answer of [
      await m.get(EXAMPLE_ID, prefer),
      await m.create({ video_url: "https://example.com/a.mp4" }, prefer),
    ]) {
      expect(answer.status).toBe(429);
      expectValid(validError, answer.body);
      expect(answer.body).toMatchObject({ code: 1303, message: "parallel task over resource pack limit" });
    }
    expect((await m.list("?pageSize=500")).body.data.length).toBe(before);
  });

  it("still has Prism reject a bad body with a Kling-shaped 400, and remembers nothing", async () => {
    const before = (await m.list("?pageSize=500")).body.data.length;
    const bad = await m.create({ video_url: "https://example.com/a.mp4", video_id: "866534912876544067" });
    expect(bad.status).toBe(400);
    expectValid(validError, bad.body);
    expect(bad.headers.get("sl-violations")).toContain("video_");
    const malformed = await m.call(PATH, { method: "POST", headers: JSON_AUTH, body: "{" });
    expect(malformed.status).toBe(400);
    expect((await m.list("?pageSize=500")).body.data.length).toBe(before);
  });

  it("answers 404 with code 1203 for a task it did not create, with or without a key", async () => {
    const unknown = await m.get("123456789012345678");
    expect(unknown.status).toBe(404);
    expectValid(validError, unknown.body);
    expect(unknown.body.code).toBe(1203);
    // The spec's example id is not a task of this mock either.
    expect((await m.get(EXAMPLE_ID)).status).toBe(404);
    const anonymous = await m.call(`${PATH}/123456789012345678`);
    expect(anonymous.status).toBe(404);
    expect(anonymous.body.code).toBe(1203);
  });

  it("answers a CORS preflight that asks for Prefer, and keeps CORS headers on steered answers", async () => {
    const origin = "http://localhost:5173";
    const preflight = await fetch(`${m.mock.url}${PATH}/123`, {
      method: "OPTIONS",
      headers: {
        Origin: origin,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization,prefer",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(origin);
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("prefer");
    const id: string = (await m.create({ video_url: "https://example.com/a.mp4" })).body.data.task_id;
    const steered = await m.get(id, { Origin: origin });
    expect(steered.status).toBe(200);
    expect(steered.headers.get("access-control-allow-origin")).toBe(origin);
  });
});

describe("lifecycle mock: the list", () => {
  let m: Awaited<ReturnType<typeof startClocked>>;
  const ids: string[] = [];
  beforeAll(async () => {
    m = await startClocked();
    // job-1 is oldest; one second apart, so the five are spread over the timeline when listed.
    for (let n = 1; n <= 5; n++) {
      if (n > 1) m.advance(1_000);
      ids.push(
        (await m.create({ video_url: "https://example.com/a.mp4", external_task_id: `job-${n}` })).body.data.task_id,
      );
    }
  });
  afterAll(() => m.mock.close());

  it("lists the created tasks newest first, each as getTask answers it now", async () => {
    const page = await m.list();
    expect(page.status).toBe(200);
    expectValid(validList, page.body);
    expect(page.body.data.map((task: any) => task.task_info.external_task_id)).toEqual([
      "job-5",
      "job-4",
      "job-3",
      "job-2",
      "job-1",
    ]);
    expect(page.body.data.map((task: any) => task.task_id)).toEqual([...ids].reverse());
    expect(page.body.data.map((task: any) => task.task_status)).toEqual([
      "submitted",
      "processing",
      "processing",
      "succeed",
      "succeed",
    ]);
    for (const item of page.body.data) {
      expect(item).toEqual((await m.get(item.task_id)).body.data);
    }
  });

  it("paginates with pageNum and pageSize like the API", async () => {
    const external = async (query: string) =>
      (await m.list(query)).body.data.map((task: any) => task.task_info.external_task_id);
    expect(await external("?pageNum=1&pageSize=2")).toEqual(["job-5", "job-4"]);
    expect(await external("?pageNum=2&pageSize=2")).toEqual(["job-3", "job-2"]);
    expect(await external("?pageNum=3&pageSize=2")).toEqual(["job-1"]);
    expect(await external("?pageNum=4&pageSize=2")).toEqual([]);
    expect(await external("?pageNum=2")).toEqual([]);
  });

  it("leaves validation to Prism: a bad pageSize is its 400, unchanged", async () => {
    const bad = await m.list("?pageSize=501");
    expect(bad.status).toBe(400);
    expectValid(validError, bad.body);
    expect(bad.headers.get("sl-violations")).toContain("pagesize");
  });

  it("serves the static example page when the caller prefers it", async () => {
    const page = await m.list("", { Prefer: "example=page" });
    expect(page.body).toEqual(
      withMockMedia(spec.paths[PATH].get.responses["200"].content["application/json"].examples.page.value, m.mock.url),
    );
  });

  it("forgets the oldest tasks beyond maxTasks", async () => {
    const small = await startClocked({ maxTasks: 2 });
    try {
      const made: string[] = [];
      for (let n = 0; n < 3; n++)
        made.push((await small.create({ video_url: "https://example.com/a.mp4" })).body.data.task_id);
      expect((await small.get(made[0] ?? "")).status).toBe(404);
      expect((await small.list()).body.data.map((task: any) => task.task_id)).toEqual([made[2], made[1]]);
    } finally {
      await small.mock.close();
    }
  });
});

describe("the lifecycle mock for SDK users", () => {
  it("serves createClient with no key at all, and its run() ends with playable files", async () => {
    const mock = await startMock({ submittedMs: 20, processingMs: 20 });
    try {
      const kling = createClient({ baseUrl: mock.url, apiKey: undefined });
      const task = await kling.run(
        { video_url: "https://example.com/clip.mp4", external_task_id: "sdk-no-key" },
        { pollIntervalMs: 20 },
      );
      expect(task.task_status).toBe("succeed");
      const mp3 = await fetch(task.task_result?.audios?.[0]?.url_mp3 ?? "");
      expect(mp3.headers.get("content-type")).toBe("audio/mpeg");
      // getTask takes the external_task_id too, as Kling's does.
      expect((await kling.getTask("sdk-no-key")).task_id).toBe(task.task_id);
    } finally {
      await mock.close();
    }
  });
});

describe("startMock options and close()", () => {
  it("serves plain Prism with lifecycle: false", async () => {
    const plain = await startMock({ lifecycle: false });
    try {
      const got = await fetch(`${plain.url}${PATH}/${EXAMPLE_ID}`, { headers: AUTH });
      expect(await got.json()).toEqual(withMockMedia(getExamples.succeed?.value, plain.url));
      // Nothing is remembered: a create answers the static example, and its id is the example's.
      const created = await fetch(`${plain.url}${PATH}`, {
        method: "POST",
        headers: JSON_AUTH,
        body: JSON.stringify({ video_url: "https://example.com/a.mp4" }),
      });
      expect((await created.json()).data.task_id).toBe(EXAMPLE_ID);
    } finally {
      await plain.close();
    }
  });

  it("frees its port on close(), even with a keep-alive connection open", async () => {
    const mock: RunningMock = await startMock();
    const port = Number(new URL(mock.url).port);
    expect((await fetch(`${mock.url}${PATH}/1`, { headers: AUTH })).status).toBe(404);
    await mock.close();
    await expect(fetch(`${mock.url}${PATH}/1`, { headers: AUTH })).rejects.toThrow();
    const again = createServer();
    await new Promise<void>((resolve, reject) => {
      again.once("error", reject).listen(port, "127.0.0.1", resolve);
    });
    await new Promise((resolve) => again.close(resolve));
  });
});

describe("runMockCommand", () => {
  function sink() {
    let text = "";
    const write = (chunk: string) => {
      text += chunk;
      return true;
    };
    return { write, text: () => text };
  }

  it("prints help with examples", async () => {
    const out = sink();
    expect(await runMockCommand(["--help"], { stdout: out, prog: "kling-v2a mock" })).toBe(0);
    expect(out.text()).toContain("--no-lifecycle");
    expect(out.text()).toContain("Examples:");
  });

  it.each([
    ["--port", "http"],
    ["--submitted-ms", "-5"],
    ["--bogus", "1"],
  ])("exits 2 on a bad flag (%s %s)", async (flag, value) => {
    const err = sink();
    expect(await runMockCommand([flag, value], { stderr: err, stdout: sink() })).toBe(2);
    expect(err.text()).toContain("--help");
  });

  it("refuses a --webhook-secret that is not whsec_ + base64, without echoing it", async () => {
    const err = sink();
    expect(await runMockCommand(["--webhook-secret", "not a secret!"], { stderr: err, stdout: sink() })).toBe(2);
    expect(err.text()).toContain("--webhook-secret must be whsec_");
    expect(err.text()).not.toContain("not a secret!");
  });

  it("exits 2 with the install hint when Prism is not installed", async () => {
    const err = sink();
    const missing = Object.assign(
      new Error("Cannot find package '@stoplight/prism-core' imported from /x/mocks/prism.js"),
      {
        code: "ERR_MODULE_NOT_FOUND",
      },
    );
    expect(await runMockCommand([], { stderr: err, load: () => Promise.reject(missing) })).toBe(2);
    expect(err.text().trim()).toBe(PRISM_MISSING);
  });

  it("serves until stopped, printing where and how to use it", async () => {
    const out = sink();
    const stop = new AbortController();
    const exit = runMockCommand(["--port", "0", "--submitted-ms", "10"], { stdout: out, signal: stop.signal });
    await expect.poll(() => out.text(), { timeout: 10_000 }).toContain("curl");
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(out.text())?.[0];
    const created = await fetch(`${url}${PATH}`, {
      method: "POST",
      headers: JSON_AUTH,
      body: JSON.stringify({ video_url: "https://example.com/a.mp4" }),
    });
    expect(created.status).toBe(200);
    expect(out.text()).toContain("Prefer");
    stop.abort();
    expect(await exit).toBe(0);
    expect(out.text()).toContain("Mock stopped.");
  });

  it("--require-auth and --webhook-secret reach the mock, and each delivery gets a log line", async () => {
    const out = sink();
    const err = sink();
    const stop = new AbortController();
    const hook = await startReceiver();
    const exit = runMockCommand(
      [
        "--port",
        "0",
        "--submitted-ms",
        "60000",
        "--require-auth",
        "--webhook-secret",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      ],
      { stdout: out, stderr: err, signal: stop.signal },
    );
    try {
      await expect.poll(() => out.text(), { timeout: 10_000 }).toContain("curl");
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(out.text())?.[0];
      const body = JSON.stringify({ video_url: "https://example.com/a.mp4", callback_url: hook.url });
      const anonymous = await fetch(`${url}${PATH}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body,
      });
      expect((await anonymous.json()).code).toBe(1001);
      expect((await fetch(`${url}${PATH}`, { method: "POST", headers: JSON_AUTH, body })).status).toBe(200);
      await expect
        .poll(() => err.text(), { timeout: 10_000 })
        .toMatch(
          new RegExp(
            String.raw`callback submitted of task \d+ → http:\/\/127\.0\.0\.1:\d+\/hooks\/kling: ` +
              String.raw`200 \(attempt 1\/5, \d+ ms, signed\)`,
          ),
        );
      expect(hook.received[0]?.headers["webhook-signature"]).toMatch(/^v1,/);
      expect(out.text()).toContain("signed with your --webhook-secret");
      expect(out.text() + err.text()).not.toContain("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    } finally {
      stop.abort();
      await exit;
      await hook.close();
    }
  });
});

describe("kling-video-to-audio/mock without Prism", () => {
  it.skipIf(buildFailure !== null)(
    "imports fine, and startMock rejects with the install line (no stack to read)",
    async () => {
      // A resolve hook that makes every @stoplight/* package missing, as in an app that did not install the peers.
      const hook = `export async function resolve(specifier, context, next) {
      if (specifier.startsWith("@stoplight/"))
        throw Object.assign(
          new Error("Cannot find package '" + specifier + "' imported from " + context.parentURL),
          { code: "ERR_MODULE_NOT_FOUND" },
        );
      return next(specifier, context);
    }`;
      const entry = new URL("../../dist/mocks/index.js", import.meta.url).href;
      const script = `
      import { register } from "node:module";
      register("data:text/javascript," + encodeURIComponent(${JSON.stringify(hook)}));
      const mock = await import(${JSON.stringify(entry)});
      try { await mock.startMock(); console.log("started?!"); }
      catch (error) {
        console.log(JSON.stringify({ code: error.code, message: error.message, exported: mock.MOCK_NEEDS_PRISM }));
      }`;
      const result = await new Promise<{ stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, ["--input-type=module", "--no-warnings", "-e", script], (_error, stdout, stderr) =>
          resolve({ stdout, stderr }),
        ),
      );
      const outcome = JSON.parse(result.stdout.trim());
      expect(outcome.code).toBe("ERR_PRISM_MISSING");
      expect(outcome.message).toBe(outcome.exported);
      expect(outcome.message).toMatch(
        /^kling-video-to-audio\/mock needs Prism: npm i -D @stoplight\/prism-core@5\.8\.0 /,
      );
    },
  );
});
