// Journeys of the installed SDK: small Node programs in the consumer folder import "kling-video-to-audio" by name and
// call `kling-v2a mock` started from the package, as the README's Quick start, client, errors and batch sections do.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type InstalledPackage, installedPackage, killChildren, mocksOf, nodeJson } from "../support/journey.js";

// Each journey runs whole programs (a loaded 2-core machine can make one take seconds): a generous bound, not a speed
// test.
vi.setConfig({ testTimeout: 120_000 });

const SECRET = "sk-journey-sdk-secret-27182818";

let pkg: InstalledPackage;
/** The run's `kling-v2a mock` servers, started from the installed bin (test/support/journey-package.ts). */
const mock = {
  get url() {
    return mocksOf(pkg).fast;
  },
};
/** Tasks stay `submitted` for 10 minutes there: a timeout or an abort is the only way a wait can end. */
const slow = {
  get url() {
    return mocksOf(pkg).slow;
  },
};

beforeAll(async () => {
  pkg = await installedPackage();
}, 300_000);

afterAll(killChildren);

/** Runs an ES module program with the mock's URL in MOCK and the SDK imported as `k`; it prints one JSON line. */
function program<T = any>(body: string, env: Record<string, string> = {}): Promise<T> {
  return nodeJson<T>(
    pkg,
    `import * as k from "kling-video-to-audio";
    import { inspect } from "node:util";
    const MOCK = ${JSON.stringify(mock.url)};
    const SLOW = ${JSON.stringify(slow.url)};
    const errorOf = async (p) => { try { await p; return null; } catch (e) { return e; } };
    const describe = (e) => e && {
      name: e.name, message: e.message, code: e.code, field: e.field, taskId: e.taskId, lastStatus: e.lastStatus,
      kind: e.kind, isKling: e instanceof k.KlingError, isError: e instanceof Error,
      status: e.task?.task_status, msg: e.task?.task_status_msg,
      json: JSON.stringify(e), inspected: inspect(e) };
    ${body}`,
    { env },
  );
}

