// Property-based fuzzing (fast-check, seeded): create inputs judged against the spec, callback bodies and signature
// headers, and arbitrary server answers through an injected fetch. Every failure must be a typed KlingError with a
// useful message, invalid input sends nothing, and no secret leaks. FUZZ_SEED / FUZZ_RUNS override the seed and the
// total number of cases (default 10,000); `npm run fuzz` runs 100,000. FUZZ_REPORT=<file> also writes the figures as
// JSON.
import { writeFileSync } from "node:fs";
import { inspect, isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { afterAll, describe, expect, it, onTestFinished } from "vitest";
import {
  type CreateTaskInput,
  createClient,
  KlingCallbackError,
  type KlingCallbackErrorReason,
  KlingError,
  KlingValidationError,
  type Logger,
  parseCallback,
  signCallback,
  type Task,
  verifyCallback,
} from "../../src/index.js";
import { validatorAt } from "../support/spec.js";

function intEnv(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}

const SEED = intEnv("FUZZ_SEED", 42);
const TOTAL = Math.max(10, intEnv("FUZZ_RUNS", 10_000));
const RUNS = (() => {
  const create = Math.round(TOTAL * 0.4);
  const callbacks = Math.round(TOTAL * 0.3);
  const parse = Math.round(callbacks * 0.35);
  const headers = Math.round(callbacks * 0.35);
  const signed = Math.round(callbacks * 0.15);
  return {
    create,
    parse,
    headers,
    signed,
    mutated: callbacks - parse - headers - signed,
    responses: TOTAL - create - callbacks,
  };
})();
/** Generous per-test limits for big runs (the seeded default takes a few seconds in all). */
const timeoutFor = (runs: number) => Math.max(30_000, runs * 10);
const started = Date.now();

// Long, distinctive fake secrets: any appearance in an error or a log line is a leak, never a coincidence.
const API_KEY = "sk-FUZZ-apikey-7f3a9c2e51d84b06a1e2f3c4d5e6f708";
const ACCESS_KEY = "AK-FUZZ-accesskey-0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const SECRET_KEY = "SK-FUZZ-secretkey-f9e8d7c6b5a4039281706f5e4d3c2b1a";
const WEBHOOK_SECRET_BYTES = "FUZZ-webhook-secret-0123456789-abcdef";
const WEBHOOK_SECRET_B64 = Buffer.from(WEBHOOK_SECRET_BYTES).toString("base64");
const WEBHOOK_SECRET = `whsec_${WEBHOOK_SECRET_B64}`;
const BASE_URL = "https://kling.fuzz.test";

const REASONS: readonly KlingCallbackErrorReason[] = [
  "invalid_json",
  "invalid_payload",
  "missing_headers",
  "invalid_timestamp",
  "invalid_signature",
  "timestamp_out_of_tolerance",
  "invalid_secret",
  "parsed_body",
  "body_too_large",
];

const figures = {
  seed: SEED,
  totalRuns: TOTAL,
  create: {
    cases: 0,
    valid: 0,
    invalid: 0,
    /**
     * Note N1: the client drops `video_id: null` / `video_url: null` like an empty string (api.md names only ""; the
     * spec rejects null).
     */
    nullVideoDropped: 0,
    /**
     * Finding F3: the client's URL rule (WHATWG URL, any-case scheme) and the spec's (RFC 3986 `format: uri`,
     * `^https?://`) disagree.
     */
    urlRuleDisagreements: 0,
    /** The URL disagreements by kind: "sent" = the client sends it and the spec rejects it, "refused" = the reverse. */
    urlKinds: {} as Record<string, number>,
  },
  callbacks: {
    cases: 0,
    parse: 0,
    headers: 0,
    signed: 0,
    mutated: 0,
    accepted: 0,
    rejected: {} as Record<string, number>,
  },
  responses: {
    cases: 0,
    resolved: 0,
    rejected: {} as Record<string, number>,
    huge: 0,
    /** Cases where the fake server answered more than once: retries, a JWT renewal, or a create's lookup. */
    multiAnswer: 0,
    echoedSecrets: 0,
  },
  failures: 0,
  elapsedMs: 0,
};

afterAll(() => {
  figures.elapsedMs = Date.now() - started;
  const c = figures.create;
  const r = figures.responses;
  const cb = figures.callbacks;
  console.log(
    `fuzz: create inputs ${c.cases} cases (${c.valid} valid, ${c.invalid} invalid; known divergences: ` +
      `${c.urlRuleDisagreements} URL rule, ` +
      `${c.nullVideoDropped} null fields dropped), ` +
      `callbacks ${cb.cases} (${cb.parse} parse, ${cb.headers} header sets, ${cb.signed} signed, ${cb.mutated} ` +
      `mutated; ${cb.accepted} accepted), ` +
      `responses ${r.cases} (${r.resolved} resolved, ${r.cases - r.resolved} rejected, ${r.huge} huge, ` +
      `${r.multiAnswer} multi-answer, ${r.echoedSecrets} echoing secrets), ` +
      `seed ${SEED}, ${figures.failures} failures, ${(figures.elapsedMs / 1000).toFixed(1)} s`,
  );
  if (process.env.FUZZ_REPORT) writeFileSync(process.env.FUZZ_REPORT, `${JSON.stringify(figures, null, 2)}\n`);
});

/** fc.assert with the run's seed (offset per property so they explore different cases); counts failures. */
async function check<Ts extends [unknown, ...unknown[]]>(
  property: fc.IAsyncProperty<Ts>,
  offset: number,
  numRuns: number,
): Promise<void> {
  try {
    await fc.assert(property, { seed: SEED + offset, numRuns });
  } catch (error) {
    figures.failures++;
    throw error;
  }
}

const show = (value: unknown) => inspect(value, { depth: 4, breakLength: Infinity, maxStringLength: 300 });
const hasOwn = (value: unknown, key: string) =>
  typeof value === "object" && value !== null && Object.hasOwn(value, key);
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Asserts deep equality with a lazily built context: `expect(x, message)` would build every message up front. */
function same(actual: unknown, expected: unknown, context: () => string): void {
  if (!isDeepStrictEqual(actual, expected))
    throw new Error(`expected ${show(expected)}, got ${show(actual)}: ${context()}`);
}

function ensure(condition: unknown, message: () => string): asserts condition {
  if (!condition) throw new Error(message());
}

/**
 * What an error shows the world: its message and JSON form, and with `deep` the util.inspect that loggers print
 * (stack and cause chain included; formatting the stack is most of a case's cost, so only the responses use it).
 */
function errorTexts(error: unknown, deep = false): string[] {
  const texts = [error instanceof Error ? error.message : String(error), JSON.stringify(error) ?? ""];
  if (deep) texts.push(inspect(error, { depth: 10 }));
  return texts;
}

function expectNoSecret(texts: string[], secrets: readonly string[], context: () => string): void {
  for (const text of texts) {
    for (const secret of secrets) {
      if (text.includes(secret))
        throw new Error(
          `secret ${JSON.stringify(secret.slice(0, 12))}… leaked in ${JSON.stringify(text.slice(0, 300))} ` +
            `(${context()})`,
        );
    }
  }
}

// ----------------------------------------------------------------------------------------------------------------
// Create inputs
// ----------------------------------------------------------------------------------------------------------------

const validateCreate = validatorAt("#/components/schemas/CreateTaskRequest");
const validateHttpUrl = validatorAt("#/components/schemas/HttpUrl");
const CREATED = {
  code: 0,
  message: "SUCCEED",
  request_id: "req-fuzz",
  data: { task_id: "880000000000000001", task_status: "submitted", created_at: 1, updated_at: 1 },
};

/** One code point: ASCII, accented, CJK, emoji and other astral characters, lone surrogates, anything. */
const codePoint = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "a",
      "Z",
      " ",
      "é",
      "中",
      "😀",
      "👍🏽".slice(0, 2),
      "𝄞",
      "\u{10FFFF}",
      "\u0000",
      "\n",
      "\u200d",
    ),
  },
  // Any code point (not fc.string's "binary" unit: its first use builds a map of all 1.1M code points, a second of
  // CPU).
  {
    weight: 2,
    arbitrary: fc
      .integer({ min: 0, max: 0x10ffff })
      .map((c) => String.fromCodePoint(c >= 0xd800 && c <= 0xdfff ? c + 0x800 : c)),
  },
  { weight: 1, arbitrary: fc.constantFrom("\ud800", "\udfff") },
);
const prompt = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: codePoint, maxLength: 30 }) },
  // Around the 200 code point limit, where UTF-16 length and code points part ways.
  {
    weight: 2,
    arbitrary: fc
      .integer({ min: 198, max: 202 })
      .chain((n) => fc.string({ unit: codePoint, minLength: n, maxLength: n })),
  },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 200 }).map((n) => "😀".repeat(n)) },
);
// RFC 3986 http(s) URLs, built by hand: fc.webUrl() takes over a second to construct (it maps every code point).
const urlPart = fc.stringMatching(/^([A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-F]{2}){0,10}$/);
const goodUrl = fc
  .tuple(
    fc.constantFrom("http", "https"),
    fc.oneof(
      { weight: 8, arbitrary: fc.domain() },
      { weight: 1, arbitrary: fc.constantFrom("127.0.0.1", "[::1]", "localhost", "cdn.example.com") },
    ),
    fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }),
    fc.array(urlPart, { maxLength: 3 }),
    fc.option(urlPart, { nil: undefined }),
    fc.option(urlPart, { nil: undefined }),
  )
  .map(
    ([scheme, host, port, path, query, fragment]) =>
      `${scheme}://${host}${port === undefined ? "" : `:${port}`}/${path.join("/")}` +
      `${query === undefined ? "" : `?${query}`}${fragment === undefined ? "" : `#${fragment}`}`,
  );
