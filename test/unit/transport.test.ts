// The retrying fetch: retry table end to end, delays, timeouts, aborts, deadlines, safe creates, JWT renewal,
// redaction.
import { inspect } from "node:util";
import createFetchClient from "openapi-fetch";
import { describe, expect, it, vi } from "vitest";
import type { paths } from "../../generated/openapi.js";
import { type Authorizer, createAuthorizer } from "../../src/auth.js";
import {
  KlingApiError,
  KlingAuthenticationError,
  KlingConnectionError,
  KlingError,
  KlingInvalidRequestError,
  KlingServerError,
  KlingTimeoutError,
} from "../../src/errors.js";
import { createLog } from "../../src/redact.js";
import {
  type CallOptions,
  createTransport,
  isAmbiguousFailure,
  type TransportConfig,
} from "../../src/request/transport.js";
import { ERROR_CODES } from "../support/error-codes.js";

/** The failure path, as the client's methods load it. */
const loadFailurePath = () => import("../../src/request/failure.js");

const KEY = "sk-test-KEY-0123456789abcdef";
const BASE = "https://api.example.test/kling";
const GET_URL = `${BASE}/v1/audio/video-to-audio/866889456698785798?secret_query=1`;
const CREATE_URL = `${BASE}/v1/audio/video-to-audio`;
const TASK = { task_id: "866889456698785798", task_status: "submitted" };

type Step = Response | Error | ((request: Request, init?: RequestInit) => Promise<Response>);

interface Seen {
  method: string;
  url: string;
  authorization: string | null;
  body: string | undefined;
  init: RequestInit | undefined;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}
const okBody = (data: unknown = TASK) => ({ code: 0, message: "SUCCEED", request_id: "req-ok", data });
const ok = (data: unknown = TASK) => json(200, okBody(data));
const kling = (status: number, code: number, headers: Record<string, string> = {}) =>
  json(status, { code, message: `kling says ${code}`, request_id: `req-${code}` }, headers);

/** A fake fetch answering from a script; records what each attempt sent. */
function scripted(steps: Step[]) {
  const seen: Seen[] = [];
  const fetch = async (request: Request, init?: RequestInit): Promise<Response> => {
    const step = steps.shift();
    seen.push({
      method: request.method,
      url: request.url,
      authorization: request.headers.get("authorization"),
      body: request.body ? await request.text() : undefined,
      init,
    });
    if (step === undefined) throw new Error("the script ran out");
    if (step instanceof Error) throw step;
    if (typeof step === "function") return step(request, init);
    return step;
  };
  return { fetch, seen };
}

