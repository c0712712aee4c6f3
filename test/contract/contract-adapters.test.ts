// The contract suite on both adapters of the mock engine: Prism behind the node:http layer, and the MSW handlers
// (setupServer, in-process). The same requests, the same ajv checks against the spec, the same lifecycle assertions.
import { setupServer } from "msw/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMockHandlers } from "../../mocks/msw.js";
import { createRawClient } from "../../src/client.js";
import { loadMock, withMockMedia } from "../support/mock.js";
import { operations, responseExamples, responseSchemaPointer, spec, validatorAt } from "../support/spec.js";

const CREATE = "/v1/audio/video-to-audio" as const;
const GET = "/v1/audio/video-to-audio/{task_id}" as const;
const START = 1_800_000_000_000;
const SUBMITTED_MS = 1_000;
const PROCESSING_MS = 2_000;

interface Adapter {
  /** Where the API is: its media URLs are built on it too. */
  url: string;
  advance(ms: number): void;
  close(): Promise<void>;
}

/** Each adapter on an injected clock. */
const ADAPTERS: Array<[string, () => Promise<Adapter>]> = [
  [
    "prism+layer",
    async () => {
      const { startMock } = await loadMock();
      let clock = START;
      const mock = await startMock({ submittedMs: SUBMITTED_MS, processingMs: PROCESSING_MS, now: () => clock });
      return { url: mock.url, advance: (ms) => (clock += ms), close: () => mock.close() };
    },
  ],
  [
    "msw",
    async () => {
      let clock = START;
      const mock = createMockHandlers({ submittedMs: SUBMITTED_MS, processingMs: PROCESSING_MS, now: () => clock });
      const server = setupServer(...mock.handlers);
      server.listen({ onUnhandledRequest: "error" });
      return {
        url: "https://api.deerapi.com/kling",
        advance: (ms) => (clock += ms),
        close: async () => server.close(),
      };
    },
  ],
];

const requestExamples: Record<string, any> = spec.paths[CREATE].post.requestBody.content["application/json"].examples;
const { callback_url: _dropped, ...validBody } = requestExamples.by_video_url.value;
const URL_OK = "https://example.com/clip.mp4";

/** Bodies the API refuses, each with the 1201 message both adapters must give (after "Invalid parameter: "). */
const REFUSED: Array<[string, unknown, string]> = [
  ["both video fields", { video_url: URL_OK, video_id: "1" }, "video_id and video_url: give exactly one of"],
  ["neither video field", { sound_effect_prompt: "rain" }, "video_id or video_url is required (exactly one of them)"],
  ["a 201-character prompt", { video_url: URL_OK, bgm_prompt: "x".repeat(201) }, "bgm_prompt must be at most 200"],
  ["an unknown field", { video_url: URL_OK, bgm_promt: "typo" }, 'unknown field "bgm_promt" (did you mean'],
  ["a non-http video_url", { video_url: "ftp://example.com/clip.mp4" }, "video_url must be an absolute http(s) URL"],
  ["a URL with a space", { video_url: "https://example.com/a b.mp4" }, "video_url must be an absolute http(s) URL"],
  ["a non-boolean asmr_mode", { video_url: URL_OK, asmr_mode: "yes" }, 'asmr_mode must be a boolean, got "yes"'],
  ["a blank video_id beside a video_url", { video_id: " ", video_url: URL_OK }, "video_id and video_url"],
  ["a callback_url of one space", { video_url: URL_OK, callback_url: " " }, "callback_url must be an absolute"],
  ["a non-string external_task_id", { video_url: URL_OK, external_task_id: 7 }, "external_task_id must be a string"],
  ["an array body", [URL_OK], "the request body must be a JSON object"],
  ["a null body", null, "the request body is required: a JSON object"],
];