const url = fc.oneof(
  { weight: 8, arbitrary: goodUrl },
  { weight: 1, arbitrary: goodUrl.map((u) => u.replace(/^http/, "HTTP")) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "https://example.com/clip.mp4",
      "http://127.0.0.1:8080/v.mov",
      "https://[::1]/clip.mp4",
      "ftp://example.com/clip.mp4",
      "file:///etc/passwd",
      "javascript:alert(1)",
      "data:video/mp4;base64,AAAA",
      "//example.com/clip.mp4",
      "example.com/clip.mp4",
      "http:/example.com",
      "http://",
      "https://",
      "https:// example.com/clip.mp4",
      "https://example.com/a b.mp4",
      "https://例え.jp/clip.mp4",
      "http://example.com\\clip.mp4",
      "https://example.com:99999/clip.mp4",
      "https://example.com/%zz",
      " https://example.com/clip.mp4",
      "https://example.com/clip.mp4 ",
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom("http://", "https://", "HtTpS://", ""), fc.string({ unit: codePoint, maxLength: 20 }))
      .map(([a, b]) => a + b),
  },
);
const videoId = fc.oneof(fc.string({ minLength: 1, maxLength: 24 }), fc.stringMatching(/^[0-9]{18}$/));
const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }),
  fc.constant(""),
);
const maybeWrong = <T>(good: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 12, arbitrary: good }, { weight: 1, arbitrary: wrongType });
const video = fc.oneof(
  { weight: 6, arbitrary: fc.record({ video_url: maybeWrong(url) }) },
  { weight: 4, arbitrary: fc.record({ video_id: maybeWrong(videoId) }) },
  { weight: 1, arbitrary: fc.record({ video_url: url, video_id: videoId }) },
  { weight: 1, arbitrary: fc.record({ video_url: fc.constant(""), video_id: maybeWrong(videoId) }) },
  { weight: 1, arbitrary: fc.record({ video_id: fc.constant(""), video_url: maybeWrong(url) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      video_url: fc.constantFrom("", null, undefined),
      video_id: fc.constantFrom("", null, undefined),
    }),
  },
  { weight: 1, arbitrary: fc.record({ video_url: url, video_id: fc.constant(null) }) },
  { weight: 1, arbitrary: fc.constant({}) },
);
const optional = fc.record(
  {
    sound_effect_prompt: maybeWrong(prompt),
    bgm_prompt: maybeWrong(prompt),
    asmr_mode: maybeWrong(fc.boolean()),
    external_task_id: fc.oneof(
      { weight: 8, arbitrary: fc.string({ unit: codePoint, minLength: 1, maxLength: 40 }) },
      { weight: 1, arbitrary: wrongType },
    ),
    callback_url: maybeWrong(url),
  },
  { requiredKeys: [] },
);
const unknownKeys = fc.dictionary(
  fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom(
      "videoUrl",
      "video_ur",
      "VIDEO_URL",
      "prompt",
      "model_name",
      "__proto__",
      "constructor",
      "toString",
      "",
    ),
  ),
  fc.jsonValue({ maxDepth: 1 }),
  { minKeys: 1, maxKeys: 2 },
);
const createInput = fc.oneof(
  { weight: 12, arbitrary: fc.tuple(video, optional).map(([v, o]) => ({ ...v, ...o }) as unknown) },
  {
    weight: 2,
    arbitrary: fc.tuple(unknownKeys, video, optional).map(([e, v, o]) => ({ ...e, ...v, ...o }) as unknown),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.constant(null),
      fc.constant(undefined),
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
    ),
  },
);

/**
 * The body as JSON carries it (no `undefined` keys), after the documented normalisation: an empty
 * video_id/video_url/external_task_id/callback_url is dropped.
 */