function setup(steps: Step[], config: Partial<TransportConfig> = {}) {
  const { fetch, seen } = scripted(steps);
  const authorizer = config.authorizer ?? createAuthorizer({ apiKey: KEY });
  const lines: string[] = [];
  const record =
    (level: string) =>
    (message: string, ...rest: unknown[]) =>
      lines.push(`${level} ${[message, ...rest].map(String).join(" ")}`);
  const log = createLog(
    { debug: record("debug"), info: record("info"), warn: record("warn"), error: record("error") },
    "debug",
    authorizer.secrets,
  );
  const delays: number[] = [];
  const transport = createTransport({
    fetch,
    authorizer,
    log,
    loadFailurePath,
    timeoutMs: 1000,
    maxRetries: 2,
    random: () => 0,
    // Records the chosen delays without waiting; honours the signal like the real sleep.
    sleep: async (ms, signal) => {
      delays.push(ms);
      if (signal?.aborted) throw signal.reason;
    },
    ...config,
  });
  const get = (call?: CallOptions, url = GET_URL) => transport(call)(new Request(url));
  const create = (
    call: CallOptions = { unsafe: true },
    body: unknown = { video_url: "https://example.com/a.mp4", external_task_id: "job-1" },
  ) =>
    transport(call)(
      new Request(CREATE_URL, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      }),
    );
  return { transport, seen, lines, delays, get, create, authorizer };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("success", () => {
  it("injects Authorization and hands openapi-fetch a parseable answer", async () => {
    const t = setup([ok()]);
    const raw = createFetchClient<paths>({ baseUrl: BASE, fetch: t.transport() });
    const { data, response } = await raw.GET("/v1/audio/video-to-audio/{task_id}", {
      params: { path: { task_id: "1" } },
    });
    expect(data?.data).toEqual(TASK);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(t.seen).toHaveLength(1);
    expect(t.seen[0]?.authorization).toBe(`Bearer ${KEY}`);
  });

  it("raw calls get a standard Response over the read body: stream, clone, arrayBuffer, blob", async () => {
    const t = setup([ok(), ok(), ok()]);
    const first = await t.get();
    expect(first).toBeInstanceOf(Response);
    expect(await first.clone().json()).toMatchObject({ code: 0 });
    expect(await new Response(first.body).json()).toMatchObject({ code: 0 });
    expect(new TextDecoder().decode(await (await t.get()).arrayBuffer())).toContain('"code":0');
    expect((await (await t.get()).blob()).type).toBe("application/json");
  });

  it(
    "the client's methods (jsonOnly) get the fetched Response, whose json() and text() answer from the read " + "body",
    async () => {
      const sent = ok();
      const t = setup([sent]);
      const response = await t.get({ jsonOnly: true });
      expect(response).toBe(sent);
      expect(JSON.parse(await response.text())).toEqual(okBody());
      const first = await response.json();
      const second = await response.json();
      expect(first).toEqual(okBody());
      expect(second).toEqual(first);
      expect(second).not.toBe(first);
    },
  );

  it("passes openapi-fetch's init (requestInitExt) through, with the attempt's signal", async () => {
    const t = setup([ok()]);
    const dispatcher = { marker: true };
    await t.transport()(new Request(GET_URL), { dispatcher } as RequestInit);
    expect(t.seen[0]?.init).toMatchObject({ dispatcher });
    expect(t.seen[0]?.init?.signal).toBeInstanceOf(AbortSignal);
  });

  it("sends no Authorization without credentials", async () => {
    const t = setup([ok()], { authorizer: createAuthorizer({}) });
    await t.get();
    expect(t.seen[0]?.authorization).toBeNull();
  });

  it("passes 204 through", async () => {
    const t = setup([new Response(null, { status: 204 })]);
    expect((await t.get()).status).toBe(204);
  });
});

describe("the retry table, end to end", () => {
  const table = ERROR_CODES;

  it.each(table)("HTTP %i code %i: %o, retried=%s", async (status, code, cls, retried) => {
    const t = setup([kling(status, code), kling(status, code), kling(status, code), kling(status, code)]);
    const error = await rejection(t.get());
    expect(error).toBeInstanceOf(cls);
    expect(error).toMatchObject({ status, code, requestId: `req-${code}`, retryable: retried });
    expect(t.seen).toHaveLength(retried ? 3 : 1);
    expect(t.delays).toHaveLength(retried ? 2 : 0);
  });

  it.each([429, 500, 502, 503, 504])("HTTP %i without a Kling code is retried", async (status) => {
    const t = setup([json(status, { error: "busy" }), ok()]);
    expect((await t.get()).status).toBe(200);
    expect(t.seen).toHaveLength(2);
  });

  it.each([400, 401, 403, 404, 422])("HTTP %i without a Kling code is not retried", async (status) => {
    const t = setup([json(status, { error: { message: "gateway says no" } }), ok()]);
    const error = await rejection(t.get());
    expect(error).toBeInstanceOf(KlingApiError);
    expect((error as KlingApiError).serverMessage).toBe("gateway says no");
    expect(t.seen).toHaveLength(1);
  });

  it("turns a 200 with a non-zero code into an error", async () => {
    const t = setup([json(200, { code: 1201, message: "video_url is invalid", request_id: "r-1201" })]);
    const raw = createFetchClient<paths>({ baseUrl: BASE, fetch: t.transport() });
    const error = await rejection(
      raw.GET("/v1/audio/video-to-audio/{task_id}", { params: { path: { task_id: "1" } } }),
    );
    expect(error).toBeInstanceOf(KlingInvalidRequestError);
    expect(error).toMatchObject({
      status: 200,
      code: 1201,
      requestId: "r-1201",
      serverMessage: "video_url is invalid",
    });
  });

  it("retries a 200 carrying 1303, and reads a numeric-string code", async () => {
    const t = setup([json(200, { code: "1303", message: "busy" }), ok()]);
    expect((await t.get()).status).toBe(200);
    expect(t.delays).toEqual([1000]);
  });

  it("gives up after maxRetries, per call", async () => {
    const t = setup(Array.from({ length: 6 }, () => kling(503, 5001)));
    await rejection(t.get({ maxRetries: 4 }));
    expect(t.seen).toHaveLength(5);
    const u = setup([kling(503, 5001), ok()]);
    await rejection(u.get({ maxRetries: 0 }));
    expect(u.seen).toHaveLength(1);
  });

  it("takes the request id from x-request-id when the body has none", async () => {
    const t = setup([json(400, { code: 1200, message: "bad" }, { "x-request-id": "hdr-1" })]);
    expect(await rejection(t.get())).toMatchObject({ requestId: "hdr-1" });
  });
});

