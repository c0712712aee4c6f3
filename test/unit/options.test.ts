// Options and ids are checked before anything is sent: each bad value throws KlingValidationError naming it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, KlingValidationError } from "../../src/index.js";
import { type FakeKling, startFakeKling } from "../support/fake-kling.js";
import { fieldOf, rejectedField } from "../support/validation.js";

let fake: FakeKling;
beforeAll(async () => {
  fake = await startFakeKling({ taskDurationMs: 30 });
});
afterAll(() => fake.close());

const quiet = { logLevel: "off" as const, apiKey: "k-options-test" };

describe("createClient options", () => {
  it.each(["127.0.0.1:4010", "ftp://example.com", "", "   ", "/relative", "http://", "https://exa mple.com"])(
    "baseUrl %j throws KlingValidationError naming baseUrl",
    (baseUrl) => {
      expect(fieldOf(() => createClient({ ...quiet, baseUrl }))).toBe("baseUrl");
    },
  );

  it.each([Number.NaN, 0, -1, Number.POSITIVE_INFINITY, "30" as unknown as number])(
    "timeoutMs %j throws",
    (timeoutMs) => {
      expect(fieldOf(() => createClient({ ...quiet, baseUrl: fake.url, timeoutMs }))).toBe("timeoutMs");
    },
  );

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("maxRetries %j throws", (maxRetries) => {
    expect(fieldOf(() => createClient({ ...quiet, baseUrl: fake.url, maxRetries }))).toBe("maxRetries");
  });

  it.each(["verbose", "", 3, null])(
    "logLevel %j given in code throws KlingValidationError naming logLevel",
    (logLevel) => {
      expect(fieldOf(() => createClient({ ...quiet, baseUrl: fake.url, logLevel: logLevel as never }))).toBe(
        "logLevel",
      );
    },
  );

  it("a logLevel that names a level in another case or by an alias is taken, as from KLING_V2A_LOG", () => {
    expect(() => createClient({ ...quiet, baseUrl: fake.url, logLevel: "WARNING" as never })).not.toThrow();
  });

  it.each([{}, { warn() {} }, "console", 1])(
    "logger %j without debug, info, warn and error functions throws naming logger",
    (logger) => {
      expect(fieldOf(() => createClient({ ...quiet, baseUrl: fake.url, logger: logger as never }))).toBe("logger");
    },
  );

  it.each(["fetch", {}, 1])("fetch %j that is not a function throws naming fetch", (fetch) => {
    expect(fieldOf(() => createClient({ ...quiet, baseUrl: fake.url, fetch: fetch as never }))).toBe("fetch");
  });

  it.each(["apiKey", "accessKey", "secretKey"] as const)(
    "%s that is not a string throws naming it, without quoting it",
    (field) => {
      const value = { token: "sk-live-object-key-0001" };
      let message = "";
      expect(
        fieldOf(() => {
          try {
            createClient({ baseUrl: fake.url, logLevel: "off", [field]: value as never });
          } catch (error) {
            message = (error as Error).message;
            throw error;
          }
        }),
      ).toBe(field);
      expect(message).not.toContain("sk-live-object-key-0001");
    },
  );

  it("accepts a good configuration, with or without a trailing slash", () => {
    expect(() => createClient({ ...quiet, baseUrl: `${fake.url}/`, timeoutMs: 1, maxRetries: 0 })).not.toThrow();
  });
});

describe("per-call options", () => {
  it("a wait with pollIntervalMs 0, NaN or negative is refused before any request", async () => {
    const kling = createClient({ ...quiet, baseUrl: fake.url });
    const before = fake.requests.length;
    for (const pollIntervalMs of [0, Number.NaN, -5]) {
      expect(await rejectedField(kling.waitForTask("866889456698785798", { pollIntervalMs }))).toBe("pollIntervalMs");
      expect(await rejectedField(kling.run({ video_url: "https://example.com/a.mp4" }, { pollIntervalMs }))).toBe(
        "pollIntervalMs",
      );
    }
    expect(fake.requests.length).toBe(before);
  });

  it("a wait or call with timeoutMs NaN is refused (it would never time out)", async () => {
    const kling = createClient({ ...quiet, baseUrl: fake.url });
    const before = fake.requests.length;
    expect(await rejectedField(kling.waitForTask("866889456698785798", { timeoutMs: Number.NaN }))).toBe("timeoutMs");
    expect(await rejectedField(kling.getTask("866889456698785798", { timeoutMs: Number.NaN }))).toBe("timeoutMs");
    expect(await rejectedField(kling.getTask("866889456698785798", { maxRetries: -1 }))).toBe("maxRetries");
    expect(fake.requests.length).toBe(before);
  });

  it("batch options concurrency, itemTimeoutMs and timeoutMs are checked", async () => {
    const kling = createClient({ ...quiet, baseUrl: fake.url });
    const first = (options: object) =>
      kling
        .runBatch([{ video_url: "https://example.com/a.mp4" }], options)
        [Symbol.asyncIterator]()
        .next();
    expect(await rejectedField(first({ concurrency: 0 }))).toBe("concurrency");
    expect(await rejectedField(first({ concurrency: 2.5 }))).toBe("concurrency");
    expect(await rejectedField(first({ itemTimeoutMs: Number.NaN }))).toBe("itemTimeoutMs");
    expect(await rejectedField(first({ itemTimeoutMs: 0 }))).toBe("itemTimeoutMs");
    expect(await rejectedField(first({ timeoutMs: -1 }))).toBe("timeoutMs");
  });
});