function documentedView(input: unknown): unknown {
  if (!isRecord(input)) return input;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (
      (key === "video_id" || key === "video_url" || key === "external_task_id" || key === "callback_url") &&
      value === ""
    )
      continue;
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * The client's URL rule as written in validate.ts: a case-insensitive http(s) scheme and anything WHATWG URL parses.
 * `new URL`, not `URL.canParse`: on Node 20.20 an optimized canParse answers false for valid Latin-1 strings
 * ("http://é"), which this property caught after a few thousand calls.
 */
function clientUrlOk(value: unknown): boolean {
  if (typeof value !== "string" || !/^https?:\/\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#[\]]|%[0-9A-Fa-f]{2})+$/.test(value))
    return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/** Why the client's URL rule and the spec's disagree on `value`, and which way ("sent": only the client accepts it). */
function urlKind(value: string): string {
  const way = clientUrlOk(value) ? "sent" : "refused";
  const port = /^https?:\/\/[^/?#]*:(\d+)(?:[/?#]|$)/i.exec(value)?.[1];
  if (/^https?:\/\//i.test(value) && !/^https?:\/\//.test(value)) return `upper-case scheme ${way}`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the rule is about control characters
  if (/[\s\x00-\x1f\x7f]/.test(value)) return `whitespace or control character ${way}`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: non-ASCII is what \x00-\x7f leaves out
  if (/[^\x00-\x7f]/.test(value)) return `non-ASCII ${way}`;
  if (value.includes("\\")) return `backslash ${way}`;
  if (/^https?:\/\/(?:[/?#]|$)/i.test(value)) return `empty host ${way}`;
  if (port !== undefined && Number(port) > 65_535) return `port out of range ${way}`;
  if (/%(?![0-9a-f]{2})/i.test(value)) return `bad percent-encoding ${way}`;
  return `other ${JSON.stringify(value.slice(0, 60))} ${way}`;
}

/**
 * What the spec says once the client's known, reported departures are modelled: `null` optional fields are dropped
 * like empty ones, and URL fields are judged by the client's rule. Returns the names of the departures applied.
 */
function withKnownDepartures(view: unknown): { view: unknown; applied: string[] } {
  if (!isRecord(view)) return { view, applied: [] };
  const out = { ...view };
  const applied: string[] = [];
  for (const key of ["video_id", "video_url", "external_task_id", "callback_url"] as const) {
    if (out[key] === null) {
      delete out[key];
      applied.push("null field");
    }
  }
  for (const key of ["video_url", "callback_url"] as const) {
    const value = out[key];
    if (typeof value === "string" && clientUrlOk(value) !== validateHttpUrl(value)) {
      out[key] = clientUrlOk(value) ? "https://example.com/clip.mp4" : "not a url";
      applied.push(urlKind(value));
    }
  }
  return { view: out, applied };
}

interface SentRequest {
  method: string;
  path: string;
  body: string;
}
const createCalls: SentRequest[] = [];
const createClientUnderTest = createClient({
  apiKey: API_KEY,
  baseUrl: BASE_URL,
  maxRetries: 0,
  timeoutMs: 30_000,
  logLevel: "off",
  fetch: async (request) => {
    createCalls.push({ method: request.method, path: new URL(request.url).pathname, body: await request.text() });
    return new Response(JSON.stringify(CREATED), { status: 200, headers: { "content-type": "application/json" } });
  },
});

describe("fuzz: create inputs", () => {
  it(`${RUNS.create} inputs: the client accepts exactly what the spec accepts, sends it as given, and rejects the ` +
    `rest with KlingValidationError before sending`, {
    timeout: timeoutFor(RUNS.create),
  }, async () => {
    const stats = figures.create;
    await check(
      fc.asyncProperty(createInput, async (input) => {
        stats.cases++;
        createCalls.length = 0;
        const view = documentedView(input);
        const specAccepts = validateCreate(view);
        const outcome = await createClientUnderTest.createTask(input as CreateTaskInput).then(
          (task) => ({ ok: true as const, task }),
          (error: unknown) => ({ ok: false as const, error }),
        );
        let expected = view;
        if (outcome.ok !== specAccepts) {
          // A disagreement is allowed only when it is one of the reported departures, and modelling it explains it
          // fully.
          const known = withKnownDepartures(view);
          if (known.applied.length === 0 || validateCreate(known.view) !== outcome.ok) {
            throw new Error(
              `client ${outcome.ok ? "accepted" : `rejected (${(outcome.error as Error)?.message})`} an input that ` +
                `the spec ${specAccepts ? "accepts" : "rejects"}: ${show(input)}`,
            );
          }
          if (known.applied.includes("null field")) stats.nullVideoDropped++;
          const urls = known.applied.filter((name) => name !== "null field");
          if (urls.length > 0) stats.urlRuleDisagreements++;
          for (const kind of urls) stats.urlKinds[kind] = (stats.urlKinds[kind] ?? 0) + 1;
          expected = known.view;
        }

        if (outcome.ok) {
          stats.valid++;
          const context = () => show(input);
          same(outcome.task.task_id, CREATED.data.task_id, context);
          same(
            createCalls.map((c) => `${c.method} ${c.path}`),
            ["POST /v1/audio/video-to-audio"],
            context,
          );
          const sent = JSON.parse(createCalls[0]?.body ?? "null") as Record<string, unknown>;
          const given = JSON.parse(JSON.stringify(expected)) as Record<string, unknown>;
          // Only for URLs the client accepts and the spec does not (F3), `expected` holds a stand-in: compare with the
          // input.
          for (const key of ["video_url", "callback_url"])
            if (hasOwn(given, key) && isRecord(input)) given[key] = input[key];
          if (typeof given.external_task_id === "string") same(sent.external_task_id, given.external_task_id, context);
          else
            ensure(
              /^kv2a-[0-9a-f-]{36}$/.test(String(sent.external_task_id)),
              () => `no generated external_task_id: ${show(sent)}`,
            );
          const { external_task_id: _sentId, ...sentRest } = sent;
          const { external_task_id: _givenId, ...givenRest } = given;
          same(sentRest, givenRest, context);
          return;
        }

        stats.invalid++;
        ensure(createCalls.length === 0, () => `fetch was called for a rejected input ${show(input)}`);
        const error = outcome.error;
        if (!(error instanceof KlingValidationError))
          throw new Error(`expected KlingValidationError for ${show(input)}, got ${show(error)}`);
        ensure(typeof error.field === "string" && error.field.length > 0, () => `empty field for ${show(input)}`);
        ensure(
          error.message.includes(error.field),
          () => `the message does not name the field ${JSON.stringify(error.field)}: ${error.message}`,
        );
        expectNoSecret(errorTexts(error), [API_KEY], () => show(input));
      }),
      1,
      RUNS.create,
    );
  });
});

// ----------------------------------------------------------------------------------------------------------------
// Callback bodies and signature headers
// ----------------------------------------------------------------------------------------------------------------

const validateCallbackSpec = validatorAt("#/components/schemas/CallbackPayload");
const validateTaskSpec = validatorAt("#/components/schemas/CallbackTask");
const NOW_S = 1_764_024_390;
const now = () => NOW_S * 1000;
const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

const text = fc.string({ unit: codePoint, maxLength: 16 });
const int64 = fc.oneof(fc.integer({ min: 0, max: 2_000_000_000_000 }), fc.maxSafeInteger());
const taskPayload = fc.record(
  {
    task_id: fc.oneof(fc.stringMatching(/^[0-9]{18}$/), fc.string({ unit: codePoint, minLength: 1, maxLength: 12 })),
    task_status: fc.constantFrom("submitted", "processing", "succeed", "failed"),
    task_status_msg: text,
    task_info: fc.record(
      {
        external_task_id: text,
        parent_video: fc.record(
          { id: text, url: goodUrl, duration: fc.constantFrom("5.0", "7.042") },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    ),
    task_result: fc.record(
      {
        audios: fc.array(
          fc.record(
            {
              id: text,
              url_mp3: goodUrl,
              url_wav: goodUrl,
              duration_mp3: fc.constantFrom("5.042"),
              duration_wav: fc.constantFrom("5.042"),
            },
            { requiredKeys: [] },
          ),
          { maxLength: 2 },
        ),
        videos: fc.array(
          fc.record({ id: text, url: goodUrl, duration: fc.constantFrom("5.0") }, { requiredKeys: [] }),
          { maxLength: 1 },
        ),
      },
      { requiredKeys: [] },
    ),
    final_unit_deduction: fc.constantFrom("1", "0.5"),
    final_balance_deduction: fc.record(
      { quota: fc.constantFrom("0.2"), list_price: fc.constantFrom("0.3") },
      { requiredKeys: [] },
    ),
    created_at: int64,
    updated_at: int64,
  },
  { requiredKeys: ["task_id", "task_status"] },
);
const eventPayload = fc.record(
  {
    id: fc.string({ unit: codePoint, minLength: 1, maxLength: 20 }),
    status: fc.oneof(fc.constantFrom("succeeded", "failed", "processing", "submitted", ""), text),
    message: text,
    create_time: int64,
    update_time: int64,
    external_id: text,
    outputs: fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 2 }),
    billing: fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 2 }),
  },
  { requiredKeys: ["id", "status"] },
);
const extraFields = fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
const wrongValue = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constant(null),
  fc.constant(""),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
  fc.constant("bogus"),
  fc.constant("1.5"),
);
const mutatedPayload = fc
  .oneof(
    fc.tuple(
      taskPayload,
      fc.constantFrom(
        "task_id",
        "task_status",
        "created_at",
        "updated_at",
        "task_info",
        "task_result",
        "task_status_msg",
      ),
      wrongValue,
    ),
    fc.tuple(
      eventPayload,
      fc.constantFrom("id", "status", "create_time", "update_time", "outputs", "external_id"),
      wrongValue,
    ),
  )
  .map(([payload, key, value]) => ({ ...payload, [key]: value }) as unknown);
const callbackJson = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(taskPayload, extraFields).map(([p, e]) => ({ ...e, ...p }) as unknown) },
  { weight: 2, arbitrary: fc.tuple(eventPayload, extraFields).map(([p, e]) => ({ ...e, ...p }) as unknown) },
  { weight: 1, arbitrary: fc.tuple(taskPayload, eventPayload).map(([t, e]) => ({ ...e, ...t }) as unknown) },
  { weight: 3, arbitrary: mutatedPayload },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);
/** A callback body as text: JSON (compact or pretty), truncated JSON, or any text at all. */
const callbackText = fc.oneof(
  { weight: 8, arbitrary: callbackJson.map((value) => JSON.stringify(value) ?? "null") },
  { weight: 1, arbitrary: callbackJson.map((value) => JSON.stringify(value, null, 2) ?? "null") },
  {
    weight: 1,
    arbitrary: fc.tuple(callbackJson, fc.nat()).map(([value, cut]) => {
      const json = JSON.stringify(value) ?? "null";
      return json.slice(0, cut % Math.max(1, json.length));
    }),
  },
  { weight: 1, arbitrary: fc.string({ unit: codePoint, maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom("", " ", "\ufeff{}", "null", "[]", "{}", "<html>oops</html>") },
);
/** The raw body as a receiver holds it: the text, its UTF-8 bytes, or bytes that may not be UTF-8 at all. */
const rawBody = fc.oneof(
  { weight: 5, arbitrary: callbackText },
  { weight: 4, arbitrary: callbackText.map((t) => encoder.encode(t)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
);

type Outcome = { ok: true; task: Task } | { ok: false; error: unknown };
async function settle(run: () => Task | Promise<Task>): Promise<Outcome> {
  try {
    return { ok: true, task: await run() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** The spec's verdict on a raw body: the parsed data, or the reason parseCallback must give. */
function specVerdict(body: unknown): { data: unknown } | { reason: KlingCallbackErrorReason } {
  let textBody: string;
  if (typeof body === "string") textBody = body;
  else if (body instanceof Uint8Array) {
    try {
      textBody = strictDecoder.decode(body);
    } catch {
      return { reason: "invalid_json" };
    }
  } else return { reason: "parsed_body" };
  let data: unknown;
  try {
    data = JSON.parse(textBody);
  } catch {
    return { reason: "invalid_json" };
  }
  return validateCallbackSpec(data) ? { data } : { reason: "invalid_payload" };
}

const reasonOf = (outcome: Outcome) =>
  outcome.ok ? "accepted" : outcome.error instanceof KlingCallbackError ? outcome.error.reason : show(outcome.error);

/**
 * A callback outcome is a task with string id and status, or a KlingCallbackError with a documented reason, nothing
 * else.
 */
function expectCallbackShape(outcome: Outcome, context: () => string): void {
  const stats = figures.callbacks;
  if (outcome.ok) {
    stats.accepted++;
    ensure(
      typeof outcome.task.task_id === "string" && typeof outcome.task.task_status === "string",
      () => `not a task: ${show(outcome.task)} (${context()})`,
    );
    return;
  }
  const { error } = outcome;
  if (!(error instanceof KlingCallbackError))
    throw new Error(`expected KlingCallbackError, got ${show(error)} (${context()})`);
  ensure(REASONS.includes(error.reason), () => `undocumented reason ${error.reason} (${context()})`);
  ensure(error.message.length > 0, () => `empty message (${context()})`);
  stats.rejected[error.reason] = (stats.rejected[error.reason] ?? 0) + 1;
  expectNoSecret(errorTexts(error), [WEBHOOK_SECRET, WEBHOOK_SECRET_B64], context);
}

/** The task parseCallback must return for spec-valid data: the task itself, or the console event mapped onto it. */
function expectTaskFor(data: unknown, task: Task, context: () => string): void {
  if (validateTaskSpec(data)) {
    same(task, data, context);
    return;
  }
  const event = data as { id: string; status: string };
  same([task.task_id, task.task_status], [event.id, event.status === "succeeded" ? "succeed" : event.status], context);
}

// Header names in any case, values from the bytes a header may carry (visible ASCII, space, Latin-1).
const headerChar = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  { weight: 2, arbitrary: fc.constant(" ") },
  { weight: 1, arbitrary: fc.integer({ min: 0xa0, max: 0xff }).map((c) => String.fromCharCode(c)) },
);
const headerValue = (maxLength = 40) => fc.string({ unit: headerChar, maxLength });
const caseOf = fc.constantFrom(
  (s: string) => s,
  (s: string) => s.toUpperCase(),
  (s: string) => s.replace(/(^|-)w|(-)(.)/g, (m) => m.toUpperCase()),
);
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

type Damage =
  | { kind: "none" }
  | { kind: "drop"; header: "webhook-id" | "webhook-timestamp" | "webhook-signature" }
  | { kind: "blank"; header: "webhook-id" | "webhook-timestamp" | "webhook-signature"; value: string }
  | { kind: "id"; value: string }
  | { kind: "timestamp"; value: string }
  | { kind: "skew"; seconds: number }
  | { kind: "signatures"; garbage: string[]; keepValid: boolean; joiner: string }
  | { kind: "version"; prefix: string }
  | { kind: "secret"; secret: string; valid: boolean };
const headerName = fc.constantFrom("webhook-id" as const, "webhook-timestamp" as const, "webhook-signature" as const);
const garbageSignature = fc.oneof(
  fc.constant("v1,"),
  headerValue(12).map((v) => `v1,${v}`),
  fc.uint8Array({ minLength: 0, maxLength: 40 }).map((bytes) => `v1,${b64(bytes)}`),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => `v1,${b64(bytes)}`),
  headerValue(20),
  fc.constantFrom("v1", "v2,abc", ",,,", "v1a,AAAA", "v1,====", "v1,!!!!"),
);
const damage: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: "none" as const }) },
  { weight: 2, arbitrary: headerName.map((header) => ({ kind: "drop" as const, header })) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("blank" as const),
      header: headerName,
      value: fc.constantFrom("", " ", "  "),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("id" as const), value: headerValue(20) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("timestamp" as const),
      value: fc.oneof(
        headerValue(12),
        fc.stringMatching(/^[0-9]{16,40}$/),
        fc.stringMatching(/^[0-9]{11,15}$/),
        fc.constantFrom(
          "-5",
          "1.5",
          "1e9",
          "0x10",
          "NaN",
          "Infinity",
          `0${NOW_S}`,
          `${NOW_S}.0`,
          `${NOW_S * 1000}`,
          "0",
          "999999999999999",
        ),
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("skew" as const),
      seconds: fc.oneof(fc.integer({ min: -300, max: 300 }), fc.integer({ min: -1e6, max: 1e6 })),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("signatures" as const),
      garbage: fc.oneof(
        { weight: 5, arbitrary: fc.array(garbageSignature, { minLength: 1, maxLength: 4 }) },
        { weight: 1, arbitrary: fc.array(garbageSignature, { minLength: 50, maxLength: 80 }) },
      ),
      keepValid: fc.boolean(),
      joiner: fc.constantFrom(" ", ", ", "  "),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("version" as const),
      prefix: fc.constantFrom("v2,", "V1,", "", "v1 ", "v1;", "v1,,"),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.record({
        kind: fc.constant("secret" as const),
        secret: fc.constantFrom("", "whsec_", "whsec_!!!not base64!!!", "not-base64?", "whsec_a"),
        valid: fc.constant(false),
      }),
      fc.record({
        kind: fc.constant("secret" as const),
        secret: fc.uint8Array({ minLength: 1, maxLength: 40 }).map((bytes) => `whsec_${b64(bytes)}`),
        valid: fc.constant(true),
      }),
    ),
  },
);
type HeaderForm = "record" | "headers" | "node" | "pairs" | "request";
const headerForm = fc.constantFrom<HeaderForm>("record", "record", "headers", "node", "pairs", "request");

/** The callback request in one of the shapes verifyCallback takes, with header names cased by `rename`. */
function callbackRequest(
  form: HeaderForm,
  headers: Record<string, string | string[]>,
  body: string | Uint8Array,
  rename: (s: string) => string,
) {
  const entries = Object.entries(headers).map(([name, value]) => [rename(name), value] as const);
  if (form === "node") return { headers: Object.fromEntries(entries), body };
  const flat: [string, string][] = entries.flatMap(([name, value]) =>
    Array.isArray(value) ? value.map((v) => [name, v] as [string, string]) : [[name, value] as [string, string]],
  );
  if (form === "pairs") return { headers: flat, body };
  const init = new Headers();
  for (const [name, value] of flat) init.append(name, value);
  if (form === "headers") return { headers: init, body };
  if (form === "request")
    return new Request("https://receiver.fuzz.test/kling", { method: "POST", headers: init, body: body as BodyInit });
  return { headers: Object.fromEntries(init.entries()), body };
}

/** The bytes a body is signed and verified as (a string is UTF-8 encoded, lone surrogates becoming U+FFFD). */
const bytesOf = (body: string | Uint8Array) => (typeof body === "string" ? encoder.encode(body) : body);
const trimmed = (value: string) => value.replace(/^[ \t]+|[ \t]+$/g, "");

describe("fuzz: callback bodies and signature headers", () => {
  it(`${RUNS.parse} bodies: parseCallback returns what the spec accepts and throws KlingCallbackError with the right ` +
    `reason otherwise`, {
    timeout: timeoutFor(RUNS.parse),
  }, async () => {
    const notRaw = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }).filter((v) => typeof v !== "string"),
      fc.constant(undefined),
      fc.constant({ byteLength: 2 }),
    );
    await check(
      fc.asyncProperty(
        fc.oneof({ weight: 12, arbitrary: rawBody as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: notRaw }),
        async (body) => {
          figures.callbacks.cases++;
          figures.callbacks.parse++;
          const context = () => show(body);
          const outcome = await settle(() => parseCallback(body as string));
          expectCallbackShape(outcome, context);
          const verdict = specVerdict(body);
          if ("reason" in verdict) {
            same(reasonOf(outcome), verdict.reason, context);
          } else {
            if (!outcome.ok)
              throw new Error(`parseCallback rejected a body the spec accepts: ${show(outcome.error)} (${context()})`);
            expectTaskFor(verdict.data, outcome.task, context);
          }
        },
      ),
      11,
      RUNS.parse,
    );
  });

  it(`${RUNS.headers} header sets: verifyCallback gives the reason its documented order of checks says, or the task`, {
    timeout: timeoutFor(RUNS.headers),
  }, async () => {
    await check(
      fc.asyncProperty(
        rawBody,
        damage,
        headerForm,
        caseOf,
        fc.stringMatching(/^msg_[A-Za-z0-9]{1,24}$/),
        async (body, hurt, form, rename, id) => {
          figures.callbacks.cases++;
          figures.callbacks.headers++;
          const signedAt = hurt.kind === "skew" ? NOW_S + hurt.seconds : NOW_S;
          const signed = await signCallback(body, { secret: WEBHOOK_SECRET, id, timestamp: signedAt });
          const validHeader = signed["webhook-signature"] ?? "";
          const headers: Record<string, string | string[]> = { ...signed, "content-type": "application/json" };
          let secret = WEBHOOK_SECRET;
          let validSignature = true;
          if (hurt.kind === "drop") delete headers[hurt.header];
          if (hurt.kind === "blank") headers[hurt.header] = hurt.value;
          if (hurt.kind === "id") {
            headers["webhook-id"] = hurt.value;
            validSignature = trimmed(hurt.value) === id;
          }
          if (hurt.kind === "timestamp") {
            headers["webhook-timestamp"] = hurt.value;
            validSignature = trimmed(hurt.value) === String(NOW_S);
          }
          if (hurt.kind === "signatures") {
            const all = hurt.keepValid
              ? [...hurt.garbage.slice(0, 1), validHeader, ...hurt.garbage.slice(1)]
              : hurt.garbage;
            // Node's IncomingMessage gives a repeated header as an array; other forms get one joined value.
            headers["webhook-signature"] = form === "node" ? all : all.join(hurt.joiner);
            validSignature = hurt.keepValid;
          }
          if (hurt.kind === "version") {
            // None of these is a v1 entry with valid base64 ("v1,,<b64>" has ",<b64>" after the first comma).
            headers["webhook-signature"] = validHeader.replace(/^v1,/, hurt.prefix);
            validSignature = false;
          }
          if (hurt.kind === "secret") {
            secret = hurt.secret;
            validSignature =
              hurt.valid && Buffer.from(hurt.secret.slice(6), "base64").equals(Buffer.from(WEBHOOK_SECRET_BYTES));
          }

          // The documented order: secret, headers present, timestamp format, tolerance, signature, then the body.
          const get = (name: string) => {
            const value = headers[name];
            return value === undefined ? "" : trimmed(Array.isArray(value) ? value.join(", ") : value);
          };
          // Absent is missing; present but empty is a malformed timestamp, or an id or signature that cannot match.
          const present = (name: string) => headers[name] !== undefined;
          let expected: KlingCallbackErrorReason | "body";
          if (hurt.kind === "secret" && !hurt.valid) expected = "invalid_secret";
          else if (!present("webhook-id") || !present("webhook-timestamp") || !present("webhook-signature"))
            expected = "missing_headers";
          else if (!/^[0-9]{1,15}$/.test(get("webhook-timestamp"))) expected = "invalid_timestamp";
          else if (Math.abs(NOW_S - Number(get("webhook-timestamp"))) > 300) expected = "timestamp_out_of_tolerance";
          else if (!validSignature || !get("webhook-id") || !get("webhook-signature")) expected = "invalid_signature";
          else expected = "body";

          const request = callbackRequest(form, headers, body, rename);
          const context = () => `${show(hurt)} form=${form} body=${show(body)} headers=${show(headers)}`;
          const outcome = await settle(() => verifyCallback(request, { secret, now }));
          expectCallbackShape(outcome, context);
          if (expected !== "body") {
            same(reasonOf(outcome), expected, context);
            return;
          }
          const parsed = await settle(() => parseCallback(bytesOf(body)));
          same(outcome.ok ? outcome.task : reasonOf(outcome), parsed.ok ? parsed.task : reasonOf(parsed), context);
        },
      ),
      12,
      RUNS.headers,
    );
  });

  it(`${RUNS.signed} bodies signed with signCallback always pass the signature check (any secret, id, timestamp ` +
    `within tolerance)`, {
    timeout: timeoutFor(RUNS.signed),
  }, async () => {
    await check(
      fc.asyncProperty(
        rawBody,
        fc.uint8Array({ minLength: 16, maxLength: 64 }),
        fc.boolean(),
        fc.stringMatching(/^[A-Za-z0-9_.-]{1,40}$/),
        fc.integer({ min: 0, max: 3600 }),
        fc.double({ min: -1, max: 1, noNaN: true }),
        headerForm,
        async (body, secretBytes, prefixed, id, tolerance, where, form) => {
          figures.callbacks.cases++;
          figures.callbacks.signed++;
          const secret = `${prefixed ? "whsec_" : ""}${b64(secretBytes)}`;
          const timestamp = NOW_S + Math.trunc(where * tolerance);
          const headers = await signCallback(body, { secret, id, timestamp });
          const context = () =>
            `secret=${secret} id=${id} timestamp=${timestamp} tolerance=${tolerance} form=${form} body=${show(body)}`;
          const outcome = await settle(() =>
            verifyCallback(
              callbackRequest(form, headers, body, (s) => s),
              { secret, now, toleranceSec: tolerance },
            ),
          );
          if (!outcome.ok) expectNoSecret(errorTexts(outcome.error), [secret, b64(secretBytes)], context);
          expectCallbackShape(outcome, context);
          // Past a valid signature, verifyCallback answers exactly as parseCallback does on the signed bytes.
          const parsed = await settle(() => parseCallback(bytesOf(body)));
          same(outcome.ok ? outcome.task : reasonOf(outcome), parsed.ok ? parsed.task : reasonOf(parsed), context);
        },
      ),
      13,
      RUNS.signed,
    );
  });

  it(`${RUNS.mutated} single-byte mutations of a signed body all fail with invalid_signature`, {
    timeout: timeoutFor(RUNS.mutated),
  }, async () => {
    // The signature is checked before the body is parsed, so a changed byte is always `invalid_signature`, never
    // `invalid_json`/`invalid_payload`, whatever the mutation does to the JSON.
    await check(
      fc.asyncProperty(
        callbackText.filter((t) => t.length > 0),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.constantFrom<HeaderForm>("record", "node", "request"),
        async (textBody, at, flip, form) => {
          figures.callbacks.cases++;
          figures.callbacks.mutated++;
          const bytes = encoder.encode(textBody);
          const headers = await signCallback(bytes, { secret: WEBHOOK_SECRET, id: "msg_fuzz", timestamp: NOW_S });
          const mutated = bytes.slice();
          const index = at % mutated.length;
          mutated[index] = (mutated[index] ?? 0) ^ flip;
          const context = () => `byte ${index} ^ ${flip} of ${show(textBody)} (form=${form})`;
          const outcome = await settle(() =>
            verifyCallback(
              callbackRequest(form, headers, mutated, (s) => s),
              { secret: WEBHOOK_SECRET, now },
            ),
          );
          expectCallbackShape(outcome, context);
          same(reasonOf(outcome), "invalid_signature", context);
        },
      ),
      14,
      RUNS.mutated,
    );
  });
});

// ----------------------------------------------------------------------------------------------------------------
// Server responses
// ----------------------------------------------------------------------------------------------------------------

/** Placeholders the fake server fills in with what it received: the Authorization header, or the key/token in it. */
const ECHO = { auth: "@@AUTH@@", token: "@@TOKEN@@", access: "@@ACCESS@@" };
const echo = fc.constantFrom(
  ECHO.auth,
  ECHO.token,
  `invalid key ${ECHO.token}`,
  `access key ${ECHO.access} is unknown`,
  `got header "${ECHO.auth}"`,
);
const maybeEcho = (arb: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 10, arbitrary: arb }, { weight: 1, arbitrary: echo });

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string | null;
  huge?: boolean;
}