describe.each(ADAPTERS)("contract on %s", (name, start) => {
  let adapter: Adapter;
  let raw: ReturnType<typeof createRawClient>;
  beforeAll(async () => {
    adapter = await start();
    raw = createRawClient({ baseUrl: adapter.url, apiKey: "test-key" });
  });
  afterAll(() => adapter.close());

  async function send(operationId: string, prefer?: string) {
    const headers = prefer ? { Prefer: prefer } : {};
    if (operationId === "createTask") return raw.POST(CREATE, { body: validBody, headers });
    if (operationId === "getTask")
      return raw.GET(GET, { params: { path: { task_id: "866889456698785798" } }, headers });
    return raw.GET(CREATE, { params: { query: { pageNum: 1, pageSize: 30 } }, headers });
  }

  describe.each(operations().map((op) => [op.operationId, op] as const))("%s", (operationId, op) => {
    it("answers 200 with a body valid against the spec", async () => {
      const created = await raw.POST(CREATE, { body: validBody });
      const id = created.data?.data?.task_id ?? "";
      const { response, data } =
        operationId === "getTask" ? await raw.GET(GET, { params: { path: { task_id: id } } }) : await send(operationId);
      expect(response.status).toBe(200);
      expect(validatorAt(responseSchemaPointer(op, 200))(data)).toBe(true);
    });

    it.each(responseExamples(op).map((e) => [`${e.status} ${e.name}`, e] as const))(
      "serves the preferred example %s, valid against its schema, media on the mock",
      async (_label, example) => {
        const { response, data, error } = await send(operationId, `code=${example.status}, example=${example.name}`);
        expect(response.status).toBe(Number(example.status));
        const body: any = response.ok ? data : error;
        const validate = validatorAt(example.schemaPointer);
        expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
        if (operationId !== "createTask" || example.status !== "200") {
          expect(body).toEqual(withMockMedia(example.value, adapter.url));
          return;
        }
        // A create's status example is a lifecycle choice: a real task of the example's shape, not the example itself.
        const { task_id: _id, created_at: _c, updated_at: _u, ...shape } = example.value.data;
        expect(body.data).toMatchObject({ ...shape, task_id: expect.stringMatching(/^\d{18}$/) });
        expect(Object.keys(body).sort()).toEqual(Object.keys(example.value).sort());
      },
    );
  });

  it.each(Object.entries(requestExamples))("accepts the request example %s", async (_name, example) => {
    const { callback_url: _cb, ...body } = example.value;
    const { response, data } = await raw.POST(CREATE, { body });
    expect(response.status).toBe(200);
    expect(data?.data?.task_status).toBe("submitted");
  });

  it.each(REFUSED)("refuses %s with 400, code 1201 and the same words", async (_label, body, words) => {
    const response = await fetch(`${adapter.url}${CREATE}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    expect(response.status).toBe(400);
    expect(validatorAt("#/components/schemas/ErrorEnvelope")(answer)).toBe(true);
    expect(answer.code).toBe(1201);
    expect(answer.message).toContain(`Invalid parameter: ${words}`);
  });

  it.each([
    ["?pageSize=501", 'pageSize must be <= 500, got "501"'],
    ["?pageNum=0", 'pageNum must be >= 1, got "0"'],
    ["?pageNum=abc&pageSize=1.5", 'pageNum must be an integer, got "abc"; pageSize must be an integer, got "1.5"'],
    ["?pageNum=2&pageNum=3", 'pageNum must be an integer, got "2"'],
  ])("refuses the list query %s naming the parameter", async (query, words) => {
    const response = await fetch(`${adapter.url}${CREATE}${query}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 1201, message: `Invalid parameter: ${words}` });
  });

  it("walks a created task to succeed, lists it, serves its media, and answers 404/1203 for unknown ids", async () => {
    const created = await raw.POST(CREATE, { body: { video_url: URL_OK, external_task_id: "contract-walk" } });
    const id = created.data?.data?.task_id ?? "";
    const seen: string[] = [];
    for (const step of [0, SUBMITTED_MS, PROCESSING_MS]) {
      adapter.advance(step);
      const { data } = await raw.GET(GET, { params: { path: { task_id: id } } });
      expect(validatorAt("#/components/schemas/TaskResponse")(data)).toBe(true);
      seen.push(data?.data?.task_status ?? "");
    }
    expect(seen).toEqual(["submitted", "processing", "succeed"]);
    const list = await raw.GET(CREATE, { params: { query: { pageNum: 1, pageSize: 1 } } });
    expect(validatorAt("#/components/schemas/TaskListResponse")(list.data)).toBe(true);
    expect(list.data?.data?.map((task) => task.task_id)).toEqual([id]);
    const media = await fetch(`${adapter.url}/media/${id}.mp3`, { headers: { range: "bytes=0-1" } });
    expect(media.status).toBe(206);
    const missing = await raw.GET(GET, { params: { path: { task_id: "no-such-task" } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error?.code).toBe(1203);
  });

  // Where the adapters differ, by name: with no baseUrl, the MSW handlers let a /media/ URL they did not hand out
  // through (it is the app's own; here MSW's onUnhandledRequest "error" then refuses it); the server answers 404.
  it.runIf(name === "prism+layer")("prism+layer: a /media/ URL it did not hand out is 404", async () => {
    expect((await fetch(`${adapter.url}/media/123.mp3`)).status).toBe(404);
  });
  it.runIf(name === "msw")("msw: a /media/ URL it did not hand out is not handled (no baseUrl)", async () => {
    await expect(fetch(`${adapter.url}/media/123.mp3`)).rejects.toThrow();
  });
});
