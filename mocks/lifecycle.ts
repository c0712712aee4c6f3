// The server mock: a node:http adapter over the task engine, with Prism (on a free internal port) as its spec side:
// Prism validates every request and produces every body; the engine steers it with `Prefer` and adds the lifecycle.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Answer } from "./answer.js";
import { klingError } from "./answer.js";
import { type EngineRequest, MAX_BODY_BYTES, MockEngine } from "./engine.js";
import { nodePost } from "./node-post.js";
import { type RunningPrism, startPrism } from "./prism.js";
import type { SpecRequest, SpecSide } from "./spec-examples.js";
import type { MockOptions, RunningMock } from "./types.js";

export type { Delivery, DeliveryAttempt, MockOptions, MockTaskStatus, RunningMock } from "./types.js";

/** The token the layer shows Prism when the caller needs none: Prism itself always checks for one. */
const MOCK_TOKEN = "Bearer mock";
/** Headers about one connection (the layer has its own to each side), and Prism's CORS (the layer sets its own). */
const DROPPED_HEADERS = new RegExp(
  "^(connection|keep-alive|proxy-connection|transfer-encoding|te|trailer|upgrade|expect|content-length" +
    "|access-control-.*|vary)$",
);
/** A Host header fit to build URLs from: a name or address and an optional port, nothing else. */
const HOST_HEADER = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

class BodyTooLarge extends Error {}

/**
 * Starts Prism on a free internal port and the layer in front of it.
 *
 * Created tasks answer `submitted`, then `processing` after `submittedMs`, then `succeed` after another
 * `processingMs` (`failed` when the create's `video_id`, `video_url`, a prompt or `external_task_id` contains
 * "fail", or it was sent with `Prefer: example=failed`). Unknown task ids answer 404 with code 1203. A caller's
 * `Prefer` header (or `__example`/`__code`/`__dynamic` query) otherwise wins: such requests get Prism's static
 * answer. Prism validates every request and produces every body; the engine picks the example, patches ids,
 * timestamps and playable media URLs into it, words Prism's validation failures, and delivers callbacks.
 */
export async function startMock(options: MockOptions = {}): Promise<RunningMock> {
  const prism = await startPrism({ port: 0, host: "127.0.0.1", callbacks: false });
  try {
    return await startLayer(prism, { ...options, host: options.host ?? "127.0.0.1" });
  } catch (error) {
    await prism.close();
    throw error;
  }
}

async function startLayer(prism: RunningPrism, options: MockOptions & { host: string }): Promise<RunningMock> {
  const log = options.log ?? (options.verbose ? (line: string) => process.stderr.write(`${line}\n`) : undefined);
  const requestLog = options.verbose ? log : undefined;
  const agent = new http.Agent({ keepAlive: true });
  const engine = new MockEngine(prismSide(prism.url, agent), { ...options, log, post: nodePost });
  let mockUrl = "";

  const server = http.createServer((req, res) => {
    const line = `${req.method} ${req.url}`;
    engineRequest(req, mockUrl)
      .then((request) => engine.handle(request))
      .then(
        ({ answer, outcome, closeConnection }) => {
          send(res, req, answer, closeConnection);
          requestLog?.(`${line} ${outcome}`);
        },
        (error: unknown) => {
          requestLog?.(`${line} → 502 (${error instanceof Error ? error.message : String(error)})`);
          if (res.headersSent) return void res.destroy();
          send(res, req, klingError(502, 5000, "The lifecycle mock could not reach Prism"));
        },
      );
  });
  await engine.warm();
  mockUrl = await listen(server, options.port ?? 0, options.host);

  let closing: Promise<void> | undefined;
  return {
    url: mockUrl,
    get deliveries() {
      return engine.deliveries;
    },
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        // Idle keep-alive sockets (a browser's, a polling loop's) would otherwise hold the port for seconds.
        server.closeAllConnections();
        await engine.close();
        agent.destroy();
        await stopped;
        await prism.close();
      })();
      return closing;
    },
  };
}

/** Prism as the engine's spec side: the caller's request forwarded with the layer's token and maybe a `Prefer`. */
function prismSide(prismUrl: string, agent: http.Agent): SpecSide {
  const upstream = new URL(prismUrl);
  return {
    answer(request: SpecRequest, prefer?: string): Promise<Answer> {
      const headers: http.OutgoingHttpHeaders = {};
      request.headers.forEach((value, name) => {
        if (!DROPPED_HEADERS.test(name)) headers[name] = value;
      });
      if (request.body.length > 0 || request.headers.has("content-length"))
        headers["content-length"] = request.body.length;
      // The engine has already judged the caller's token; Prism, which always wants one, gets a fixed one.
      headers.authorization = MOCK_TOKEN;
      if (prefer !== undefined) headers.prefer = prefer;
      return new Promise((resolve, reject) => {
        const { hostname, port } = upstream;
        const out = http.request(
          { hostname, port, method: request.method, path: request.target, headers, agent },
          (res) => {
            readAll(res, Number.POSITIVE_INFINITY).then(
              (body) => resolve({ status: res.statusCode ?? 502, headers: keptHeaders(res.headers), body }),
              reject,
            );
          },
        );
        out.on("error", reject);
        out.end(request.body.length > 0 ? request.body : undefined);
      });
    },
  };
}

/** The request as the engine takes it; the base is the origin the client used (when its Host is fit for URLs). */
async function engineRequest(req: http.IncomingMessage, mockUrl: string): Promise<EngineRequest> {
  const target = req.url ?? "/";
  const url = new URL(target, "http://mock.invalid");
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const host = req.headers.host;
  const base = typeof host === "string" && HOST_HEADER.test(host) ? `http://${host}` : mockUrl;
  const request = { method: req.method ?? "GET", base, path: url.pathname, target, query: url.searchParams, headers };
  try {
    return { ...request, body: await readAll(req, MAX_BODY_BYTES) };
  } catch (error) {
    if (!(error instanceof BodyTooLarge)) throw error;
    return { ...request, body: new Uint8Array(0), bodyTooLarge: true };
  }
}

function send(res: http.ServerResponse, req: http.IncomingMessage, answer: Answer, closeConnection = false): void {
  const headers: http.OutgoingHttpHeaders = { ...answer.headers, "content-length": answer.body.length };
  if (closeConnection) headers.connection = "close";
  res.writeHead(answer.status, headers);
  res.end(req.method === "HEAD" ? undefined : answer.body);
}

/** Listens, and resolves the mock's `http://host:port`. */
async function listen(server: http.Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `http://${hostForUrl}:${address.port}`;
}

function keptHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined && !DROPPED_HEADERS.test(name))
      kept[name] = Array.isArray(value) ? value.join(", ") : value;
  return kept;
}

async function readAll(stream: NodeJS.ReadableStream, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}