const MB = 1 << 20;
const hugeTasks = Array.from({ length: 12_000 }, (_, i) => ({
  task_id: String(880000000000000000 + i),
  task_status: "succeed",
  task_status_msg: "",
}));
const HUGE_BODIES: readonly string[] = [
  "x".repeat(2 * MB),
  `<!DOCTYPE html><html><head><title>502 Bad ` +
    `Gateway</title></head><body>${"<p>upstream error</p>\n".repeat(60_000)}</body></html>`,
  `<html><body>${"<div>no title here</div>".repeat(50_000)}</body></html>`,
  JSON.stringify({
    code: 0,
    message: "SUCCEED",
    data: { task_id: "1", task_status: "succeed", task_status_msg: "y".repeat(MB) },
  }),
  JSON.stringify({ code: 0, message: "SUCCEED", data: hugeTasks }),
  JSON.stringify({ code: 0, message: "SUCCEED", data: hugeTasks }).slice(0, -7),
  JSON.stringify({ code: 5000, message: "z".repeat(MB), request_id: "req-huge" }),
  JSON.stringify({ code: 1201, message: "bad", request_id: "r".repeat(MB) }),
  JSON.stringify("s".repeat(MB)),
  JSON.stringify(Array.from({ length: 100_000 }, (_, i) => i)),
];