describe("delays", () => {
  it("backs off exponentially (500 ms base; 1 s for 1303)", async () => {
    const t = setup([kling(500, 5000), kling(500, 5000), ok()]);
    await t.get();
    expect(t.delays).toEqual([500, 1000]);
    const u = setup([kling(429, 1303), kling(429, 1303), ok()]);
    await u.get();
    expect(u.delays).toEqual([1000, 2000]);
  });

  it("applies jitter from the injected random", async () => {
    const t = setup([kling(500, 5000), ok()], { random: () => 1 });
    await t.get();
    expect(t.delays).toEqual([375]);
  });

  it.each([
    [{ "Retry-After": "3" }, 3000],
    [{ "retry-after-ms": "1234" }, 1234],
    [{ "Retry-After": "120" }, 60_000],
    [{ "Retry-After": "nonsense" }, 500],
  ])("honours %j → %i ms", async (headers, delay) => {
    const t = setup([kling(429, 1302, headers), ok()]);
    await t.get();
    expect(t.delays).toEqual([delay]);
    const error = (await rejection(setup([kling(429, 1302, headers)], { maxRetries: 0 }).get())) as KlingApiError;
    expect(error.retryAfterMs).toBe(delay === 500 ? undefined : delay);
  });

  it("honours Retry-After as an HTTP date against the injected clock", async () => {
    const now = Date.UTC(2025, 5, 1);
    const t = setup([kling(503, 5001, { "Retry-After": new Date(now + 5000).toUTCString() }), ok()], {
      now: () => now,
    });
    await t.get();
    expect(t.delays).toEqual([5000]);
  });

  it("honours Retry-After on a non-JSON 503", async () => {
    const t = setup([
      new Response("<html><title>Down</title></html>", {
        status: 503,
        headers: { "content-type": "text/html", "retry-after": "2" },
      }),
      ok(),
    ]);
    await t.get();
    expect(t.delays).toEqual([2000]);
  });
});

describe("bodies that are not Kling JSON", () => {
  it("an HTML 502 becomes a KlingConnectionError with the page title, and is retried", async () => {
    const page = () =>
      new Response(
        "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>",
        {
          status: 502,
          headers: { "content-type": "text/html" },
        },
      );
    const t = setup([page(), page(), page()]);
    const error = await rejection(t.get());
    expect(error).toBeInstanceOf(KlingConnectionError);
    expect(error).toMatchObject({ status: 502 });
    expect((error as Error).message).toContain("502 Bad Gateway");
    expect((error as Error).message).toContain("text/html");
    expect((error as Error).message).not.toContain("<");
    expect(t.seen).toHaveLength(3);
  });

  it("an HTML 200 (wrong base URL) is not retried", async () => {
    const t = setup([
      new Response("<html><title>Welcome</title></html>", { status: 200, headers: { "content-type": "text/html" } }),
    ]);
    const error = await rejection(t.get());
    expect(error).toBeInstanceOf(KlingConnectionError);
    expect((error as Error).message).toContain("base URL");
    expect(t.seen).toHaveLength(1);
  });

  it("truncated JSON on a GET is retried and never surfaces a raw SyntaxError", async () => {
    const t = setup([new Response('{"code":0,"message":"SUCC', { status: 200 }), ok()]);
    expect((await t.get()).status).toBe(200);
    expect(t.seen).toHaveLength(2);
    const u = setup([new Response('{"code":0,"mes', { status: 200 })], { maxRetries: 0 });
    const error = await rejection(u.get());
    expect(error).toBeInstanceOf(KlingConnectionError);
    expect(error).not.toBeInstanceOf(SyntaxError);
    expect((error as Error).message).toContain("truncated JSON");
  });

  it("an empty 200 body is a connection error", async () => {
    const t = setup([new Response("", { status: 200 })], { maxRetries: 0 });
    expect(await rejection(t.get())).toBeInstanceOf(KlingConnectionError);
  });
});

