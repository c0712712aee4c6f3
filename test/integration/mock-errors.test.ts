// The mock's refusals: a 400 with code 1201 whose message names the field and the rule for every kind of violation,
// Kling-shaped for malformed JSON too; 401 only with requireAuth.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningMock } from "../../mocks/types.js";
import { CREATE_PATH, loadMock } from "../support/mock.js";
import { validatorAt } from "../support/spec.js";

const { startMock } = await loadMock();

const validError = validatorAt("#/components/schemas/ErrorEnvelope");
const URL_OK = "https://example.com/clip.mp4";

let mock: RunningMock;
beforeAll(async () => {
  mock = await startMock();
});
afterAll(() => mock.close());

async function post(body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${mock.url}${CREATE_PATH}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  return { status: response.status, body: await response.json() };
}

describe("400 with code 1201 naming the field and the rule", () => {
  const KNOWN =
    "known fields: sound_effect_prompt, bgm_prompt, asmr_mode, external_task_id, callback_url, video_id, video_url";
  // Two faults in one body: both named, in either order.
  const ASMR_FAULT = "asmr_mode must be a boolean, got 1";
  const BGM_FAULT = String.raw`bgm_prompt must be at most 200 characters \(Unicode code points\), got 300`;
  it.each([
    [
      "a typo'd field, with the closest known one",
      { video_url: URL_OK, bgm_promt: "piano" },
      `unknown field "bgm_promt" (did you mean "bgm_prompt"?); ${KNOWN}`,
    ],
    [
      "a typo in the case",
      { Video_Url: URL_OK },
      `video_id or video_url is required (exactly one of them); unknown field "Video_Url" (did you mean ` +
        `"video_url"?); ${KNOWN}`,
    ],
    ["an unknown field nothing resembles", { video_url: URL_OK, colour: "red" }, `unknown field "colour"; ${KNOWN}`],
    [
      "both video fields",
      { video_url: URL_OK, video_id: "866534912876544067" },
      "video_id and video_url: give exactly one of video_id or video_url, not both",
    ],
    ["neither video field", { bgm_prompt: "piano" }, "video_id or video_url is required (exactly one of them)"],
    [
      "only empty video fields",
      { video_id: "", video_url: "" },
      "video_id or video_url is required (exactly one of them)",
    ],
    [
      "a 201-code-point prompt (emoji count once)",
      { video_url: URL_OK, sound_effect_prompt: "🌧".repeat(201) },
      "sound_effect_prompt must be at most 200 characters (Unicode code points), got 201",
    ],
    [
      "a bad video URL",
      { video_url: "ftp://example.com/a.mp4" },
      'video_url must be an absolute http(s) URL, got "ftp://example.com/a.mp4"',
    ],
    [
      "a URL with a space",
      { video_url: "https://example.com/a b.mp4" },
      'video_url must be an absolute http(s) URL, got "https://example.com/a b.mp4"',
    ],
    [
      "a bad callback URL",
      { video_url: URL_OK, callback_url: "example.com/hook" },
      'callback_url must be an absolute http(s) URL, got "example.com/hook"',
    ],
    ["asmr_mode as a string", { video_url: URL_OK, asmr_mode: "true" }, 'asmr_mode must be a boolean, got "true"'],
    // biome-ignore lint/correctness/noPrecisionLoss: the point: an id too long for a JSON number loses its last digits
    ["a number for video_id", { video_id: 866534912876544067 }, "video_id must be a string, got 866534912876544100"],
    [
      "a number for external_task_id",
      { video_url: URL_OK, external_task_id: 7 },
      "external_task_id must be a string, got 7",
    ],
    [
      "a prompt that is not a string",
      { video_url: URL_OK, bgm_prompt: ["piano"] },
      'bgm_prompt must be a string, got ["piano"]',
    ],
    ["an array body", [URL_OK], "the request body must be a JSON object"],
    [
      "two faults at once, both named",
      { video_url: URL_OK, asmr_mode: 1, bgm_prompt: "x".repeat(300) },
      new RegExp(`^(${ASMR_FAULT}; ${BGM_FAULT}|${BGM_FAULT}; ${ASMR_FAULT})$`),
    ],
  ] as Array<[string, unknown, string | RegExp]>)("%s", async (_label, body, expected) => {
    const answer = await post(JSON.stringify(body));
    expect(answer.status).toBe(400);
    expect(validError(answer.body)).toBe(true);
    expect(answer.body.code).toBe(1201);
    const message: string = answer.body.message;
    expect(message.startsWith("Invalid parameter: ")).toBe(true);
    // The whole message, so that no leftover of the other oneOf branch (or of an "or empty" alternative) slips in.
    if (typeof expected === "string") expect(message.slice("Invalid parameter: ".length)).toBe(expected);
    else expect(message.slice("Invalid parameter: ".length)).toMatch(expected);
  });

  it.each([
    ["an empty unused video field", { video_id: "866534912876544067", video_url: "" }],
    [
      "empty external_task_id and callback_url (Kling's own example)",
      { video_url: URL_OK, external_task_id: "", callback_url: "" },
    ],
  ])("accepts %s, as the spec does", async (_label, body) => {
    expect((await post(JSON.stringify(body))).status).toBe(200);
  });

  it("words a bad page query with the spec's parameter names and the value sent", async () => {
    for (const [query, expected] of [
      ["?pageSize=501", /pageSize must be <= 500, got "501"/],
      ["?pageNum=0", /pageNum must be >= 1, got "0"/],
      ["?pageNum=abc&pageSize=1.5", /pageNum must be an integer, got "abc"; pageSize must be an integer, got "1.5"/],
    ] as const) {
      const response = await fetch(`${mock.url}${CREATE_PATH}${query}`);
      const answer = await response.json();
      expect(response.status, query).toBe(400);
      expect(answer).toMatchObject({ code: 1201, message: expect.stringMatching(expected) });
    }
  });

  it("answers malformed JSON with the same Kling envelope, not Prism's invalid_json", async () => {
    for (const raw of ["{", '{"video_url": "https://example.com/a.mp4",}', "\u00ff\u00fe", "nul"]) {
      const answer = await post(raw);
      expect(answer.status, raw).toBe(400);
      expect(validError(answer.body)).toBe(true);
      expect(answer.body).toMatchObject({
        code: 1201,
        message: expect.stringMatching(/^Invalid parameter: the request body is not valid JSON/),
      });
      expect(answer.body.request_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(JSON.stringify(answer.body)).not.toContain("invalid_json");
    }
  });

  it("refuses a body over 1 MiB with a Kling 400 instead of reading it all", async () => {
    const answer = await post(JSON.stringify({ video_url: URL_OK, bgm_prompt: "x".repeat(2 * 1024 * 1024) }));
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: 1200, message: expect.stringMatching(/body is over/) });
  });

  it("gives each worded error a fresh request_id, and remembers no task", async () => {
    const count = async () => (await (await fetch(`${mock.url}${CREATE_PATH}?pageSize=500`)).json()).data.length;
    const before = await count();
    const a = await post(JSON.stringify({ bgm_prompt: "x" }));
    const b = await post(JSON.stringify({ bgm_prompt: "x" }));
    expect(a.body.request_id).not.toBe(b.body.request_id);
    expect(await count()).toBe(before);
  });
});

