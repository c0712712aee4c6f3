// Contract tests: the typed low-level client against a real Prism server; every named example comes back and matches
// its schema.
import { describe, expect, it } from "vitest";
import { createRawClient } from "../../src/client.js";
import { prismUrl } from "../support/setup-jobs.js";
import { operations, responseExamples, responseSchemaPointer, spec, validatorAt } from "../support/spec.js";

const baseUrl = await prismUrl();
const raw = createRawClient({ baseUrl, apiKey: "test-key" });
const CREATE = "/v1/audio/video-to-audio" as const;
const GET = "/v1/audio/video-to-audio/{task_id}" as const;

const requestExamples: Record<string, any> = spec.paths[CREATE].post.requestBody.content["application/json"].examples;
/** A create body Prism accepts; the callback_url is dropped so Prism does not post to example.com. */
const { callback_url: _dropped, ...validBody } = requestExamples.by_video_url.value;

async function send(operationId: string, prefer?: string) {
  const headers = prefer ? { Prefer: prefer } : {};
  switch (operationId) {
    case "createTask":
      return raw.POST(CREATE, { body: validBody, headers });
    case "getTask":
      return raw.GET(GET, { params: { path: { task_id: "866889456698785798" } }, headers });
    case "listTasks":
      return raw.GET(CREATE, { params: { query: { pageNum: 1, pageSize: 30 } }, headers });
    default:
      throw new Error(`no request for ${operationId}`);
  }
}

describe.each(operations().map((op) => [op.operationId, op] as const))("%s", (operationId, op) => {
  const examples = responseExamples(op);

  it("answers 200 with a valid body when nothing is preferred", async () => {
    const { response, data } = await send(operationId);
    expect(response.status).toBe(200);
    expect(validatorAt(responseSchemaPointer(op, 200))(data)).toBe(true);
  });

  it.each(examples.map((e) => [`${e.status} ${e.name}`, e] as const))(
    "serves example %s, valid against its schema",
    async (_label, example) => {
      const { response, data, error } = await send(operationId, `code=${example.status}, example=${example.name}`);
      expect(response.status).toBe(Number(example.status));
      expect(response.headers.get("sl-violations")).toBeNull();
      const body = response.ok ? data : error;
      expect(body).toEqual(example.value);
      const validate = validatorAt(example.schemaPointer);
      expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
    },
  );
});

describe("createTask request examples", () => {
  it.each(Object.entries(requestExamples))("Prism accepts %s", async (_name, example) => {
    const { callback_url: _cb, ...body } = example.value;
    expect(validatorAt("#/components/schemas/CreateTaskRequest")(example.value)).toBe(true);
    const { response, data } = await raw.POST(CREATE, { body });
    expect(response.status).toBe(200);
    expect(data?.data?.task_status).toBe("submitted");
  });
});

/**
 * Kling's own create example, byte for byte (kling.ai/document-api/api/video/audio-generation/video-to-audio, "Create
 * Task", cURL `--data`): the optional fields are sent as empty strings.
 */
const KLING_DOCUMENTED_BODY = `{
"video_url": "https://p1-kling.klingai.com/kcdn/cdn-kcdn112452/kling-qa-test/20fps-7s.mov",
"external_task_id": "",
"callback_url": ""
}`;