describe("network failures and timeouts", () => {
  it("a thrown fetch becomes a retried KlingConnectionError that keeps the cause", async () => {
    const cause = new TypeError("fetch failed", {
      cause: Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }),
    });
    const t = setup([cause, cause, cause]);
    const error = await rejection(t.get());
    expect(error).toBeInstanceOf(KlingConnectionError);
    expect((error as Error).cause).toBe(cause);
    expect((error as Error).message).toContain("ECONNRESET");
    expect((error as Error).message).toContain("GET /kling/v1/audio/video-to-audio/866889456698785798");
    expect(t.seen).toHaveLength(3);
  });

  it(
    "an attempt that gets no answer times out with KlingTimeoutError, aborts the fetch's signal, and is " + "retried",
    async () => {
      let signal: AbortSignal | undefined;
      const hang = (_: Request, init?: RequestInit) => {
        signal = init?.signal ?? undefined;
        return new Promise<Response>((_, reject) =>
          init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
        );
      };
      const t = setup([hang, ok()], { timeoutMs: 20 });
      expect((await t.get()).status).toBe(200);
      expect(signal?.aborted).toBe(true);
      const u = setup([hang], { timeoutMs: 20, maxRetries: 0 });
      const error = await rejection(u.get());
      expect(error).toBeInstanceOf(KlingTimeoutError);
      expect(error).toMatchObject({ kind: "attempt", timeoutMs: 20 });
    },
  );

  it("times out even a fetch that ignores its signal", async () => {
    const t = setup([() => new Promise<Response>(() => {})], { maxRetries: 0 });
    const error = await rejection(t.get({ timeoutMs: 15 }));
    expect(error).toMatchObject({ name: "KlingTimeoutError", timeoutMs: 15 });
  });

  it("a body that stalls counts against the attempt timeout", async () => {
    const stalled = async () => new Response(new ReadableStream({ start() {} }), { status: 200 });
    const t = setup([stalled], { timeoutMs: 15, maxRetries: 0 });
    expect(await rejection(t.get())).toBeInstanceOf(KlingTimeoutError);
  });

  it("a failure to sign the token is thrown as is, without retrying", async () => {
    const failure = new KlingError("cannot sign");
    const authorizer: Authorizer = {
      header: undefined,
      authorization: () => Promise.reject(failure),
      renew() {},
      usesJwt: true,
      secrets: [],
    };
    const t = setup([ok()], { authorizer });
    expect(await rejection(t.get())).toBe(failure);
    expect(t.seen).toHaveLength(0);
  });
});

describe("aborts", () => {
  it("an already-aborted signal rejects with its reason and sends nothing", async () => {
    const reason = new Error("not now");
    const t = setup([ok()]);
    expect(await rejection(t.get({ signal: AbortSignal.abort(reason) }))).toBe(reason);
    expect(t.seen).toHaveLength(0);
  });

  it("an abort during an attempt rejects at once with the reason, and is not retried", async () => {
    const controller = new AbortController();
    const reason = new Error("user cancelled");
    const t = setup([
      () => {
        queueMicrotask(() => controller.abort(reason));
        return new Promise<Response>(() => {});
      },
      ok(),
    ]);
    expect(await rejection(t.get({ signal: controller.signal }))).toBe(reason);
    expect(t.seen).toHaveLength(1);
  });

  it("an abort during a retry sleep rejects at once with the reason (real sleep, 60 s Retry-After)", async () => {
    const controller = new AbortController();
    const reason = new Error("stop waiting");
    const t = setup([kling(429, 1303, { "Retry-After": "60" }), ok()], { sleep: undefined });
    const promise = t.get({ signal: controller.signal });
    await vi.waitFor(() => expect(t.lines.some((line) => line.includes("in 60000 ms"))).toBe(true));
    controller.abort(reason);
    // A sleep deaf to the signal would hold this for 60 s, past the test timeout.
    expect(await rejection(promise)).toBe(reason);
    expect(t.seen).toHaveLength(1);
  });

  it("honours a signal carried by the Request itself (raw.GET(path, { signal }))", async () => {
    const reason = new Error("raw abort");
    const t = setup([ok()]);
    const error = await rejection(t.transport()(new Request(GET_URL, { signal: AbortSignal.abort(reason) })));
    expect(error).toBe(reason);
  });

  it("with ignoreRequestSignal (the client's own calls), the call options' signal still aborts", async () => {
    const controller = new AbortController();
    const reason = new Error("user cancelled");
    const t = setup([
      () => {
        queueMicrotask(() => controller.abort(reason));
        return new Promise<Response>(() => {});
      },
      ok(),
    ]);
    expect(await rejection(t.get({ signal: controller.signal, ignoreRequestSignal: true }))).toBe(reason);
    expect(t.seen).toHaveLength(1);
  });
});