const anyStatus = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      200,
      200,
      200,
      201,
      202,
      204,
      205,
      206,
      301,
      302,
      304,
      400,
      401,
      403,
      404,
      409,
      413,
      422,
      429,
      500,
      502,
      503,
      504,
    ),
  },
  { weight: 2, arbitrary: fc.integer({ min: 200, max: 599 }) },
);
const code = fc.oneof(
  { weight: 6, arbitrary: fc.constant(0) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      1000,
      1001,
      1002,
      1003,
      1004,
      1100,
      1101,
      1102,
      1103,
      1200,
      1201,
      1202,
      1203,
      1300,
      1301,
      1302,
      1303,
      1304,
      5000,
      5001,
      5002,
    ),
  },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.constantFrom("0", "1303", "5000", "abc", "", " 0", "0x0"),
      fc.double(),
      fc.integer(),
      fc.constant(null),
      fc.constant(1e21),
      fc.constant(-0),
      fc.constant(true),
    ),
  },
);
const taskish = fc.oneof(
  { weight: 5, arbitrary: taskPayload as fc.Arbitrary<unknown> },
  { weight: 1, arbitrary: fc.record({ task_status: fc.constantFrom("succeed", "failed") }) },
  {
    weight: 1,
    arbitrary: fc.record({
      task_id: fc.oneof(fc.integer(), fc.constant(null), fc.constant(["1"])),
      task_status: fc.constantFrom("succeed"),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      task_id: fc.constant("1"),
      task_status: fc.oneof(fc.integer(), fc.constant(null), fc.constant("weird")),
    }),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const data = fc.oneof(
  { weight: 4, arbitrary: taskish },
  { weight: 3, arbitrary: fc.array(taskish, { maxLength: 4 }) as fc.Arbitrary<unknown> },
  {
    weight: 1,
    arbitrary: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.boolean()) as fc.Arbitrary<unknown>,
  },
);
const envelope = fc.record(
  {
    code,
    message: fc.oneof(
      maybeEcho(fc.string({ maxLength: 60 })),
      fc.integer() as fc.Arbitrary<unknown>,
      fc.constant(null),
    ),
    request_id: fc.oneof(maybeEcho(fc.stringMatching(/^[0-9a-f-]{8,36}$/)), fc.integer() as fc.Arbitrary<unknown>),
    data,
    error: fc.oneof(
      maybeEcho(fc.string({ maxLength: 30 })),
      fc.record({
        message: maybeEcho(fc.string({ maxLength: 30 })),
        type: fc.constant("invalid_request_error"),
      }) as fc.Arbitrary<unknown>,
    ),
    msg: maybeEcho(fc.string({ maxLength: 30 })),
  },
  { requiredKeys: [] },
);
const html = fc
  .tuple(maybeEcho(fc.string({ maxLength: 40 })), fc.string({ maxLength: 60 }), fc.boolean())
  .map(
    ([title, content, withTitle]) =>
      `<!DOCTYPE html><html><head>${withTitle ? `<title>${title}</title>` : ""}<style>p{color:red}</style></head>` +
      `<body><h1>${title}</h1><p>${content}</p><script>var k="${title}"</script></body></html>`,
  );
const replyBody = fc.oneof(
  { weight: 10, arbitrary: envelope.map((value) => JSON.stringify(value)) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)) },
  {
    weight: 2,
    arbitrary: fc.tuple(envelope, fc.nat()).map(([value, cut]) => {
      const json = JSON.stringify(value);
      return json.slice(0, cut % json.length);
    }),
  },
  { weight: 2, arbitrary: html },
  {
    weight: 1,
    arbitrary: fc.constantFrom("", " ", "\n", "null", "0", "true", '""', "[]", "{}", "undefined", "NaN", "\ufeff{}"),
  },
  { weight: 1, arbitrary: maybeEcho(fc.string({ unit: codePoint, maxLength: 60 })) },
);
const replyHeaders = fc.record(
  {
    "content-type": fc.constantFrom(
      "application/json",
      "application/json; charset=utf-8",
      "text/html",
      "text/plain",
      "application/problem+json",
      "garbage/ /;;",
      "",
    ),
    "retry-after": fc.constantFrom(
      "0",
      "1",
      "-1",
      "abc",
      "1e3",
      "1.5",
      "NaN",
      "  ",
      "9999999999",
      "Wed, 21 Oct 2015 07:28:00 GMT",
      "Fri, 31 Dec 9999 23:59:59 GMT",
    ),
    "retry-after-ms": fc.constantFrom("0", "250", "-5", "x", "1e10", "99999999999999999999"),
    "x-request-id": maybeEcho(headerValue(40)),
    "content-length": fc.constant("0"),
    "set-cookie": fc.constant("session=abc; HttpOnly"),
  },
  { requiredKeys: [] },
);
/** A well-formed success, so the documented shapes are checked on plenty of resolved calls too. */
const success = fc
  .tuple(
    fc.oneof(taskPayload, fc.array(taskPayload, { maxLength: 3 }) as fc.Arbitrary<unknown>),
    fc.constantFrom(200, 201),
    fc.constantFrom(0, "0"),
  )
  .map(
    ([payload, status, okCode]): Reply => ({
      status,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code: okCode, message: "SUCCEED", request_id: "req-fuzz", data: payload }),
    }),
  );
