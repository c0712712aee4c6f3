// kling-video-to-audio/msw in Node (setupServer): lifecycle, media with Range, callbacks, refusals, baseUrl, reset().
import http from "node:http";
import type { AddressInfo } from "node:net";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createMockHandlers, type MockHandlersOptions } from "../../mocks/msw.js";
import { verifyCallback } from "../../src/callbacks.js";
import { createClient } from "../../src/index.js";
import { manifest } from "../support/mock.js";
import { validatorAt } from "../support/spec.js";

const API = "https://api.deerapi.com/kling";
const CREATE = "/v1/audio/video-to-audio";
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const validTask = validatorAt("#/components/schemas/TaskResponse");
const validError = validatorAt("#/components/schemas/ErrorEnvelope");

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "bypass" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

/** Handlers on an injected clock, installed in the test's server: `advance` moves time, nothing sleeps. */
function clocked(options: MockHandlersOptions = {}) {
  let clock = 1_800_000_000_000;
  const mock = createMockHandlers({ submittedMs: 1000, processingMs: 2000, now: () => clock, ...options });
  server.use(...mock.handlers);
  const call = async (url: string, init: RequestInit = {}) => {
    const response = await fetch(url, init);
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };
  const create = (body: unknown, base = API, headers: Record<string, string> = {}) =>
    call(`${base}${CREATE}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  return { mock, call, create, advance: (ms: number) => (clock += ms) };
}

describe("kling-video-to-audio/msw", () => {
  it("walks a task submitted → processing → succeed on its clock, valid against the spec", async () => {
    const m = clocked();
    const created = await m.create({ video_url: "https://example.com/a.mp4", external_task_id: "job-msw" });
    expect(created.status).toBe(200);
    expect(validTask(created.body)).toBe(true);
    const id = created.body.data.task_id;
    expect(id).toMatch(/^\d{18}$/);
    const statuses = [];
    for (const step of [0, 1000, 2000]) {
      m.advance(step);
      const got = await m.call(`${API}${CREATE}/${id}`);
      expect(validTask(got.body), JSON.stringify(validTask.errors)).toBe(true);
      statuses.push(got.body.data.task_status);
    }
    expect(statuses).toEqual(["submitted", "processing", "succeed"]);
    // The external id finds it too, as Kling's getTask does.
    expect((await m.call(`${API}${CREATE}/job-msw`)).body.data.task_id).toBe(id);
  });

  it("runs createClient(...).run() to succeed, and serves the real MP3 with Range", async () => {
    server.use(...createMockHandlers({ submittedMs: 20, processingMs: 20 }).handlers);
    const kling = createClient({ baseUrl: API, apiKey: "any" });
    const task = await kling.run({ video_url: "https://example.com/a.mp4" });
    expect(task.task_status).toBe("succeed");
    const audio = task.task_result?.audios?.[0];
    expect(audio?.url_mp3).toBe(`${API}/media/${task.task_id}.mp3`);
    expect(audio?.duration_mp3).toBe(manifest.mp3.seconds.toFixed(3));
    const whole = await fetch(audio?.url_mp3 ?? "");
    expect(whole.headers.get("content-type")).toBe("audio/mpeg");
    expect((await whole.arrayBuffer()).byteLength).toBe(manifest.mp3.bytes);
    const part = await fetch(audio?.url_wav ?? "", { headers: { range: "bytes=0-11" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 0-11/${manifest.wav.bytes}`);
    expect(Buffer.from(await part.arrayBuffer()).toString("latin1", 0, 4)).toBe("RIFF");
  });

  it("refuses what the server mock refuses, the same way", async () => {
    const m = clocked();
    const typo = await m.create({ video_url: "https://example.com/a.mp4", bgm_promt: "piano" });
    expect(typo).toMatchObject({ status: 400, body: { code: 1201 } });
    expect(typo.body.message).toMatch(/^Invalid parameter: unknown field "bgm_promt" \(did you mean "bgm_prompt"\?\)/);
    expect(validError(typo.body)).toBe(true);
    const malformed = await m.create("{");
    expect(malformed).toMatchObject({ status: 400, body: { code: 1201 } });
    expect(malformed.body.message).toMatch(/^Invalid parameter: the request body is not valid JSON/);
    const huge = await m.create({ video_url: "https://example.com/a.mp4", bgm_prompt: "x".repeat(2 * 1024 * 1024) });
    expect(huge).toMatchObject({ status: 400, body: { code: 1200, message: expect.stringMatching(/body is over/) } });
    const page = await m.call(`${API}${CREATE}?pageSize=501`);
    expect(page).toMatchObject({
      status: 400,
      body: { code: 1201, message: expect.stringMatching(/pageSize must be/) },
    });
    expect(await m.call(`${API}${CREATE}/404404`)).toMatchObject({ status: 404, body: { code: 1203 } });
  });

  it("with requireAuth answers 401 with 1001 without a token, and serves any bearer token", async () => {
    const m = clocked({ requireAuth: true });
    const body = { video_url: "https://example.com/a.mp4" };
    expect(await m.create(body)).toMatchObject({ status: 401, body: { code: 1001 } });
    expect(await m.create(body, API, { authorization: "Basic eDp5" })).toMatchObject({ body: { code: 1002 } });
    expect((await m.create(body, API, { authorization: "Bearer anything" })).status).toBe(200);
  });

  it("honours fail markers and Prefer: example=failed, and the caller's other Prefer recipes", async () => {
    const m = clocked();
    const marked = await m.create({ video_url: "https://example.com/fail.mp4" });
    const preferred = await m.create({ video_url: "https://example.com/a.mp4" }, API, { prefer: "example=failed" });
    m.advance(3000);
    for (const created of [marked, preferred]) {
      const got = await m.call(`${API}${CREATE}/${created.body.data.task_id}`);
      expect(got.body.data.task_status).toBe("failed");
    }
    const limited = await m.call(`${API}${CREATE}/1`, {
      headers: { prefer: "code=429, example=1303_concurrency_limit" },
    });
    expect(limited).toMatchObject({ status: 429, body: { code: 1303 } });
  });

  it("pages the list newest first like the API, and caps the tasks it remembers at maxTasks", async () => {
    const m = clocked({ maxTasks: 3 });
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await m.create({ video_id: `v${i}` })).body.data.task_id);
    const first = await m.call(`${API}${CREATE}?pageNum=1&pageSize=2`);
    const second = await m.call(`${API}${CREATE}?pageNum=2&pageSize=2`);
    expect(first.body.data.map((t: { task_id: string }) => t.task_id)).toEqual([ids[3], ids[2]]);
    expect(second.body.data.map((t: { task_id: string }) => t.task_id)).toEqual([ids[1]]);
    expect((await m.call(`${API}${CREATE}/${ids[0]}`)).status).toBe(404);
  });

  it("reset() forgets every task and delivery", async () => {
    const m = clocked();
    const id = (await m.create({ video_id: "v1" })).body.data.task_id;
    m.mock.reset();
    expect((await m.call(`${API}${CREATE}/${id}`)).status).toBe(404);
    expect((await m.call(`${API}${CREATE}`)).body.data).toEqual([]);
    expect(m.mock.deliveries).toEqual([]);
  });
});