describe("deadline", () => {
  it("stops retrying when the next sleep would pass the deadline, and throws the last error", async () => {
    let clock = 1_000_000;
    const t = setup([kling(503, 5001), kling(503, 5001), ok()], {
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
    });
    const error = await rejection(t.get({ deadline: clock + 1200 }));
    expect(error).toBeInstanceOf(KlingServerError);
    expect(t.seen).toHaveLength(2);
  });

  it("a deadline already past throws KlingTimeoutError and sends nothing", async () => {
    const t = setup([ok()], { now: () => 5000 });
    const error = await rejection(t.get({ deadline: 4000 }));
    expect(error).toBeInstanceOf(KlingTimeoutError);
    expect(t.seen).toHaveLength(0);
  });

  it("caps the attempt timeout at the deadline", async () => {
    const t = setup([() => new Promise<Response>(() => {})], { timeoutMs: 60_000 });
    const error = await rejection(t.get({ deadline: Date.now() + 20 }));
    expect(error).toMatchObject({ name: "KlingTimeoutError", kind: "attempt" });
    expect((error as KlingTimeoutError).timeoutMs).toBeLessThanOrEqual(20);
    expect(t.seen).toHaveLength(1);
  });
});

describe("unsafe creates", () => {
  it.each([
    ["a 500", () => kling(500, 5000)],
    ["an HTML 502", () => new Response("<html><title>bad gateway</title></html>", { status: 502 })],
    ["a 2xx that is not JSON", () => new Response("OK", { status: 200 })],
    ["a reset connection", () => new TypeError("fetch failed", { cause: { code: "ECONNRESET" } })],
  ] as const)("%s is thrown at once, marked ambiguous", async (_, step) => {
    const t = setup([step(), ok()]);
    const error = await rejection(t.create());
    expect(error).toBeInstanceOf(KlingError);
    expect(isAmbiguousFailure(error)).toBe(true);
    expect(t.seen).toHaveLength(1);
  });

  it("an attempt timeout is thrown at once, marked ambiguous", async () => {
    const t = setup([() => new Promise<Response>(() => {}), ok()], { timeoutMs: 15 });
    const error = await rejection(t.create());
    expect(error).toBeInstanceOf(KlingTimeoutError);
    expect(isAmbiguousFailure(error)).toBe(true);
    expect(t.seen).toHaveLength(1);
  });

  it.each([
    ["429 + 1303", () => kling(429, 1303)],
    ["429 + 1302", () => kling(429, 1302)],
    ["a bare 429", () => json(429, { error: "slow down" })],
    [
      "a refused connection",
      () =>
        new TypeError("fetch failed", {
          cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
        }),
    ],
    ["an unknown host", () => new TypeError("fetch failed", { cause: { code: "ENOTFOUND" } })],
    [
      "a DNS hiccup inside an AggregateError",
      () => new TypeError("fetch failed", { cause: new AggregateError([{ code: "EAI_AGAIN" }]) }),
    ],
  ] as const)("%s is retried as usual", async (_, step) => {
    const t = setup([step(), ok()]);
    expect((await t.create()).status).toBe(200);
    expect(t.seen).toHaveLength(2);
  });

  it("re-sends the body intact on every attempt and leaves the original unread", async () => {
    const { fetch, seen } = scripted([kling(429, 1303), kling(503, 5001), ok()]);
    const authorizer = createAuthorizer({ apiKey: KEY });
    const transport = createTransport({
      fetch,
      authorizer,
      log: createLog(console, "off", []),
      loadFailurePath,
      timeoutMs: 1000,
      maxRetries: 2,
      sleep: async () => {},
    });
    const body = JSON.stringify({ video_url: "https://example.com/ü.mp4", external_task_id: "job-1" });
    const request = new Request(CREATE_URL, { method: "POST", body, headers: { "content-type": "application/json" } });
    await transport()(request);
    expect(seen.map((s) => s.body)).toEqual([body, body, body]);
    expect(seen.every((s) => s.method === "POST" && s.authorization === `Bearer ${KEY}`)).toBe(true);
    expect(request.bodyUsed).toBe(false);
  });

  it("non-ambiguous failures are not marked", async () => {
    const t = setup([kling(400, 1201)]);
    expect(isAmbiguousFailure(await rejection(t.create()))).toBe(false);
    const u = setup([kling(429, 1303), kling(429, 1303), kling(429, 1303)]);
    expect(isAmbiguousFailure(await rejection(u.create()))).toBe(false);
    expect(isAmbiguousFailure(new Error("x"))).toBe(false);
    expect(isAmbiguousFailure(undefined)).toBe(false);
  });

  it("a safe call retries the same 500 a create would not", async () => {
    const t = setup([kling(500, 5000), ok()]);
    expect((await t.create({ unsafe: false })).status).toBe(200);
  });
});