describe("auth", () => {
  it("needs no key by default: no header, an empty one or any scheme is served", async () => {
    for (const authorization of [undefined, "", "Bearer ", "Basic dXNlcjpwYXNz"]) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (authorization !== undefined) headers.authorization = authorization;
      const response = await fetch(`${mock.url}${CREATE_PATH}`, {
        method: "POST",
        headers,
        body: JSON.stringify({ video_url: URL_OK }),
      });
      expect(response.status, String(authorization)).toBe(200);
    }
  });

  it(
    "with requireAuth answers like the real API: 1001 without a token, 1002 for another scheme, before looking at " +
      "the body",
    async () => {
      const strict = await startMock({ requireAuth: true });
      try {
        const call = async (authorization: string | undefined, body = JSON.stringify({ video_url: URL_OK })) => {
          const headers: Record<string, string> = { "content-type": "application/json" };
          if (authorization !== undefined) headers.authorization = authorization;
          const response = await fetch(`${strict.url}${CREATE_PATH}`, { method: "POST", headers, body });
          return { status: response.status, body: await response.json() };
        };
        for (const authorization of [undefined, "", "Bearer", "Bearer   "]) {
          expect(await call(authorization), String(authorization)).toMatchObject({
            status: 401,
            body: { code: 1001, message: "Authorization is empty" },
          });
        }
        expect(await call("Basic dXNlcjpwYXNz")).toMatchObject({ status: 401, body: { code: 1002 } });
        // The token is checked first, as Kling does: a bad body without one is still a 401.
        expect(await call(undefined, "{")).toMatchObject({ status: 401, body: { code: 1001 } });
        expect((await call("Bearer any-token")).status).toBe(200);
        expect((await call("bearer any-token")).status).toBe(200);
        const get = await fetch(`${strict.url}${CREATE_PATH}/123`);
        expect((await get.json()).code).toBe(1001);
        // Media are public, as a CDN's are.
        expect((await fetch(`${strict.url}/media/866889456698785798.mp3`)).status).toBe(200);
      } finally {
        await strict.close();
      }
    },
  );
});