describe.concurrent("Quick start", () => {
  it(
    "createClient against the mock with NO key, then run() to success (the README's promise for the " + "mock)",
    async () => {
      // BASE_URLS.mock is port 4010; the test's mock is on a free port of the same loopback address.
      const result = await program(`
      const kling = k.createClient({ baseUrl: MOCK });
      const task = await kling.run({ video_url: "https://example.com/clip.mp4" }, { pollIntervalMs: 100 });
      console.log(JSON.stringify({ status: task.task_status, mp3: task.task_result?.audios?.[0]?.url_mp3 }));`);
      expect(result.status).toBe("succeed");
      expect(result.mp3).toMatch(/^https?:\/\//);
    },
  );

  it("run() with a key, onProgress and timeoutMs: sees the task move and returns the audio URL", async () => {
    const result = await program(`
      const kling = k.createClient({ apiKey: "any", baseUrl: MOCK });
      const seen = [];
      const task = await kling.run(
        {
          video_url: "https://example.com/clip.mp4",
          bgm_prompt: "calm piano",
          sound_effect_prompt: "rain on a tin roof",
        },
        { onProgress: (t) => seen.push(t.task_status), timeoutMs: 10 * 60_000, pollIntervalMs: 100 },
      );
      console.log(JSON.stringify({ seen, status: task.task_status, mp3: task.task_result?.audios?.[0]?.url_mp3 }));`);
    expect(result.status).toBe("succeed");
    expect(result.mp3).toMatch(/^https?:\/\//);
    expect(result.seen[0]).toBe("submitted");
    expect(result.seen.at(-1)).toBe("succeed");
    // every observed change, in order, no repeats (processing may pass between two polls on a loaded machine)
    expect(["submitted", "processing", "succeed"].filter((s) => result.seen.includes(s))).toEqual(result.seen);
  });

  it("reads the key and the server from the environment (KLING_V2A_API_KEY, KLING_V2A_BASE_URL)", async () => {
    const result = await program(
      `const kling = k.createClient();
      const created = await kling.createTask({ video_url: "https://example.com/env.mp4" });
      const got = await kling.getTask(created.task_id);
      console.log(JSON.stringify({ id: got.task_id === created.task_id }));`,
      { KLING_V2A_API_KEY: "any", KLING_V2A_BASE_URL: mock.url },
    );
    expect(result).toEqual({ id: true });
  });
});

describe.concurrent("auth", () => {
  it(
    "Kling's access key + secret key: an HS256 JWT (iss = the access key) signed on the fly, loaded from the " +
      "package",
    async () => {
      const result = await program(`
      const sent = [];
      const kling = k.createClient({ accessKey: "ak-journey", secretKey: "sk-journey-secret-key", baseUrl: MOCK,
        fetch: (r, i) => { sent.push(r.headers.get("authorization")); return fetch(r, i); } });
      await kling.listTasks({ pageSize: 1 });
      const [head, payload, signature] = sent[0].replace(/^Bearer /, "").split(".");
      const json = (part) => JSON.parse(Buffer.from(part, "base64url").toString());
      console.log(JSON.stringify({ header: json(head), payload: json(payload), signed: signature.length > 20 }));`);
      expect(result.header).toMatchObject({ alg: "HS256" });
      expect(result.payload.iss).toBe("ak-journey");
      expect(result.payload.exp - result.payload.nbf).toBeGreaterThan(25 * 60);
      expect(result.signed).toBe(true);
    },
  );
});

describe.concurrent("the client's methods", () => {
  it(
    "createTask, getTask, waitForTask, listTasks, tasks(), findTaskByExternalId and raw work against the " + "mock",
    async () => {
      const result = await program(`
      const kling = k.createClient({ apiKey: "any", baseUrl: MOCK });
      const created = await kling.createTask({
        video_url: "https://example.com/m.mp4",
        external_task_id: "journey-sdk-methods",
      });
      const got = await kling.getTask(created.task_id);
      const done = await kling.waitForTask(created.task_id, { pollIntervalMs: 100 });
      const page = await kling.listTasks({ pageNum: 1, pageSize: 50 });
      const all = [];
      for await (const t of kling.tasks({ pageSize: 2 })) all.push(t.task_id);
      const found = await kling.findTaskByExternalId("journey-sdk-methods");
      const raw = await kling.raw.GET("/v1/audio/video-to-audio/{task_id}", {
        params: { path: { task_id: created.task_id } },
      });
      console.log(JSON.stringify({
        created: created.task_status, got: got.task_id === created.task_id, done: done.task_status,
        listed: page.some((t) => t.task_id === created.task_id), iterated: all.includes(created.task_id),
        found: found?.task_id === created.task_id, raw: raw.data?.data?.task_id === created.task_id,
      }));`);
      // No check that tasks() yields each id once: other journeys create tasks on this shared mock meanwhile, and a
      // newest-first list without a cursor shifts under any iterator (the unit tests check it on a list that holds
      // still).
      expect(result).toEqual({
        created: "submitted",
        got: true,
        done: "succeed",
        listed: true,
        iterated: true,
        found: true,
        raw: true,
      });
    },
  );
});

describe.concurrent("errors", () => {
  it("bad input: KlingValidationError naming the field, and nothing sent", async () => {
    const result = await program(`
      let sent = 0;
      const kling = k.createClient({ apiKey: "any", baseUrl: MOCK, fetch: (r, i) => { sent++; return fetch(r, i); } });
      const url = await errorOf(kling.createTask({ video_url: "not-a-url" }));
      const typo = await errorOf(kling.createTask({ video_url: "https://example.com/a.mp4", bgm_promt: "piano" }));
      const long = await errorOf(kling.run({ video_url: "https://example.com/a.mp4", bgm_prompt: "x".repeat(201) }));
      const both = await errorOf(kling.createTask({ video_url: "https://example.com/a.mp4", video_id: "1" }));
      console.log(JSON.stringify({
        sent, url: describe(url), typo: describe(typo), long: describe(long), both: describe(both),
      }));`);
    expect(result.sent).toBe(0);
    for (const e of [result.url, result.typo, result.long, result.both])
      expect(e).toMatchObject({ name: "KlingValidationError", isKling: true, isError: true });
    expect(result.url.field).toBe("video_url");
    expect(result.typo.field).toBe("bgm_promt");
    expect(result.typo.message).toContain("bgm_prompt");
    expect(result.long.field).toBe("bgm_prompt");
  });

  it("an unknown task id: a KlingApiError (invalid request) with code 1203 and the request id", async () => {
    const result = await program(`
      const kling = k.createClient({ apiKey: "any", baseUrl: MOCK });
      const e = await errorOf(kling.getTask("123456789012345678"));
      console.log(JSON.stringify({
        ...describe(e),
        api: e instanceof k.KlingApiError,
        invalid: e instanceof k.KlingInvalidRequestError,
        requestId: e.requestId,
      }));`);
    expect(result).toMatchObject({ code: 1203, api: true, invalid: true, isKling: true });
    expect(result.requestId).toMatch(/\S/);
    expect(result.message).toContain(result.requestId);
  });

  it("a task that fails: KlingTaskFailedError with the task and its task_status_msg", async () => {
    const result = await program(`
      const kling = k.createClient({ apiKey: "any", baseUrl: MOCK });
      const e = await errorOf(kling.run(
        { video_url: "https://example.com/clip.mp4", sound_effect_prompt: "please fail" },
        { pollIntervalMs: 100 },
      ));
      console.log(JSON.stringify({ ...describe(e), failed: e instanceof k.KlingTaskFailedError }));`);
    expect(result).toMatchObject({ name: "KlingTaskFailedError", failed: true, status: "failed" });
    expect(result.msg).toMatch(/\S/);
  });

  it(
    "a wait that runs out: KlingTimeoutError with taskId and lastStatus; the task keeps running and can be waited " +
      "for again",
    async () => {
      const result = await program(`
      const kling = k.createClient({ apiKey: "any", baseUrl: SLOW });
      const created = await kling.createTask({ video_url: "https://example.com/slow.mp4" });
      const e = await errorOf(kling.waitForTask(created.task_id, { timeoutMs: 2_000, pollIntervalMs: 50 }));
      const again = await errorOf(kling.waitForTask(e.taskId, { timeoutMs: 2_000, pollIntervalMs: 50 }));
      const now = await kling.getTask(e.taskId);
      console.log(JSON.stringify({
        ...describe(e), timeout: e instanceof k.KlingTimeoutError, same: e.taskId === created.task_id,
        again: describe(again), now: now.task_status }));`);
      expect(result).toMatchObject({
        name: "KlingTimeoutError",
        timeout: true,
        same: true,
        lastStatus: "submitted",
        now: "submitted",
      });
      expect(result.again).toMatchObject({ name: "KlingTimeoutError", lastStatus: "submitted" });
    },
  );

  it("an AbortSignal stops a wait at once, with the signal's reason", async () => {
    const result = await program(`
      const kling = k.createClient({ apiKey: "any", baseUrl: SLOW });
      const controller = new AbortController();
      const e = await errorOf(kling.run({ video_url: "https://example.com/abort.mp4" }, {
        signal: controller.signal, pollIntervalMs: 60_000,
        onProgress: () => controller.abort(new Error("user went away")),
      }));
      console.log(JSON.stringify({ message: e?.message }));`);
    // The task never ends and the next poll is a minute away: only the abort can have ended the wait.
    expect(result.message).toBe("user went away");
  });

  it("no secret in any error (message, JSON.stringify, util.inspect) nor in a debug log line", async () => {
    const result = await program(`
      const lines = [];
      const logger = {
        debug: (...a) => lines.push(a.join(" ")),
        info: (...a) => lines.push(a.join(" ")),
        warn: (...a) => lines.push(a.join(" ")),
        error: (...a) => lines.push(a.join(" ")),
      };
      const kling = k.createClient({ apiKey: ${JSON.stringify(SECRET)}, baseUrl: MOCK, logger, logLevel: "debug" });
      const failed = await errorOf(kling.run({ video_url: "https://example.com/fail.mp4" }, { pollIntervalMs: 100 }));
      const missing = await errorOf(kling.getTask("123456789012345678"));
      const down = await errorOf(
        k.createClient({ apiKey: ${JSON.stringify(SECRET)}, baseUrl: "http://127.0.0.1:9", maxRetries: 0 }).listTasks(),
      );
      console.log(JSON.stringify({ errors: [describe(failed), describe(missing), describe(down)], lines }));`);
    expect(result.errors.map((e: { name: string }) => e.name)).toEqual([
      "KlingTaskFailedError",
      "KlingInvalidRequestError",
      "KlingConnectionError",
    ]);
    expect(JSON.stringify(result)).not.toContain(SECRET);
    expect(result.lines.join("\n")).toMatch(/POST \/v1\/audio\/video-to-audio attempt 1\//);
  });
});

describe.concurrent("runBatch", () => {
  it(
    "runs many inputs under a concurrency limit, one result per item with its externalTaskId; a rerun creates " +
      "nothing",
    async () => {
      const result = await program(`
      const kling = k.createClient({ apiKey: "any", baseUrl: MOCK });
      const inputs = [
        { video_url: "https://example.com/b1.mp4" },
        { video_url: "https://example.com/b2-fail.mp4" },
        { video_url: "not-a-url" },
        { video_url: "https://example.com/b3.mp4" },
      ];
      const batch = async () => {
        const out = [];
        const options = { concurrency: 2, batchId: "journey-sdk-batch", pollIntervalMs: 100 };
        for await (const r of kling.runBatch(inputs, options)) {
          out.push({
            index: r.index,
            ok: r.ok,
            ext: r.externalTaskId,
            error: r.ok ? undefined : r.error.name,
            kling: r.ok || r.error instanceof k.KlingError,
          });
        }
        return out.sort((a, b) => a.index - b.index);
      };
      const first = await batch();
      // The batch's tasks on the server, by external_task_id (other journeys create tasks meanwhile).
      const ids = new Set(first.map((r) => r.ext));
      const count = async () =>
        (await kling.listTasks({ pageSize: 500 })).filter((t) => ids.has(t.task_info?.external_task_id)).length;
      const before = await count();
      const second = await batch();
      console.log(JSON.stringify({ first, second, before, created: (await count()) - before }));`);
      expect(result.first.map((r: { ok: boolean }) => r.ok)).toEqual([true, false, false, true]);
      expect(result.first[1].error).toBe("KlingTaskFailedError");
      expect(result.first[2].error).toBe("KlingValidationError");
      for (const r of result.first) {
        expect(r.kling).toBe(true);
        expect(r.ext, `item ${r.index} has its externalTaskId`).toMatch(/\S/);
      }
      expect(result.second.map((r: { ok: boolean }) => r.ok)).toEqual([true, false, false, true]);
      expect(result.before).toBe(3); // one task per valid input (one of them failed); the invalid input sent nothing
      expect(result.created).toBe(0);
    },
  );
});