describe("JWT renewal", () => {
  function jwtSetup(steps: Step[], maxRetries = 2) {
    let clock = 1_700_000_000_000;
    // Each signing sees a later clock, so a renewed token differs from the first.
    const authorizer = createAuthorizer(
      { accessKey: "ak-123456", secretKey: "sk-secret-abcdef" },
      () => (clock += 1000),
    );
    const renew = vi.spyOn(authorizer, "renew");
    return { ...setup(steps, { authorizer, maxRetries }), renew };
  }

  it("renews and retries once on 1004, with a new token", async () => {
    const t = jwtSetup([kling(401, 1004), ok()]);
    expect((await t.get()).status).toBe(200);
    expect(t.renew).toHaveBeenCalledTimes(1);
    expect(t.seen).toHaveLength(2);
    expect(t.seen[0]?.authorization).toMatch(/^Bearer eyJ/);
    expect(t.seen[1]?.authorization).not.toBe(t.seen[0]?.authorization);
    expect(t.delays).toEqual([]);
  });

  it("renews only once: a second 1003/1004 is thrown", async () => {
    const t = jwtSetup([kling(401, 1004), kling(401, 1003), ok()]);
    expect(await rejection(t.get())).toBeInstanceOf(KlingAuthenticationError);
    expect(t.renew).toHaveBeenCalledTimes(1);
    expect(t.seen).toHaveLength(2);
  });

  it("the renewal is extra to maxRetries", async () => {
    const t = jwtSetup([kling(401, 1003), ok()], 0);
    expect((await t.get()).status).toBe(200);
  });

  it("renews even for an unsafe create (the server refused it, nothing was created)", async () => {
    const t = jwtSetup([kling(401, 1004), ok()]);
    expect((await t.create()).status).toBe(200);
  });

  it("does not retry 1004 for an API key", async () => {
    const t = setup([kling(401, 1004), ok()]);
    expect(await rejection(t.get())).toBeInstanceOf(KlingAuthenticationError);
    expect(t.seen).toHaveLength(1);
  });
});

describe("logging", () => {
  it("logs each attempt, answer and retry at debug, path only", async () => {
    const t = setup([kling(429, 1303), ok()]);
    await t.create({ unsafe: true });
    const text = t.lines.join("\n");
    // The whole URL path (base path included), never the query.
    expect(text).toContain("debug POST /kling/v1/audio/video-to-audio attempt 1/3");
    expect(text).toContain("HTTP 429 code 1303 request_id=req-1303");
    expect(text).toContain("retry 1/2 in 1000 ms: HTTP 429 code 1303");
    expect(text).toContain("debug POST /kling/v1/audio/video-to-audio attempt 2/3");
    expect(text).toMatch(/answered 200 code=0 request_id=req-ok in \d+ ms/);
    expect(text).not.toContain("secret_query");
  });

  it("giving up logs no warning (the thrown error says it once), nor do final answers", async () => {
    const t = setup([kling(503, 5001), kling(503, 5001), kling(503, 5001)]);
    await rejection(t.get());
    expect(t.lines.filter((line) => line.startsWith("warn"))).toHaveLength(0);
    const u = setup([kling(400, 1201)]);
    await rejection(u.get());
    expect(u.lines.filter((line) => line.startsWith("warn"))).toHaveLength(0);
  });

  it("builds no debug lines when debug is off", async () => {
    const { fetch } = scripted([kling(503, 5001), ok()]);
    const lines: string[] = [];
    const push = (message: string) => lines.push(message);
    const transport = createTransport({
      fetch,
      authorizer: createAuthorizer({ apiKey: KEY }),
      log: createLog({ debug: push, info: push, warn: push, error: push }, "warn", [KEY]),
      loadFailurePath,
      timeoutMs: 1000,
      maxRetries: 2,
      sleep: async () => {},
    });
    await transport()(new Request(GET_URL));
    expect(lines).toEqual([]);
  });
});

