// toNodeHandler routes on the request's path alone: a hostile Host header never changes what is called upstream.
import { createServer, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createProxy, toNodeHandler } from "../../src/proxy/index.js";

const MOUNT = "/api/kling";
const TASKS = "/v1/audio/video-to-audio";
/** What the proxy asked of Kling: method and path with query, in order. */
const upstreamCalls: string[] = [];
let server: Server;
let port = 0;

beforeAll(async () => {
  const handler = createProxy({
    apiKey: "sk-host-tests-0123456789",
    baseUrl: "https://kling.upstream.test",
    authorize: () => ({ owner: "alice" }),
    // The fake upstream: records each call and answers an empty list / an unknown task.
    fetch: async (request) => {
      const url = new URL(request.url);
      upstreamCalls.push(`${request.method} ${url.pathname}${url.search}`);
      return Response.json({ code: 0, message: "SUCCEED", request_id: "r", data: [] });
    },
  });
  const node = toNodeHandler(handler);
  server = createServer((req, res) => node(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  upstreamCalls.length = 0;
});

/** Sends raw bytes (so any Host can be written, unicode too) and returns the status code and the JSON body, if any. */
function rawRequest(head: string): Promise<{ status: number; body: { code?: number } }> {
  return new Promise((resolve, reject) => {
    // Written, not ended: the server closes after its answer (Connection: close, or HTTP/1.0).
    const socket = connect(port, "127.0.0.1", () => socket.write(Buffer.from(`${head}\r\n\r\n`, "utf8")));
    const chunks: Buffer[] = [];
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const json = /\{.*\}/s.exec(text.slice(text.indexOf("\r\n\r\n")))?.[0];
      resolve({ status: Number(text.split(" ")[1]), body: json ? JSON.parse(json) : {} });
    });
  });
}

const get = (path: string, host: string | undefined) =>
  rawRequest(
    [`GET ${path} HTTP/1.1`, ...(host === undefined ? [] : [`Host: ${host}`]), "Connection: close"].join("\r\n"),
  );

const HOSTILE_HOSTS = [
  "x/v1/audio/video-to-audio#",
  "x/v1/audio/video-to-audio?",
  `x${TASKS}/866889456698785798#`,
  "x?",
  "x#",
  "evil@x/v1/audio/video-to-audio#",
  "x\\v1\\audio\\video-to-audio#",
  "x:80/v1/audio/video-to-audio#",
  "[::1]/v1/audio/video-to-audio#",
  "x%2Fv1%2Faudio%2Fvideo-to-audio%23",
  "x /v1/audio/video-to-audio#",
  "münchen.example/v1/audio/video-to-audio#",
  "x:99999",
  "",
];

describe("toNodeHandler with a hostile Host", () => {
  it.each(HOSTILE_HOSTS)("GET /api/kling/not-an-operation with Host %j: 404, nothing upstream", async (host) => {
    const answer = await get(`${MOUNT}/not-an-operation`, host);
    expect(answer.status).toBe(404);
    expect(answer.body.code).toBe(1202);
    expect(upstreamCalls).toEqual([]);
  });

  it.each(HOSTILE_HOSTS)("GET of a task with Host %j calls exactly that get upstream", async (host) => {
    await get(`${MOUNT}${TASKS}/866889456698785798`, host);
    // The get, then (the fake knows no such task) the proxy's lookup of the caller's own id: both for this task alone.
    expect(upstreamCalls[0]).toBe(`GET ${TASKS}/866889456698785798`);
    for (const call of upstreamCalls)
      expect(call).toMatch(/^GET \/v1\/audio\/video-to-audio\/[\w.-]*866889456698785798$/);
  });

  it("no Host at all (HTTP/1.0) routes by the path too", async () => {
    const answer = await rawRequest(`GET ${MOUNT}/not-an-operation HTTP/1.0`);
    expect(answer.status).toBe(404);
    expect(upstreamCalls).toEqual([]);
  });

  it("an absolute-form target routes by its path, never its host", async () => {
    const answer = await rawRequest(
      `GET http://x${TASKS}${MOUNT}/not-an-operation HTTP/1.1\r\nHost: x${TASKS}#\r\nConnection: close`,
    );
    expect(answer.status).toBe(404);
    expect(upstreamCalls).toEqual([]);
  });

  it("a plain Host still counts for the same-origin check", async () => {
    const origin = `http://127.0.0.1:${port}`;
    const sameOrigin = await rawRequest(
      [`GET ${MOUNT}${TASKS} HTTP/1.1`, `Host: 127.0.0.1:${port}`, `Origin: ${origin}`, "Connection: close"].join(
        "\r\n",
      ),
    );
    expect(sameOrigin.status).toBe(200);
    const otherSite = await rawRequest(
      [
        `GET ${MOUNT}${TASKS} HTTP/1.1`,
        `Host: 127.0.0.1:${port}`,
        "Origin: https://evil.example",
        "Connection: close",
      ].join("\r\n"),
    );
    expect(otherSite.status).toBe(403);
  });
});
