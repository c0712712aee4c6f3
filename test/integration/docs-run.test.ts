// Every ```ts example in the README and docs/ runs against the real mock and does what its page says (`ts no-run` ones
// listed, with their reason).

import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer as createNodeServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMock } from "../../mocks/index.js";
import type { RunningMock } from "../../mocks/types.js";
import {
  type CreateTaskInput,
  createClient,
  KlingAuthenticationError,
  KlingInvalidRequestError,
  signCallback,
  type Task,
  type VideoToAudioClient,
} from "../../src/index.js";
import { allExamples, type Example, examplesOf } from "../support/docs.js";
import { type RecordingConsole, RUN_DIR, runExample, withCode } from "../support/docs-run.js";
import { stop as stopStorybookMsw } from "../support/fakes/msw-storybook-addon.js";
import { closeOpened, opened } from "../support/fakes/node-http.js";
import { runCollected } from "../support/fakes/vitest.js";
import { manifest } from "../support/mock.js";
import { preflightMedia } from "../support/preflight-media.js";
import { type RedisServer, startRedis } from "../support/redis.js";
import { startVideoServer } from "../support/video-server.js";

const examples = allExamples().filter((e) => e.kind !== "signature");
const byId = new Map(examples.map((e) => [e.id, e]));
const example = (id: string): Example => {
  const found = byId.get(id);
  if (!found) throw new Error(`no example "${id}"; there are: ${[...byId.keys()].join(", ")}`);
  return found;
};

/** The examples marked `ts no-run` in the Markdown, each with why it cannot run here. Nothing else may go unrun. */
const NO_RUN: Record<string, string> = {};

/**
 * Runs only when a redis-server is installed (`npm test` must not need Redis); the reason is printed in the test's
 * name.
 */