describe("secrets never leak", () => {
  const JWT_SECRET = "sk-native-secret-XYZ987";

  /** Every string a user could see from an error: message, JSON, inspect, and the whole cause chain. */
  function exposed(error: unknown): string {
    const parts: string[] = [];
    let current: unknown = error;
    for (let depth = 0; current !== undefined && depth < 6; depth++) {
      parts.push(String(current), inspect(current, { depth: 8, showHidden: true }));
      try {
        parts.push(JSON.stringify(current) ?? "");
      } catch {
        parts.push("unserializable");
      }
      current = (current as { cause?: unknown })?.cause;
    }
    return parts.join("\n");
  }

  it("no API key in errors or logs, even when the server and the fetch echo it", async () => {
    const leakyFetchError = Object.assign(new TypeError(`fetch failed for Bearer ${KEY}`), {
      request: new Request(GET_URL, { headers: { authorization: `Bearer ${KEY}` } }),
      cause: Object.assign(new Error(`socket hang up, key=${KEY}`), {
        code: "ECONNRESET",
        headers: { authorization: KEY },
      }),
    });
    const scenarios: Step[][] = [
      [json(401, { code: 1002, message: `invalid key ${KEY}`, request_id: "r" })],
      [
        new Response(`<html><title>Denied for ${KEY}</title></html>`, {
          status: 403,
          headers: { "content-type": "text/html" },
        }),
      ],
      [leakyFetchError],
      [new Response(`{"code":0,"echo":"Bearer ${KEY}`, { status: 200 })],
    ];
    for (const steps of scenarios) {
      const t = setup(steps, { maxRetries: 0 });
      const error = await rejection(t.get());
      expect(error).toBeInstanceOf(KlingError);
      const seen = exposed(error);
      expect(seen).not.toContain(KEY);
      expect(seen).not.toMatch(/Bearer (?!\[redacted\])/);
      expect(t.lines.join("\n")).not.toContain(KEY);
    }
  });

  it("keeps the original cause when it holds nothing secret", async () => {
    const cause = new TypeError("fetch failed", {
      cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }),
    });
    const t = setup([cause], { maxRetries: 0 });
    expect(((await rejection(t.get())) as Error).cause).toBe(cause);
  });

  it("a scrubbed cause keeps its name, code and chain", async () => {
    const inner = Object.assign(new Error(`reset by ${KEY}`), { code: "ECONNRESET" });
    const outer = Object.assign(new TypeError("fetch failed", { cause: inner }), { request: new Request(GET_URL) });
    const t = setup([outer], { maxRetries: 0 });
    const cause = ((await rejection(t.get())) as Error).cause as Error & {
      code?: string;
      request?: unknown;
      cause?: Error & { code?: string };
    };
    expect(cause).not.toBe(outer);
    expect(cause.name).toBe("TypeError");
    expect(cause.request).toBeUndefined();
    expect(cause.cause?.code).toBe("ECONNRESET");
    expect(cause.cause?.message).toBe("reset by [redacted]");
  });

  it("no JWT, access key or secret key in errors or logs", async () => {
    const authorizer = createAuthorizer({ accessKey: "ak-native-ABC123", secretKey: JWT_SECRET });
    const token = (await authorizer.authorization())!.slice("Bearer ".length);
    const t = setup(
      [json(401, { code: 1002, message: `token ${token} invalid for ak-native-ABC123`, request_id: "r" })],
      { authorizer },
    );
    const error = await rejection(t.get());
    const seen = `${exposed(error)}\n${t.lines.join("\n")}`;
    expect(seen).not.toContain(token);
    expect(seen).not.toContain(token.split(".")[2]);
    expect(seen).not.toContain(JWT_SECRET);
    expect(seen).not.toContain("ak-native-ABC123");
  });
});