/** Sends a create body as raw JSON text, so what reaches Prism is exactly the documented bytes. */
async function postRaw(text: string): Promise<{ status: number; body: any; violations: string | null }> {
  const response = await fetch(`${baseUrl}${CREATE}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer test-key" },
    body: text,
  });
  return { status: response.status, body: await response.json(), violations: response.headers.get("sl-violations") };
}

describe("Prism accepts what Kling accepts", () => {
  const validate = validatorAt("#/components/schemas/CreateTaskRequest");
  const cases: Array<[string, string]> = [
    ["Kling's documented create example (empty external_task_id and callback_url)", KLING_DOCUMENTED_BODY],
    [
      "the gateway form: an empty video_id beside a video_url",
      JSON.stringify({ video_id: "", video_url: "https://example.com/clip.mp4" }),
    ],
    [
      "the gateway form: an empty video_url beside a video_id",
      JSON.stringify({ video_id: "866534912876544067", video_url: "", sound_effect_prompt: "rain" }),
    ],
    [
      "every optional field empty beside a video_id",
      JSON.stringify({ video_id: "866534912876544067", video_url: "", external_task_id: "", callback_url: "" }),
    ],
  ];

  it.each(cases)("%s", async (_label, text) => {
    expect(validate(JSON.parse(text)), JSON.stringify(validate.errors)).toBe(true);
    const { status, body, violations } = await postRaw(text);
    expect(violations).toBeNull();
    expect(status).toBe(200);
    expect(validatorAt("#/components/schemas/TaskResponse")(body)).toBe(true);
    expect(body.data.task_status).toBe("submitted");
  });
});

describe("Prism rejects what the API rejects", () => {
  const url = "https://example.com/clip.mp4";
  const cases: Array<[string, unknown, string]> = [
    ["both video fields", { video_url: url, video_id: "866534912876544067" }, "video_"],
    ["neither video field", { sound_effect_prompt: "rain" }, "video_"],
    ["a 201-character prompt", { video_url: url, bgm_prompt: "x".repeat(201) }, "bgm_prompt"],
    ["an unknown field", { video_url: url, bgm_promt: "typo" }, "bgm_promt"],
    ["a non-http video_url", { video_url: "ftp://example.com/clip.mp4" }, "video_url"],
    ["a non-boolean asmr_mode", { video_url: url, asmr_mode: "yes" }, "asmr_mode"],
    ["both video fields empty", { video_id: "", video_url: "" }, "video_"],
    ["an empty video_url alone", { video_url: "" }, "video_url"],
    ["a blank (one space) video_id beside a video_url", { video_id: " ", video_url: url }, "video_id"],
    ["a callback_url that is not a URL", { video_url: url, callback_url: "hooks/kling" }, "callback_url"],
    ["a non-http callback_url", { video_url: url, callback_url: "ftp://example.com/hook" }, "callback_url"],
    ["a callback_url of one space", { video_url: url, callback_url: " " }, "callback_url"],
    ["a non-string external_task_id", { video_url: url, external_task_id: 7 }, "external_task_id"],
  ];

  it.each(cases)("rejects %s with a Kling-shaped 400", async (_label, body, mentioned) => {
    // The typed client refuses these at compile time; the cast sends them anyway to prove the server side.
    const { response, error } = await raw.POST(CREATE, { body: body as never });
    expect(response.status).toBe(400);
    expect(error).toMatchObject({ code: expect.any(Number), message: expect.any(String) });
    expect(validatorAt("#/components/schemas/ErrorEnvelope")(error)).toBe(true);
    expect(response.headers.get("sl-violations")).toContain(mentioned);
    expect(validatorAt("#/components/schemas/CreateTaskRequest")(body), "ajv agrees with Prism").toBe(false);
  });

  it.each([
    ["pageSize", { pageSize: 501 }],
    ["pageSize", { pageSize: 0 }],
    ["pageNum", { pageNum: 1001 }],
  ] as const)("rejects an out-of-range %s", async (_name, query) => {
    const { response } = await raw.GET(CREATE, { params: { query } });
    expect(response.status).toBe(400);
  });

  it("answers a missing key with 401 and a Kling auth code", async () => {
    const anonymous = createRawClient({ baseUrl });
    const { response, error } = await anonymous.GET(GET, { params: { path: { task_id: "1" } } });
    expect(response.status).toBe(401);
    expect(error?.code).toBeGreaterThanOrEqual(1000);
    expect(error?.code).toBeLessThanOrEqual(1004);
  });
});