const NEEDS_REDIS = "docs/scaling.md › Worked example: a local redis-server, two workers, no Docker";
const hasRedis = (() => {
  try {
    execFileSync(process.env.REDIS_SERVER ?? "redis-server", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const SECRET = `whsec_${btoa("a-test-secret")}`; // the one "Testing your endpoint" signs with
const ENV: Record<string, string | undefined> = {
  KLING_V2A_BASE_URL: undefined, // the mock's URL, once started
  DEERAPI_KEY: "docs-run-deerapi-key-0123456789abcdef",
  KLING_V2A_API_KEY: undefined,
  KLING_V2A_ACCESS_KEY: undefined,
  KLING_V2A_SECRET_KEY: undefined,
  KLING_V2A_LOG: undefined,
  KLING_WEBHOOK_SECRET: SECRET,
  KLING_OWNER_SECRET: "docs-run-owner-secret-0123456789abcdef",
};
const savedEnv: Record<string, string | undefined> = {};
function setEnv(values: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}

/**
 * Hosts the examples name that are not this run's: `BASE_URLS.mock` (127.0.0.1:4010) is the mock on its free port,
 * `localhost:3000` the endpoint a test points it at, `app.example` (a page's own origin) a proxy handler.
 */
const routes = new Map<string, string | ((request: Request) => Promise<Response>)>();
const realFetch = globalThis.fetch;
async function routedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const request = new Request(input, init);
  const url = new URL(request.url);
  const route = routes.get(url.origin);
  if (!route) return realFetch(request);
  const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
  const target = typeof route === "string" ? `${route}${url.pathname}${url.search}` : request.url;
  const moved = new Request(target, {
    method: request.method,
    headers: request.headers,
    body,
    signal: request.signal,
    redirect: request.redirect,
  });
  return typeof route === "string" ? realFetch(moved) : route(moved);
}

let mock: RunningMock;
let kling: VideoToAudioClient;

beforeAll(async () => {
  mock = await startMock({ submittedMs: 0, processingMs: 0, webhookSecret: SECRET, callbackRetryDelaysMs: [100] });
  kling = createClient({ baseUrl: mock.url });
  for (const name of Object.keys(ENV)) savedEnv[name] = process.env[name];
  setEnv({ ...ENV, KLING_V2A_BASE_URL: mock.url });
  routes.set("http://127.0.0.1:4010", mock.url);
  globalThis.fetch = routedFetch;
});

afterAll(async () => {
  globalThis.fetch = realFetch;
  setEnv(savedEnv);
  await closeOpened();
  await mock?.close();
  rmSync(RUN_DIR, { recursive: true, force: true });
});

const VIDEO = "https://example.com/docs-run/clip.mp4";
let inputs = 0;
/** A valid create input, new each time (so no two tests share a task by accident). */
const freshInput = (): CreateTaskInput => ({ video_url: `${VIDEO}?n=${++inputs}` });

/** Names every example may take as given (the PRELUDE of test/integration/docs-examples.test.ts), real at run time. */
function given(overrides: Record<string, unknown> = {}) {
  const calls = {
    save: [] as unknown[][],
    queueForLater: [] as string[],
    alertBilling: [] as unknown[],
    markDone: [] as Task[],
  };
  const globals = {
    kling,
    input: freshInput(),
    callback: undefined as Task | undefined,
    save: (...args: unknown[]) => void calls.save.push(args),
    readInputs: async function* () {
      for (let i = 0; i < 3; i++) yield freshInput();
    },
    getSession: async (request: Request) => {
      const user = /(?:^|;\s*)session=([^;]+)/.exec(request.headers.get("cookie") ?? "")?.[1];
      return user ? { userId: user } : undefined;
    },
    queueForLater: (taskId: string) => void calls.queueForLater.push(taskId),
    alertBilling: (requestId: string | undefined) => void calls.alertBilling.push(requestId),
    markDone: async (task: Task) => void calls.markDone.push(task),
    ...overrides,
  };
  return { globals, calls };
}

const MEDIA_MP3 = () => new RegExp(`^${mock.url.replace(/\./g, "\\.")}/media/\\d{18}\\.mp3$`);

/** The URL is one of the mock's real MP3 files. */
async function expectPlayableMp3(url: unknown): Promise<void> {
  expect(url).toMatch(MEDIA_MP3());
  const response = await realFetch(url as string);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("audio/mpeg");
  expect((await response.arrayBuffer()).byteLength).toBe(manifest.mp3.bytes);
}

/** A client with its own fetch (a header added to each request, or a Prefer that steers the mock). */
function klingWith(headers: (request: Request) => Record<string, string>): VideoToAudioClient {
  return createClient({
    baseUrl: mock.url,
    maxRetries: 0,
    logLevel: "error", // the timed-out wait's last poll would warn on stderr
    fetch: (input, init) => {
      const request = new Request(input, init);
      for (const [name, value] of Object.entries(headers(request))) request.headers.set(name, value);
      return realFetch(request);
    },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Checks shared by examples that build the same thing.

/**
 * The errors example, in each branch its prose names: nothing to do, a failed task, a wait that ran out, no credit,
 * anything else rethrown.
 */
async function checkErrorsExample(ex: Example): Promise<void> {
  const fine = given();
  const failing = given({ input: { video_url: `${VIDEO}?fail=${++inputs}` } });
  // A task that stays `processing`. The example's run has no timeoutMs, so its wait would last 10 minutes: here `run`
  // is what it is (createTask, then waitForTask), with a wait that ends after 300 ms.
  const stuck = klingWith((r) =>
    r.method === "GET" ? { prefer: "example=processing" } : ({} as Record<string, string>),
  );
  const shortRun = async (i: CreateTaskInput, o?: object) =>
    stuck.waitForTask((await stuck.createTask(i)).task_id, { ...o, timeoutMs: 300 });
  const slow = given({ kling: { ...stuck, run: shortRun } });
  const broke = given({ kling: klingWith(() => ({ prefer: "code=429, example=1102_resource_pack_exhausted" })) });
  const denied = given({ kling: klingWith(() => ({ prefer: "code=401, example=1000_authentication_failed" })) });
  const [ok, failed, timedOut, billing, other] = await Promise.allSettled([
    runExample(ex, fine.globals),
    runExample(ex, failing.globals),
    runExample(ex, slow.globals),
    runExample(ex, broke.globals),
    runExample(ex, denied.globals),
  ]);
  const value = (r: PromiseSettledResult<{ console: RecordingConsole }>) => {
    if (r.status === "rejected") throw r.reason;
    return r.value;
  };
  expect(value(ok).console.calls).toEqual([]);
  expect(value(failed).console.of("error")).toEqual([["failed:", expect.stringMatching(/\S/)]]);
  expect(slow.calls.queueForLater).toEqual([expect.stringMatching(/^\d{18}$/)]);
  value(timedOut);
  value(billing);
  expect(broke.calls.alertBilling).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/)]);
  expect(other.status).toBe("rejected");
  expect((other as PromiseRejectedResult).reason).toBeInstanceOf(KlingAuthenticationError);
  for (const c of [fine, failing, broke, denied]) expect(c.calls.queueForLater).toEqual([]);
  for (const c of [fine, failing, slow, denied]) expect(c.calls.alertBilling).toEqual([]);
}

/**
 * The batch example: one result per input, saved or logged by index, and a second run waits for the same tasks instead
 * of creating new ones.
 */
async function checkBatchExample(ex: Example): Promise<void> {
  const items: CreateTaskInput[] = [
    { video_url: `${VIDEO}?batch=a` },
    { video_url: `${VIDEO}?batch=b`, bgm_prompt: "calm piano" },
    { video_url: `${VIDEO}?batch=c-fail` }, // the mock fails it
    { video_url: `${VIDEO}?batch=d`, bgm_promt: "typo" } as CreateTaskInput, // invalid: fails its item, nothing sent
    { video_url: `${VIDEO}?batch=e` },
  ];
  const once = async () => {
    const { globals, calls } = given({
      readInputs: async function* () {
        yield* items;
      },
    });
    const run = await runExample(ex, globals);
    const saved = new Map(calls.save.map(([index, audios]) => [index as number, audios as Array<{ url_mp3: string }>]));
    const errors = run.console.of("error");
    expect([...saved.keys()].sort()).toEqual([0, 1, 4]);
    for (const audios of saved.values()) await expectPlayableMp3(audios[0]?.url_mp3);
    expect(errors.map((e) => e[0]).sort()).toEqual([2, 3]);
    for (const [, externalTaskId, message] of errors) {
      expect(externalTaskId).toMatch(/^nightly-2026-11-24-[0-9a-f]+$/);
      expect(message).toMatch(/\S/);
    }
    expect(errors.find((e) => e[0] === 3)?.[2]).toMatch(/bgm_promt/);
    return saved;
  };
  const first = await once();
  const again = await once();
  // The audio URLs name the task: the rerun found the first run's tasks.
  expect(again).toEqual(first);
}

/** A browser's request as a page on `origin` sends it, with the user's session cookie. */
function browserRequest(
  method: "GET" | "POST",
  url: string,
  user: string | undefined,
  init: { origin?: string; type?: string; body?: unknown } = {},
): Request {
  const headers: Record<string, string> = {};
  if (user) headers.cookie = `session=${user}`;
  if (init.origin) headers.origin = init.origin;
  if (method === "POST") headers["content-type"] = init.type ?? "application/json";
  return new Request(url, {
    method,
    headers,
    body: method === "POST" ? JSON.stringify(init.body ?? freshInput()) : undefined,
  });
}

/**
 * What the proxy pages promise, through `handle` (the handler the example builds, as its framework calls it), with a
 * keyless client for each user as the page would have: the caller's own task, another user's refused like an unknown
 * id, lists per user, no session 401, a foreign Origin 403, a non-JSON create 415.
 */
async function checkProxy(
  handle: (request: Request) => Promise<Response>,
  options: { base?: string; pageOrigin?: string } = {},
): Promise<void> {
  const base = options.base ?? "http://app.example";
  const page = (user?: string) =>
    createClient({
      baseUrl: `${base}/api/kling`,
      maxRetries: 0,
      fetch: async (input, init) => {
        const request = new Request(input, init);
        const body = request.method === "POST" ? await request.text() : undefined;
        const headers = new Headers(request.headers);
        headers.delete("authorization");
        if (user) headers.set("cookie", `session=${user}`);
        if (options.pageOrigin && request.method === "POST") headers.set("origin", options.pageOrigin);
        return handle(new Request(request.url, { method: request.method, headers, body, signal: request.signal }));
      },
    });
  const alice = page("alice");
  const bob = page("bob");
  const browserId = `docs-${Date.now()}-${++inputs}`;
  const created = await alice.createTask({ ...freshInput(), external_task_id: browserId });
  expect(created.task_info?.external_task_id).toBe(browserId); // the page sees its own id, not the stored one
  const seen = await alice.getTask(created.task_id);
  expect(seen.task_id).toBe(created.task_id);
  expect((await alice.listTasks({ pageSize: 500 })).map((t) => t.task_id)).toContain(created.task_id);
  const refused = await bob.getTask(created.task_id).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(KlingInvalidRequestError);
  expect(refused).toMatchObject({ status: 404, code: 1203 });
  expect((await bob.listTasks({ pageSize: 500 })).map((t) => t.task_id)).not.toContain(created.task_id);
  expect(
    await page(undefined)
      .getTask(created.task_id)
      .catch((e: unknown) => e),
  ).toBeInstanceOf(KlingAuthenticationError);
  const url = `${base}/api/kling/v1/audio/video-to-audio`;
  expect((await handle(browserRequest("POST", url, "alice", { origin: "https://evil.example" }))).status).toBe(403);
  expect(
    (await handle(browserRequest("POST", url, "alice", { origin: options.pageOrigin, type: "text/plain" }))).status,
  ).toBe(415);
  const fromPage = await handle(browserRequest("POST", url, "alice", { origin: options.pageOrigin ?? base }));
  expect(fromPage.status).toBe(200);
  expect(JSON.stringify(await fromPage.json())).not.toContain(process.env.DEERAPI_KEY!);
}

/** A handler's Request to a node:http server at `server` (the same path and headers). */
const viaServer = (server: string) => (request: Request) => {
  const url = new URL(request.url);
  return routedFetch(new Request(`${server}${url.pathname}${url.search}`, request));
};

/** A task as Kling would deliver it: a real one of the mock's, as its JSON. */
async function deliveredTask(): Promise<{ task: Task; body: string }> {
  const { task_id } = await kling.createTask(freshInput());
  const task = await kling.getTask(task_id); // succeeded already: the mock's tasks here take no time
  expect(task.task_status).toBe("succeed");
  return { task, body: JSON.stringify(task) };
}

/**
 * What the callback pages promise, through `send` (a Request to the example's handler): a delivery signed with the
 * webhook secret is accepted (200) and logged, a changed byte is `invalid_signature` (400), no signature
 * `missing_headers` (400).
 */
async function checkCallbackHandler(
  send: (request: Request) => Promise<Response>,
  logs: () => unknown[][],
): Promise<void> {
  const { task, body } = await deliveredTask();
  const headers = await signCallback(body, { secret: SECRET });
  const post = (text: string, h: Record<string, string>) =>
    send(
      new Request("http://app.example/kling/hook", {
        method: "POST",
        headers: { ...h, "content-type": "application/json" },
        body: text,
      }),
    );
  const accepted = await post(body, headers);
  expect(accepted.status).toBe(200);
  await expect.poll(logs, { timeout: 5000, interval: 10 }).toContainEqual([task.task_id, "succeed"]);
  const tampered = await post(body.replace('"succeed"', '"failed"'), headers);
  expect(tampered.status).toBe(400);
  expect(await tampered.text()).toBe("invalid_signature");
  const unsigned = await post(body, {});
  expect(unsigned.status).toBe(400);
  expect(await unsigned.text()).toBe("missing_headers");
}

/** The node:http server the example just opened (on a free port instead of the one it asked for). */
async function lastServer(asked: number): Promise<string> {
  const server = opened.at(-1);
  expect(server?.asked).toBe(asked);
  return server!.url;
}

async function serve(
  handler: Parameters<typeof createNodeServer>[0],
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createNodeServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// One exercise per example, by id (`<file> › <heading>`).

type Exercise = (ex: Example) => Promise<void>;

/** Examples that only talk to the API: run side by side. */
const CLIENT: Record<string, Exercise> = {
  "README.md › Quick start": async (ex) => {
    const run = await runExample(ex, given().globals);
    const logs = run.console.of("log").map((args) => args[0]);
    expect(logs.at(-1)).toMatch(MEDIA_MP3()); // the audio, after the progress lines
    expect(logs.slice(0, -1)).toContain("succeed"); // onProgress saw the status change
    await expectPlayableMp3(logs.at(-1));
  },
  "README.md › Quick start (2)": async (ex) => {
    const run = await runExample(ex);
    const logs = run.console.of("log");
    expect(logs).toHaveLength(1);
    await expectPlayableMp3(logs[0]![0]); // "a real, playable 3-second MP3 served by the mock"
  },
  "README.md › Errors": checkErrorsExample,
  "docs/client.md › Errors": checkErrorsExample,
  "docs/client.md › Methods": async (ex) => {
    const run = await runExample(ex);
    expect(run.locals.taskId).toMatch(/^\d+$/); // kept from the first onProgress, the created task
    expect(run.console.of("log")).toEqual([]); // the run succeeded: nothing to pick up
  },
  "docs/callbacks.md › Callbacks: `kling-video-to-audio` (also `kling-video-to-audio/callbacks`)": async (ex) => {
    const callback = await kling.createTask(freshInput()); // what a `submitted` delivery says
    const run = await runExample(ex, given({ callback }).globals);
    expect(run.locals.task.task_id).toBe(callback.task_id);
    expect(run.locals.task.task_status).toBe("succeed"); // the server's word: the task moved on since
  },
  "docs/mock.md › The mock: reference": async (ex) => {
    const run = await runExample(ex);
    expect(run.locals.mock.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(run.locals.mock.url).not.toBe(mock.url);
    // closed: the port is free
    await expect(realFetch(`${run.locals.mock.url}/v1/audio/video-to-audio`)).rejects.toThrow();
  },
  "docs/mock.md › In tests": async (ex) => {
    const run = await runExample(ex);
    expect(run.console.of("log")).toEqual([["succeed"]]); // moved by the clock alone, no sleeping
  },
};

/**
 * Examples that open servers, listen on ports or change globals, or share a batch id (two runs of one batch at once
 * would race to create the same items): one at a time.
 */
const SERVERS: Record<string, Exercise> = {
  "README.md › Batches": checkBatchExample,
  "docs/batches.md › Batches: `runBatch` and `kling-v2a batch`": checkBatchExample,
  "docs/preflight.md › Preflight: `kling-video-to-audio/preflight` and `kling-v2a check`": async (ex) => {
    // The example's cdn.example.com serves one of the ffmpeg-made test videos: a passing one, then a 25 s one.
    const videos = await startVideoServer((await preflightMedia()).dir);
    let file = "pass-720p.mp4";
    routes.set("https://cdn.example.com", (request) => realFetch(new Request(`${videos.url}/media/${file}`, request)));
    try {
      const passing = await runExample(ex, given().globals);
      expect(passing.locals.report).toMatchObject({ ok: true, facts: { container: "mp4", durationSec: 5 } });
      expect(passing.console.of("log")).toEqual([["succeed"]]); // checked, then run
      file = "long-25s.mp4";
      const refused = await runExample(ex, given().globals);
      expect(refused.console.of("error")).toEqual([["duration: the video is 25 s; Kling takes 3 to 20 s"]]);
      expect(refused.console.of("log")).toEqual([]); // nothing created
    } finally {
      routes.delete("https://cdn.example.com");
      await videos.close();
    }
  },
  "README.md › Browsers and the proxy": async (ex) => {
    const run = await runExample(ex, given().globals);
    await checkProxy((request) => (request.method === "POST" ? run.exports.POST : run.exports.GET)(request));
  },
  "docs/proxy.md › The proxy: browsers without keys": async (ex) => {
    const run = await runExample(ex, given().globals);
    await checkProxy(run.locals.proxy);
  },
  "docs/proxy.md › Per-user limits": async (ex) => {
    const quota = new Map<string, number>();
    const takeCreateQuota = async (userId: string) => {
      quota.set(userId, (quota.get(userId) ?? 0) + 1);
      return quota.get(userId)! <= 2;
    };
    const run = await runExample(ex, given({ takeCreateQuota }).globals);
    const url = "http://app.example/api/kling/v1/audio/video-to-audio";
    const answers = [];
    for (let i = 0; i < 3; i++)
      answers.push(
        (await run.locals.proxy(browserRequest("POST", url, "carol", { origin: "http://app.example" }))).status,
      );
    expect(answers).toEqual([200, 200, 401]); // over quota: 401
    expect((await run.locals.proxy(browserRequest("GET", url, "carol"))).status).toBe(200); // only creates are limited
    expect((await run.locals.proxy(browserRequest("POST", url, "dave", { origin: "http://app.example" }))).status).toBe(
      200,
    ); // per user
    expect(
      (await run.locals.proxy(browserRequest("POST", url, undefined, { origin: "http://app.example" }))).status,
    ).toBe(401);
  },
  "docs/proxy.md › Next.js (App Router)": async (ex) => {
    const run = await runExample(ex, given().globals);
    await checkProxy((request) => (request.method === "POST" ? run.exports.POST : run.exports.GET)(request));
  },
  "docs/proxy.md › Hono": async (ex) => {
    const run = await runExample(ex, given().globals);
    await checkProxy((request) => run.exports.default.fetch(request));
    expect((await run.exports.default.fetch(new Request("http://app.example/other"))).status).toBe(404);
  },
  "docs/proxy.md › Cloudflare Workers": async (ex) => {
    const run = await runExample(ex, given().globals);
    const env = { DEERAPI_KEY: process.env.DEERAPI_KEY!, KLING_OWNER_SECRET: process.env.KLING_OWNER_SECRET! };
    await checkProxy((request) => run.exports.default.fetch(request, env));
    expect((await run.exports.default.fetch(new Request("http://app.example/other"), env)).status).toBe(404);
  },
  "docs/proxy.md › Deno": async (ex) => {
    let served: ((request: Request) => Promise<Response> | Response) | undefined;
    const Deno = {
      env: { get: (name: string) => process.env[name] },
      serve: (handler: typeof served) => {
        served = handler;
      },
    };
    await runExample(ex, given({ Deno }).globals);
    expect(served).toBeTypeOf("function");
    // Behind TLS termination: the request URL says http://, the page's Origin https://app.example (allowedOrigins).
    await checkProxy(async (request) => served!(request), { pageOrigin: "https://app.example" });
    expect((await served!(new Request("http://app.example/other"))).status).toBe(404);
  },
  "docs/proxy.md › Node (`node:http`, Express)": async (ex) => {
    await runExample(ex, given().globals);
    const server = await lastServer(3000);
    await checkProxy(viaServer(await server), { base: "http://app.example", pageOrigin: "https://app.example" });
    expect((await realFetch(`${await server}/other`)).status).toBe(404);
  },
  "docs/client.md › Browsers": async (ex) => {
    // A page: relative URLs resolve against its origin (undici's global origin, what `location` is to a page).
    const origin = Symbol.for("undici.globalOrigin.1");
    const g = globalThis as Record<PropertyKey, unknown>;
    const proxyRun = await runExample(example("docs/proxy.md › The proxy: browsers without keys"), given().globals);
    const reached: Request[] = [];
    routes.set("http://app.example", async (request) => {
      reached.push(request.clone());
      return proxyRun.locals.proxy(new Request(request, { headers: withCookie(request) }));
    });
    g.location = { href: "http://app.example/" };
    g[origin] = new URL("http://app.example/");
    const keys = { DEERAPI_KEY: undefined, KLING_V2A_API_KEY: undefined };
    setEnv(keys); // a page has no environment, so no key
    try {
      const run = await runExample(ex);
      const task = await run.locals.kling.createTask(freshInput());
      expect(task.task_status).toBe("submitted");
      expect(reached[0]!.url).toBe("http://app.example/api/kling/v1/audio/video-to-audio");
      expect(reached[0]!.headers.get("authorization")).toBeNull(); // "your server adds the key"
    } finally {
      delete g.location;
      delete g[origin];
      routes.delete("http://app.example");
      setEnv({ DEERAPI_KEY: ENV.DEERAPI_KEY });
    }
  },
  "README.md › Callbacks": async (ex) => {
    const run = await runExample(ex);
    await checkCallbackHandler(run.exports.POST, () => run.console.of("log"));
    const { body } = await deliveredTask();
    const ok = await run.exports.POST(
      new Request("http://app.example/hook", {
        method: "POST",
        headers: await signCallback(body, { secret: SECRET }),
        body,
      }),
    );
    expect(await ok.text()).toBe("ok");
  },
  "docs/callbacks.md › Node (`node:http`)": async (ex) => {
    const run = await runExample(ex);
    const server = await lastServer(3000);
    await checkCallbackHandler(viaServer(server), () => run.console.of("log"));
    // "act on each id once": a replayed delivery is answered 200 and handled once; a body past the limit is refused.
    const deliver = (body: BodyInit, headers: Record<string, string>) =>
      viaServer(server)(new Request("http://app.example/kling/hook", { method: "POST", headers, body }));
    const { task: replayed, body } = await deliveredTask();
    const signed = { ...(await signCallback(body, { secret: SECRET })), "content-type": "application/json" };
    expect((await deliver(body, signed)).status).toBe(200);
    expect((await deliver(body, signed)).status).toBe(200);
    expect(run.console.of("log").filter(([id]) => id === replayed.task_id)).toEqual([[replayed.task_id, "succeed"]]);
    const oversized = await deliver(new Uint8Array(2 * 1024 * 1024), signed);
    expect(oversized.status).toBe(413);
    expect(await oversized.text()).toBe("body_too_large");
    // The mock's own signed deliveries of a task's three status changes, all accepted.
    const task = await kling.createTask({ ...freshInput(), callback_url: `${server}/kling/hook` });
    await expect
      .poll(() => mock.deliveries.filter((d) => d.taskId === task.task_id).map((d) => `${d.status} ${d.outcome}`), {
        timeout: 5000,
        interval: 10,
      })
      .toEqual(["submitted delivered", "processing delivered", "succeed delivered"]);
    expect(run.console.of("log")).toEqual(
      expect.arrayContaining([
        [task.task_id, "submitted"],
        [task.task_id, "processing"],
        [task.task_id, "succeed"],
      ]),
    );
  },
  "docs/callbacks.md › Express": async (ex) => {
    const run = await runExample(ex);
    const server = await serve(run.locals.app);
    try {
      await checkCallbackHandler(viaServer(server.url), () => run.console.of("log"));
    } finally {
      await server.close();
    }
  },
  "docs/callbacks.md › Hono": async (ex) => {
    const run = await runExample(ex);
    await checkCallbackHandler(
      (request) => run.locals.app.fetch(request, { KLING_WEBHOOK_SECRET: SECRET }),
      () => run.console.of("log"),
    );
  },
  "docs/callbacks.md › Cloudflare Worker": async (ex) => {
    const run = await runExample(ex);
    await checkCallbackHandler(
      (request) => run.exports.default.fetch(request, { KLING_WEBHOOK_SECRET: SECRET }),
      () => run.console.of("log"),
    );
  },
  "docs/callbacks.md › Testing your endpoint": async (ex) => {
    // The endpoint under test: the page's own node:http handler, on localhost:3000 as the example expects.
    const endpoint = await runExample(example("docs/callbacks.md › Node (`node:http`)"));
    routes.set("http://localhost:3000", await lastServer(3000));
    try {
      const run = await runExample(ex);
      expect(run.console.failedAsserts).toEqual([]); // console.assert(res.status === 200) held
      expect(endpoint.console.of("log")).toEqual([["866889456698785798", "succeed"]]);
    } finally {
      routes.delete("http://localhost:3000");
    }
  },
  "docs/mock.md › In the browser and in tests (MSW)": async (ex) => {
    await runExample(ex);
    // The example is a test file: its hooks and test run as Vitest would run them.
    expect(await runCollected()).toEqual([{ name: "a created task ends with a playable MP3" }]);
    expect(globalThis.fetch).toBe(routedFetch); // afterAll closed the server
  },
  "docs/mock.md › In the browser and in tests (MSW) (2)": async (ex) => {
    const run = await runExample(ex);
    try {
      const preview = run.exports.default;
      for (const loader of preview.loaders) await loader({ parameters: preview.parameters });
      const story = createClient({ baseUrl: "http://localhost:6006/api/kling", apiKey: "storybook" });
      const task = await story.createTask({ video_url: "https://example.com/clip.mp4" });
      expect(task.task_id).toMatch(/^\d{18}$/);
      expect((await story.getTask(task.task_id)).task_status).toBe("submitted");
    } finally {
      stopStorybookMsw();
    }
  },
  [NEEDS_REDIS]: async (ex) => {
    const redis: RedisServer = await startRedis();
    const queueName = "kling-v2a";
    try {
      setEnv({ REDIS_PORT: String(redis.port) });
      const run = await runExample(ex, given().globals);
      const { worker, queue, ids } = run.locals;
      try {
        expect(ids).toHaveLength(3);
        const results = run.console.of("log").filter((args) => args.length === 3);
        expect(results.map((r) => r[1])).toEqual([true, true, true]);
        expect(results.map((r) => r[0]).sort()).toEqual([0, 1, 2]);
        for (const [, , taskId] of results) expect(taskId).toMatch(/^\d{18}$/);
        expect(queue.name).toBe(queueName);
      } finally {
        await worker?.close();
        await queue?.close();
      }
    } finally {
      setEnv({ REDIS_PORT: undefined });
      await redis.stop();
    }
  },
};

/** The request with the session cookie of the page's user (a page's fetch sends its cookies). */
function withCookie(request: Request): Headers {
  const headers = new Headers(request.headers);
  headers.set("cookie", "session=erin");
  return headers;
}

describe("documentation examples, run", () => {
  it(
    "every example is run here or marked `ts no-run` with a reason, and every exercise and exception names an " +
      "example",
    () => {
      const exercised = new Set([...Object.keys(CLIENT), ...Object.keys(SERVERS)]);
      const marked = examples.filter((e) => e.kind === "no-run");
      const unrun = examples
        .filter((e) => e.kind === "code" && !exercised.has(e.id))
        .map((e) => `${e.id} (${e.file}:${e.line})`);
      expect(unrun, "examples with no exercise below").toEqual([]);
      expect(Object.fromEntries(marked.map((e) => [e.id, e.reason]))).toEqual(NO_RUN);
      for (const e of marked) expect(e.reason, `${e.id} needs a reason after no-run`).not.toBe("");
      expect(
        [...exercised].filter((id) => byId.get(id)?.kind !== "code"),
        "exercises of no example",
      ).toEqual([]);
    },
  );

  describe.concurrent("examples that call the API", () => {
    for (const [id, exercise] of Object.entries(CLIENT)) it(id, () => exercise(example(id)));
  });

  describe("examples that serve requests", () => {
    for (const [id, exercise] of Object.entries(SERVERS)) {
      if (id === NEEDS_REDIS)
        it.skipIf(!hasRedis)(`${id} (needs redis-server; skipped without one)`, () => exercise(example(id)), 30_000);
      else it(id, () => exercise(example(id)));
    }
  });

  it(
    "reads info strings: ts runs, ts signature is not code, ts no-run takes a reason, anything else is " + "refused",
    () => {
      const page = [
        "# Page",
        "```ts",
        "a;",
        "```",
        "```ts signature",
        "f(): void",
        "```",
        "## Part",
        "```ts no-run — needs a GPU",
        "b;",
        "```",
        "```ts",
        "c;",
        "```",
      ].join("\n");
      expect(examplesOf("page.md", page).map(({ id, kind, reason, line }) => ({ id, kind, reason, line }))).toEqual([
        { id: "page.md › Page", kind: "code", reason: "", line: 3 },
        { id: "page.md › Page", kind: "signature", reason: "", line: 6 },
        { id: "page.md › Part", kind: "no-run", reason: "needs a GPU", line: 10 },
        { id: "page.md › Part (2)", kind: "code", reason: "", line: 13 },
      ]);
      expect(() => examplesOf("page.md", "```ts skip\nx;\n```")).toThrow(/unknown info string/);
    },
  );

  describe("the checks can fail", () => {
    it("a batch example that saves only the first result fails its check", async () => {
      const broken = withCode(example("README.md › Batches"), (code) =>
        code.replace("if (result.ok) save(", "if (result.ok && result.index === 0) save("),
      );
      await expect(checkBatchExample(broken)).rejects.toThrow();
    });

    it("a callback handler that verifies with the wrong secret fails its check", async () => {
      const broken = withCode(example("docs/callbacks.md › Cloudflare Worker"), (code) =>
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the example's source, where ${...} is meant
        code.replace("secret: env.KLING_WEBHOOK_SECRET", "secret: `whsec_${btoa('other')}`"),
      );
      const run = await runExample(broken);
      await expect(
        checkCallbackHandler(
          (request) => run.exports.default.fetch(request, { KLING_WEBHOOK_SECRET: SECRET }),
          () => run.console.of("log"),
        ),
      ).rejects.toThrow();
    });

    it("a proxy whose authorize lets everyone in as one owner fails its check", async () => {
      const broken = withCode(example("docs/proxy.md › The proxy: browsers without keys"), (code) =>
        code.replace("session ? { owner: session.userId } : null", '{ owner: "everyone" }'),
      );
      const run = await runExample(broken, given().globals);
      await expect(checkProxy(run.locals.proxy)).rejects.toThrow();
    });
  });
});