describe("over real HTTP (node:http on port 0, global fetch)", () => {
  it(
    "retries a POST with its body, sends the key, parses through openapi-fetch, and cancels a hung " + "attempt",
    async () => {
      const { createServer } = await import("node:http");
      const received: Array<{ auth: string | undefined; body: string }> = [];
      let closedEarly = 0;
      const server = createServer((req, res) => {
        let body = "";
        req.on("data", (chunk) => (body += chunk));
        req.on("end", () => {
          received.push({ auth: req.headers.authorization, body });
          const n = received.length;
          if (n === 1) {
            res.writeHead(503, { "content-type": "application/json" }).end('{"code":5001,"message":"maintenance"}');
          } else if (n === 2) {
            res.on("close", () => (closedEarly += res.writableEnded ? 0 : 1));
            // Never answers: the attempt timeout must abort the socket.
          } else {
            res
              .writeHead(200, { "content-type": "application/json" })
              .end(JSON.stringify({ code: 0, message: "SUCCEED", data: TASK }));
          }
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      try {
        const address = server.address() as { port: number };
        const authorizer = createAuthorizer({ apiKey: KEY });
        const transport = createTransport({
          fetch: (request, init) => globalThis.fetch(request, init),
          authorizer,
          log: createLog(console, "off", authorizer.secrets),
          loadFailurePath,
          timeoutMs: 1_000, // room for a loaded machine: the hung attempt alone must time out
          maxRetries: 2,
          sleep: async () => {},
        });
        const raw = createFetchClient<paths>({ baseUrl: `http://127.0.0.1:${address.port}`, fetch: transport() });
        const body = { video_url: "https://example.com/clip.mp4", external_task_id: "job-42" };
        const { data, response } = await raw.POST("/v1/audio/video-to-audio", { body });
        expect(response.status).toBe(200);
        expect(data?.data?.task_id).toBe(TASK.task_id);
        expect(received).toHaveLength(3);
        expect(
          received.every((r) => r.auth === `Bearer ${KEY}` && JSON.parse(r.body).external_task_id === "job-42"),
        ).toBe(true);
        await vi.waitFor(() => expect(closedEarly).toBe(1));
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  );

  it(
    "with platformFetch (unraced, unref'd timer): a hung answer, a stalled body and an abort end on the signal " +
      "alone",
    async () => {
      const { createServer } = await import("node:http");
      let requests = 0;
      let closedEarly = 0;
      const server = createServer((_req, res) => {
        const n = ++requests;
        res.on("close", () => (closedEarly += res.writableEnded ? 0 : 1));
        if (n === 1 || n === 4) return; // never answers
        if (n === 2) {
          // Headers and half a body, then nothing: the body read must end with the attempt.
          res.writeHead(200, { "content-type": "application/json", "content-length": "200" }).write('{"code":0,"da');
          return;
        }
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ code: 0, message: "SUCCEED", data: TASK }));
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      try {
        const address = server.address() as { port: number };
        const authorizer = createAuthorizer({ apiKey: KEY });
        const transport = createTransport({
          fetch: (request, init) => globalThis.fetch(request, init),
          platformFetch: true,
          authorizer,
          log: createLog(console, "off", authorizer.secrets),
          loadFailurePath,
          timeoutMs: 150,
          maxRetries: 2,
          sleep: async () => {},
        });
        const raw = createFetchClient<paths>({
          baseUrl: `http://127.0.0.1:${address.port}`,
          fetch: transport({ ignoreRequestSignal: true }),
        });
        const { data } = await raw.GET("/v1/audio/video-to-audio/{task_id}", { params: { path: { task_id: "1" } } });
        expect(data?.data).toEqual(TASK);
        expect(requests).toBe(3);
        await vi.waitFor(() => expect(closedEarly).toBe(2));

        const controller = new AbortController();
        const reason = new Error("user cancelled");
        const call = transport({ signal: controller.signal, ignoreRequestSignal: true, timeoutMs: 10_000 })(
          new Request(`http://127.0.0.1:${address.port}/v1/audio/video-to-audio/2`),
        );
        await vi.waitFor(() => expect(requests).toBe(4));
        controller.abort(reason);
        expect(await rejection(call)).toBe(reason);
        await vi.waitFor(() => expect(closedEarly).toBe(3));
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  );
});