const reply: fc.Arbitrary<Reply> = fc.oneof(
  { weight: 100, arbitrary: success },
  {
    weight: 300,
    arbitrary: fc
      .record({ status: anyStatus, headers: replyHeaders, body: replyBody })
      .map((r) => (r.status === 204 || r.status === 205 || r.status === 304 ? { ...r, body: null } : r)),
  },
  // A few huge bodies (1-2 MB), enough to show they are handled, not enough to slow the run.
  {
    weight: 1,
    arbitrary: fc.record({
      status: fc.constantFrom(200, 400, 429, 500, 502),
      headers: replyHeaders,
      body: fc.constantFrom(...HUGE_BODIES),
      huge: fc.constant(true),
    }),
  },
);

type Operation = "getTask" | "listTasks" | "createTask";
const responseScenario = fc.record({
  op: fc.constantFrom<Operation>("getTask", "listTasks", "createTask"),
  auth: fc.constantFrom("bearer" as const, "jwt" as const),
  // A create that fails ambiguously looks the task up, and a JWT refused with 1003/1004 is re-signed: later calls take
  // later replies.
  replies: fc.array(reply, { minLength: 1, maxLength: 3 }),
  // Reads may also be retried: every answer then carries `retry-after-ms: 0`, so retries cost no time. (Creates keep
  // maxRetries 0: their re-send waits a backoff the server cannot shorten.)
  retries: fc.constantFrom(0, 0, 0, 2),
});

