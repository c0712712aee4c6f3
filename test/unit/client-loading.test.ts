// What createClient sets up when: none of the request code until the first call, then one set per client; the failure
// path and the redaction only with the first failure.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuthorizer } from "../../src/auth.js";
import { KlingAuthenticationError, KlingConnectionError } from "../../src/errors.js";
import { createClient } from "../../src/index.js";
import { deferredLog } from "../../src/request/methods.js";
import { createTransport, isAmbiguousFailure } from "../../src/request/transport.js";

/** A client whose debug lines are kept: methods.ts logs one line when a client's request code is set up. */
function recordingClient(baseUrl: string, extra: Parameters<typeof createClient>[0] = {}) {
  const lines: string[] = [];
  const keep = (line: string) => lines.push(line);
  const kling = createClient({
    baseUrl,
    logLevel: "debug",
    logger: { debug: keep, info: keep, warn: keep, error: keep },
    ...extra,
  });
  const setUps = () => lines.filter((line) => line.startsWith("request code loaded")).length;
  return { kling, setUps };
}

const TASK = { task_id: "866889456698785798", task_status: "succeed", task_info: {} };
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const body = JSON.stringify({
      code: 0,
      message: "SUCCEED",
      request_id: "r",
      data: request.url?.split("?")[0] === "/v1/audio/video-to-audio" ? [TASK] : TASK,
    });
    response
      .writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
      .end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("createClient loads its request code with the first call", () => {
  it("making a client sets none of it up; a bad option still throws at once", () => {
    const { kling, setUps } = recordingClient(baseUrl);
    expect(kling.raw).toBeDefined();
    expect(setUps()).toBe(0);
    expect(() => createClient({ baseUrl, timeoutMs: Number.NaN })).toThrow(/timeoutMs/);
  });

  it("concurrent first calls of one client share one set of methods (one transport, one lookup memory)", async () => {
    const { kling, setUps } = recordingClient(baseUrl);
    const results = await Promise.all([
      kling.getTask(TASK.task_id),
      kling.getTask(TASK.task_id),
      kling.listTasks(),
      kling.raw.GET("/v1/audio/video-to-audio/{task_id}", { params: { path: { task_id: TASK.task_id } } }),
    ]);
    expect(results[0]).toMatchObject({ task_id: TASK.task_id });
    expect(results[2]).toHaveLength(1);
    expect(setUps()).toBe(1);
    await kling.getTask(TASK.task_id);
    expect(setUps()).toBe(1);
  });

  it(
    "a bad argument is refused by the loaded methods, as a rejection naming the field, with nothing " + "sent",
    async () => {
      let requests = 0;
      const kling = createClient({
        baseUrl,
        fetch: (r, init) => {
          requests++;
          return globalThis.fetch(r, init);
        },
      });
      await expect(kling.getTask("..")).rejects.toMatchObject({ name: "KlingValidationError", field: "taskId" });
      await expect(kling.createTask({ video_url: "not a url" })).rejects.toMatchObject({ field: "video_url" });
      expect(requests).toBe(0);
    },
  );
});

describe("the failure path and the redaction load with the first failure, not with a call that succeeds", () => {
  const KEY = "sk-test-KEY-0123456789abcdef";
  const URL = "https://api.example.test/v1/audio/video-to-audio/866889456698785798";
  const answer = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

  /** A transport whose loads are counted: the failure path's and the log's redaction's. */
  function countingTransport(answers: Response[], loadFailurePath = () => import("../../src/request/failure.js")) {
    const loads = { failurePath: 0, redaction: 0 };
    const log = deferredLog(console, "warn", [KEY], () => {
      loads.redaction++;
      return import("../../src/redact.js");
    });
    const transport = createTransport({
      fetch: async () => answers.shift() ?? answer(200, { code: 0, data: {} }),
      authorizer: createAuthorizer({ apiKey: KEY }),
      log,
      loadFailurePath: () => {
        loads.failurePath++;
        return loadFailurePath();
      },
      timeoutMs: 1000,
      maxRetries: 0,
    });
    return { get: () => transport()(new Request(URL)), loads };
  }

  it("a call that succeeds loads neither; the first failure loads both, once", async () => {
    const { get, loads } = countingTransport([
      answer(200, { code: 0, data: {} }),
      answer(401, { code: 1002, message: `bad key ${KEY}` }),
      answer(401, { code: 1002, message: "bad key" }),
    ]);
    await get();
    expect(loads).toEqual({ failurePath: 0, redaction: 0 });
    const error = await get().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KlingAuthenticationError);
    expect(String((error as Error).message)).not.toContain(KEY);
    await expect(get()).rejects.toBeInstanceOf(KlingAuthenticationError);
    expect(loads).toEqual({ failurePath: 2, redaction: 1 });
  });

  it("a failure path that cannot load (a page gone offline) fails the call with a connection error", async () => {
    const { get } = countingTransport([answer(500, { code: 5000, message: "down" })], () =>
      Promise.reject(new TypeError("Failed to fetch dynamically imported module: /assets/failure-x1.js")),
    );
    const error = await get().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KlingConnectionError);
    // The server may have acted: a create would be looked up before it is sent again.
    expect(isAmbiguousFailure(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /GET \/v1\/audio\/video-to-audio\/866889456698785798 failed, .*could not load/,
    );
  });

  it("the log loads its redaction with the first line at its level, and writes earlier lines in order", async () => {
    const lines: string[] = [];
    const keep = (line: string) => lines.push(line);
    let loads = 0;
    let fail = true;
    const log = deferredLog({ debug: keep, info: keep, warn: keep, error: keep }, "info", [KEY], () => {
      loads++;
      return fail ? Promise.reject(new Error("offline")) : import("../../src/redact.js");
    });
    log.debug("below the level");
    expect(loads).toBe(0);
    log.info(`one ${KEY}`);
    log.warn("two");
    await expect(log.redaction()).rejects.toThrow("offline");
    expect(lines).toEqual([]); // the load failed: the lines wait
    fail = false;
    log.error("three");
    await log.redaction();
    expect(lines).toEqual(["one [redacted]", "two", "three"]);
    log.info("four");
    expect(lines.at(-1)).toBe("four");
    expect(loads).toBe(2);
  });
});