describe("kling-video-to-audio/msw: baseUrl", () => {
  it("by default takes any origin, with or without a prefix, and builds media URLs on what was called", async () => {
    const m = clocked({ submittedMs: 0, processingMs: 0 });
    for (const base of [
      "https://api-singapore.klingai.com",
      "http://localhost:4010/kling",
      "https://x.test/api/kling",
    ]) {
      const created = await m.create({ video_id: "v" }, base);
      const got = await m.call(`${base}${CREATE}/${created.body.data.task_id}`);
      expect(got.body.data.task_result.audios[0].url_mp3).toBe(`${base}/media/${created.body.data.task_id}.mp3`);
    }
  });

  it("with a baseUrl, answers there only; a path matches any origin in Node", async () => {
    server.use(
      ...createMockHandlers({ baseUrl: "/api/kling/" }).handlers,
      ...createMockHandlers({ baseUrl: "https://api.deerapi.com/kling" }).handlers,
    );
    const post = (url: string) =>
      fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: '{"video_id":"v"}' });
    expect((await post(`http://localhost:3000/api/kling${CREATE}`)).status).toBe(200);
    expect((await post(`${API}${CREATE}`)).status).toBe(200);
    // Not ours: MSW lets it through to the network, where nothing answers.
    await expect(post(`http://127.0.0.1:9/other${CREATE}`)).rejects.toThrow();
  });

  it("refuses a baseUrl that is neither a URL nor a path, naming it", () => {
    expect(() => createMockHandlers({ baseUrl: "api/kling" })).toThrow(
      /baseUrl must be a URL or a path, got api\/kling/,
    );
  });
});

describe("kling-video-to-audio/msw: callbacks", () => {
  it("delivers each status change with fetch, signed so verifyCallback accepts it", async () => {
    const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
    const receiver = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(200).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    try {
      const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      const mock = createMockHandlers({ submittedMs: 30, processingMs: 30, webhookSecret: SECRET });
      server.use(...mock.handlers);
      const post = await fetch(`${API}${CREATE}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ video_url: "https://example.com/a.mp4", callback_url: hook }),
      });
      const id = (await post.json()).data.task_id;
      await expect.poll(() => received.length, { timeout: 10_000 }).toBe(3);
      const tasks = [];
      for (const delivery of received)
        tasks.push(
          await verifyCallback(
            { headers: delivery.headers as Record<string, string>, body: delivery.body },
            { secret: SECRET },
          ),
        );
      expect(tasks.map((task) => [task.task_id, task.task_status])).toEqual([
        [id, "submitted"],
        [id, "processing"],
        [id, "succeed"],
      ]);
      await expect.poll(() => mock.deliveries.map((d) => d.outcome)).toEqual(["delivered", "delivered", "delivered"]);
    } finally {
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});