/** The fake server's state for the current case. */
const server = {
  replies: [] as Reply[],
  served: 0,
  last: undefined as Reply | undefined,
  tokens: new Set<string>(),
  access: "",
  echoed: false,
  noDelay: false,
};
const logged: string[] = [];
const recordingLogger: Logger = (() => {
  const write = (...args: unknown[]) => {
    logged.push(args.map((a) => (typeof a === "string" ? a : inspect(a, { depth: 10 }))).join(" "));
  };
  return { debug: write, info: write, warn: write, error: write };
})();

async function fakeServer(request: Request): Promise<Response> {
  const authorization = request.headers.get("authorization") ?? "";
  const token = authorization.replace(/^Bearer\s+/i, "");
  if (token) server.tokens.add(token);
  const next = server.replies[server.served++ % server.replies.length] as Reply;
  server.last = next;
  const fill = (s: string) => {
    if (!s.includes("@@")) return s;
    server.echoed = true;
    return s
      .replaceAll(ECHO.auth, authorization)
      .replaceAll(ECHO.token, token)
      .replaceAll(ECHO.access, server.access || token);
  };
  const headers = new Headers();
  for (const [name, value] of Object.entries(next.headers)) if (value !== "") headers.set(name, fill(value));
  if (server.noDelay) headers.set("retry-after-ms", "0");
  return new Response(next.body === null ? null : fill(next.body), { status: next.status, headers });
}