describe("task ids", () => {
  it.each(["..", ".", "a/b", "../v1", "?pageNum=1", "#x", "a b", "%2e%2e", "", "a\\b"])(
    "getTask(%j) throws naming taskId and sends nothing",
    async (id) => {
      const kling = createClient({ ...quiet, baseUrl: fake.url });
      const before = fake.requests.length;
      expect(await rejectedField(kling.getTask(id))).toBe("taskId");
      expect(await rejectedField(kling.waitForTask(id))).toBe("taskId");
      expect(fake.requests.length).toBe(before);
    },
  );

  it("a plain numeric id goes through", async () => {
    const kling = createClient({ ...quiet, baseUrl: fake.url });
    const task = await kling.createTask({ video_url: "https://example.com/a.mp4" });
    expect((await kling.getTask(task.task_id)).task_id).toBe(task.task_id);
  });
});

describe("empty optional fields, as Kling's own example sends them", () => {
  it('external_task_id and callback_url given as "" are dropped (the client sends its own external id)', async () => {
    const kling = createClient({ ...quiet, baseUrl: fake.url });
    const task = await kling.createTask({
      video_id: "",
      video_url: "https://example.com/empty.mp4",
      external_task_id: "",
      callback_url: "",
    } as never);
    const sent = fake.tasks.find((t) => t.task_id === task.task_id)!.body;
    expect(sent).not.toHaveProperty("callback_url");
    expect(sent).not.toHaveProperty("video_id");
    expect(String(sent.external_task_id)).toMatch(/^kv2a-/);
  });
});

describe("a loopback server needs no key", () => {
  it("createClient against 127.0.0.1 with no key and no environment key sends no Authorization", async () => {
    const saved = { a: process.env.KLING_V2A_API_KEY, b: process.env.DEERAPI_KEY };
    delete process.env.KLING_V2A_API_KEY;
    delete process.env.DEERAPI_KEY;
    try {
      const kling = createClient({ baseUrl: fake.url, logLevel: "off" });
      const task = await kling.createTask({ video_url: "https://example.com/nokey.mp4" });
      const request = fake.requests.find(
        (r) => r.method === "POST" && r.body?.video_url === "https://example.com/nokey.mp4",
      );
      expect(task.task_id).toBeTruthy();
      expect(request?.authorization).toBeUndefined();
    } finally {
      if (saved.a !== undefined) process.env.KLING_V2A_API_KEY = saved.a;
      if (saved.b !== undefined) process.env.DEERAPI_KEY = saved.b;
    }
  });
});

describe("resolveOptions: one reading of options and the environment", () => {
  const names = [
    "KLING_V2A_API_KEY",
    "DEERAPI_KEY",
    "KLING_V2A_ACCESS_KEY",
    "KLING_V2A_SECRET_KEY",
    "KLING_V2A_BASE_URL",
    "KLING_V2A_LOG",
  ];
  let saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
  });
  afterAll(() => {
    for (const n of names) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
  });
  const env = (values: Record<string, string>) => {
    for (const n of names) delete process.env[n];
    Object.assign(process.env, values);
  };

  it(
    "the client signs a JWT from KLING_V2A_ACCESS_KEY and KLING_V2A_SECRET_KEY (only the CLI knew them " + "before)",
    async () => {
      env({ KLING_V2A_ACCESS_KEY: "ak-env-123456", KLING_V2A_SECRET_KEY: "sk-env-abcdef" });
      const kling = createClient({ baseUrl: fake.url, logLevel: "off" });
      const task = await kling.createTask({ video_url: "https://example.com/jwt.mp4" });
      const sent = fake.requests.find(
        (r) => r.method === "POST" && r.body?.external_task_id === task.task_info?.external_task_id,
      );
      expect(sent?.authorization).toMatch(/^Bearer eyJ/);
    },
  );

  it(
    "a key given in code is not joined by an access key from the environment; the environment's key comes " + "after",
    async () => {
      const { resolveOptions } = await import("../../src/options.js");
      env({
        KLING_V2A_ACCESS_KEY: "ak-env",
        KLING_V2A_SECRET_KEY: "sk-env",
        DEERAPI_KEY: "deer-env",
        KLING_V2A_BASE_URL: "https://gw.example/kling/",
      });
      expect(resolveOptions({ apiKey: "mine" })).toMatchObject({
        apiKey: "mine",
        accessKey: undefined,
        secretKey: undefined,
        baseUrl: "https://gw.example/kling",
      });
      expect(resolveOptions({})).toMatchObject({ apiKey: "deer-env", accessKey: undefined });
      env({ KLING_V2A_ACCESS_KEY: "ak-env", KLING_V2A_SECRET_KEY: "sk-env" });
      expect(resolveOptions({})).toMatchObject({
        apiKey: undefined,
        accessKey: "ak-env",
        secretKey: "sk-env",
        hasCredentials: true,
      });
      env({ KLING_V2A_BASE_URL: "127.0.0.1:4010" });
      expect(() => resolveOptions({})).toThrow(KlingValidationError);
    },
  );
});
