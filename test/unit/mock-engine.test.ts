// The mock's task engine without any HTTP server: the task store and its clock, and the engine over the spec side
// generated from the spec (the same one the MSW handlers use), driven with plain requests.
import { describe, expect, it } from "vitest";
import { type EngineRequest, MockEngine } from "../../mocks/engine.js";
import { createSpecExamples } from "../../mocks/spec-examples.js";
import { TaskStore } from "../../mocks/tasks.js";

const BASE = "http://engine.test";
const CREATE = "/v1/audio/video-to-audio";

function request(method: string, target: string, body?: unknown, headers: Record<string, string> = {}): EngineRequest {
  const url = new URL(target, BASE);
  const bytes = body === undefined ? new Uint8Array(0) : new TextEncoder().encode(JSON.stringify(body));
  const all = new Headers(body === undefined ? headers : { "content-type": "application/json", ...headers });
  return { method, base: BASE, path: url.pathname, target, query: url.searchParams, headers: all, body: bytes };
}

async function json(engine: MockEngine, req: EngineRequest) {
  const { answer } = await engine.handle(req);
  return { status: answer.status, body: JSON.parse(new TextDecoder().decode(answer.body)) };
}

describe("TaskStore", () => {
  it("moves a task through its stages on its clock and ends it failed on a fail marker", () => {
    let now = 1_000_000;
    const store = new TaskStore({ now: () => now, submittedMs: 10, processingMs: 20, maxTasks: 5 });
    const ok = store.create({ video_url: "https://a.test/v.mp4" }, BASE, undefined);
    const bad = store.create({ video_url: "https://a.test/FAIL.mp4" }, BASE, undefined);
    const seen = (task: typeof ok) => store.stageStatus(task, store.stageOf(task));
    expect([seen(ok), seen(bad)]).toEqual(["submitted", "submitted"]);
    now += 10;
    expect([seen(ok), seen(bad)]).toEqual(["processing", "processing"]);
    now += 20;
    expect([seen(ok), seen(bad)]).toEqual(["succeed", "failed"]);
    expect(store.stageAt(ok, 2)).toBe(ok.createdAt + 30);
  });

  it("hands out growing 18-digit ids, finds tasks by external id, and forgets the oldest beyond maxTasks", () => {
    const store = new TaskStore({ now: () => 1_800_000_000_000, submittedMs: 1, processingMs: 1, maxTasks: 2 });
    const a = store.create({ video_id: "1", external_task_id: "ext-a" }, BASE, undefined);
    const b = store.create({ video_id: "2" }, BASE, "gateway");
    expect(a.id).toMatch(/^\d{18}$/);
    expect(BigInt(b.id)).toBeGreaterThan(BigInt(a.id));
    expect(store.find("ext-a")).toBe(a);
    expect(b.gateway).toBe(true);
    store.create({ video_id: "3" }, BASE, undefined);
    expect(store.find(a.id)).toBeUndefined();
    expect(store.find("ext-a")).toBeUndefined();
    expect(store.page(1, 10).map((task) => task.videoId)).toEqual(["3", "2"]);
  });
});

describe("MockEngine over the generated spec side", () => {
  it("creates, answers getTask by stage and lists, with media URLs on the request's base", async () => {
    let now = 5_000_000;
    const engine = new MockEngine(createSpecExamples(), { now: () => now, submittedMs: 10, processingMs: 10 });
    const created = await json(engine, request("POST", CREATE, { video_url: "https://a.test/v.mp4" }));
    expect(created).toMatchObject({ status: 200, body: { code: 0, data: { task_status: "submitted" } } });
    const id = created.body.data.task_id;
    now += 20;
    const got = await json(engine, request("GET", `${CREATE}/${id}`));
    expect(got.body.data.task_status).toBe("succeed");
    expect(got.body.data.task_result.audios[0].url_mp3).toBe(`${BASE}/media/${id}.mp3`);
    const listed = await json(engine, request("GET", `${CREATE}?pageSize=1`));
    expect(listed.body.data.map((task: { task_id: string }) => task.task_id)).toEqual([id]);
    await engine.close();
  });

  it("words a bad body from the generated validators, as Prism's violations are worded", async () => {
    const engine = new MockEngine(createSpecExamples());
    const bad = await json(engine, request("POST", CREATE, { video_url: "https://a.test/v.mp4", asmr_mode: 1 }));
    expect(bad).toMatchObject({
      status: 400,
      body: { code: 1201, message: "Invalid parameter: asmr_mode must be a boolean, got 1" },
    });
    const typed = await engine.handle({
      ...request("POST", CREATE, { video_id: "1" }),
      headers: new Headers({ "content-type": "text/plain" }),
    });
    expect(JSON.parse(new TextDecoder().decode(typed.answer.body)).message).toMatch(
      /Content-Type must be application\/json/,
    );
    await engine.close();
  });

  it("reset() forgets tasks and deliveries; the clock and options stay", async () => {
    const engine = new MockEngine(createSpecExamples(), { submittedMs: 0, processingMs: 0 });
    const id = (await json(engine, request("POST", CREATE, { video_id: "1" }))).body.data.task_id;
    engine.reset();
    expect((await json(engine, request("GET", `${CREATE}/${id}`))).status).toBe(404);
    expect(engine.deliveries).toEqual([]);
    await engine.close();
  });
});