const clientOptions = {
  baseUrl: BASE_URL,
  fetch: fakeServer,
  maxRetries: 0,
  timeoutMs: 20_000,
  logger: recordingLogger,
  logLevel: "debug" as const,
};
const clients = {
  bearer: createClient({ ...clientOptions, apiKey: API_KEY }),
  jwt: createClient({ ...clientOptions, accessKey: ACCESS_KEY, secretKey: SECRET_KEY }),
};

describe("fuzz: server responses", () => {
  it(`${RUNS.responses} answers (any status, headers and body): a task or a task array of the documented shape, or a ` +
    `KlingError that is readable and leaks nothing`, {
    timeout: timeoutFor(RUNS.responses),
  }, async () => {
    const stats = figures.responses;
    // Errors keep a one-frame stack here: util.inspect still shows the stack (with the message in it) and the cause
    // chain, but source-mapping 10 frames per error would be most of the run's time.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 1;
    onTestFinished(() => {
      Error.stackTraceLimit = stackTraceLimit;
    });
    await check(
      fc.asyncProperty(responseScenario, async ({ op, auth, replies, retries }) => {
        stats.cases++;
        const maxRetries = op === "createTask" ? 0 : retries;
        Object.assign(server, {
          replies,
          served: 0,
          last: undefined,
          tokens: new Set<string>(),
          access: auth === "jwt" ? ACCESS_KEY : "",
          echoed: false,
          noDelay: maxRetries > 0,
        });
        logged.length = 0;
        if (replies.some((r) => r.huge)) stats.huge++;
        const client = clients[auth];
        const call =
          op === "getTask"
            ? client.getTask("880000000000000001", { maxRetries })
            : op === "listTasks"
              ? client.listTasks({ pageNum: 1, pageSize: 30 }, { maxRetries })
              : client.createTask({ video_url: "https://example.com/clip.mp4", bgm_prompt: "calm piano" });
        const outcome = await Promise.resolve(call as Promise<unknown>).then(
          (value) => ({ ok: true as const, value }),
          (error: unknown) => ({ ok: false as const, error }),
        );
        if (server.echoed) stats.echoedSecrets++;
        if (server.served > 1) stats.multiAnswer++;
        const secrets = auth === "bearer" ? [API_KEY] : [ACCESS_KEY, SECRET_KEY, ...server.tokens];
        const context = () =>
          `${op} ${auth} maxRetries=${maxRetries} served ${server.served}: ` +
          show(
            replies.map((r) => ({
              ...r,
              body: r.body && r.body.length > 400 ? `${r.body.slice(0, 400)}…(${r.body.length})` : r.body,
            })),
          );

        if (outcome.ok) {
          stats.resolved++;
          const status = server.last?.status ?? 0;
          ensure(status >= 200 && status < 300, () => `resolved on HTTP ${status}: ${context()}`);
          if (op === "listTasks") ensure(Array.isArray(outcome.value), () => `not an array: ${context()}`);
          else {
            const task = outcome.value as Task;
            ensure(
              typeof task?.task_id === "string" && typeof task?.task_status === "string",
              () => `not a task: ${show(task)} (${context()})`,
            );
          }
          expectNoSecret([logged.join("\n")], secrets, context);
          return;
        }

        const { error } = outcome;
        if (!(error instanceof KlingError)) throw new Error(`expected a KlingError, got ${show(error)} (${context()})`);
        stats.rejected[error.name] = (stats.rejected[error.name] ?? 0) + 1;
        ensure(error.message.trim().length > 0, () => `empty message: ${context()}`);
        const texts = errorTexts(error, true);
        ensure(
          error.message.length <= 2_000,
          () => `overlong message (${error.message.length} characters): ${context()}`,
        );
        expectNoSecret(texts, secrets, context);
        expectNoSecret([logged.join("\n")], secrets, context);
      }),
      21,
      RUNS.responses,
    );
  });
});

// ----------------------------------------------------------------------------------------------------------------
// Findings: minimal reproductions of the five bugs the properties above found in src/ (all fixed), kept as
// regression tests.
// ----------------------------------------------------------------------------------------------------------------

describe("fuzz findings, fixed (regression tests)", () => {
  const kling = () => {
    const calls: Request[] = [];
    const client = createClient({
      apiKey: API_KEY,
      baseUrl: BASE_URL,
      maxRetries: 0,
      logLevel: "off",
      fetch: async (request) => {
        calls.push(request);
        return new Response(JSON.stringify(CREATED), { status: 200 });
      },
    });
    return { client, calls };
  };

  it(
    "F1 (fixed): a BigInt field value is refused with KlingValidationError, not a TypeError from " + "JSON.stringify",
    async () => {
      const { client } = kling();
      await expect(
        client.createTask({ video_url: "https://example.com/clip.mp4", asmr_mode: 1n } as never),
      ).rejects.toBeInstanceOf(KlingValidationError);
    },
  );

  it('F2 (fixed): an unknown key "" is refused with a non-empty `field`', async () => {
    const { client } = kling();
    const error = await client
      .createTask({ video_url: "https://example.com/clip.mp4", "": 1 } as never)
      .catch((e: unknown) => e);
    expect((error as KlingValidationError).field).not.toBe("");
  });

  it("F3 (fixed): the client refuses the URLs the spec rejects (upper-case scheme, a space, non-ASCII)", async () => {
    for (const video_url of [
      "HTTP://example.com/clip.mp4",
      "https://example.com/a b.mp4",
      "https://例え.jp/clip.mp4",
    ]) {
      expect(validateHttpUrl(video_url)).toBe(false);
      const { client, calls } = kling();
      await expect(client.createTask({ video_url })).rejects.toBeInstanceOf(KlingValidationError);
      expect(calls).toHaveLength(0);
    }
  });

  it("F4 (fixed): an error quotes a 1 MB server message only in part", async () => {
    const client = createClient({
      apiKey: API_KEY,
      baseUrl: BASE_URL,
      maxRetries: 0,
      logLevel: "off",
      fetch: async () => new Response(JSON.stringify({ code: 1201, message: "m".repeat(MB) }), { status: 400 }),
    });
    const error = (await client.getTask("1").catch((e: unknown) => e)) as Error;
    expect(error.message.length).toBeLessThanOrEqual(2_000);
  });

  it("F5 (fixed): a key echoed into request_id is redacted from the error", async () => {
    const client = createClient({
      apiKey: API_KEY,
      baseUrl: BASE_URL,
      maxRetries: 0,
      logLevel: "off",
      fetch: async (request) =>
        new Response(
          JSON.stringify({ code: 1002, message: "bad key", request_id: request.headers.get("authorization") }),
          { status: 401 },
        ),
    });
    const error = (await client.getTask("1").catch((e: unknown) => e)) as Error;
    expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(API_KEY);
  });
});
