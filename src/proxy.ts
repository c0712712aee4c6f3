// createProxy: a key-safe server handler that lets browsers call the API through your server, and a Node http adapter.
import { createAuthorizer } from "./auth.js";
import { KlingValidationError } from "./errors.js";
import { baseUrlFrom, credentialsFrom } from "./options.js";
import { checkCreateInput, checkPageQuery, checkTaskId } from "./validate.js";

export interface ProxyOptions {
  /** The server's API key, sent upstream as a bearer token. @default env `KLING_V2A_API_KEY`, then `DEERAPI_KEY` */
  apiKey?: string | undefined;
  /** Kling access key, for a JWT signed on the server (with `secretKey`). @default undefined */
  accessKey?: string | undefined;
  /** Kling secret key. @default undefined */
  secretKey?: string | undefined;
  /** Where requests go. @default env `KLING_V2A_BASE_URL`, then `BASE_URLS.deerapi` */
  baseUrl?: string | undefined;
  /** Your app's own check (session, CSRF, quota); `false` answers 401 with code 1000. @default every request allowed */
  authorize?: ((request: Request) => boolean | Promise<boolean>) | undefined;
  /** The upstream transport. @default globalThis.fetch */
  fetch?: ((request: Request) => Promise<Response>) | undefined;
}

export type ProxyHandler = (request: Request) => Promise<Response>;

const COLLECTION = "/v1/audio/video-to-audio";
/** The spec's operations, matched at the end of the path so the proxy can be mounted under any prefix. */
const ROUTE = /(\/v1\/audio\/video-to-audio)(?:\/([^/]+))?\/?$/;
/** Request headers worth passing upstream; everything else (cookies, the caller's Authorization) stays here. */
const FORWARDED_REQUEST_HEADERS = ["accept", "content-type", "prefer"];
/** Response headers worth passing back; the body is re-sent decoded, so length and encoding are not. */
const FORWARDED_RESPONSE_HEADERS = ["content-type", "retry-after", "retry-after-ms", "x-request-id", "sl-violations"];

/**
 * A `(Request) => Promise<Response>` handler for Next.js route handlers, Hono, Workers and `Deno.serve`. It forwards
 * only the API's three operations, with the server's credentials; the caller's `Authorization` is dropped. A body
 * that breaks the client's input checks gets a Kling-shaped 400 (code 1201) and is not forwarded; a refused
 * `authorize` gets 401 (code 1000); any other path gets 404 (code 1202).
 */
export function createProxy(options: ProxyOptions = {}): ProxyHandler {
  const authorizer = createAuthorizer(credentialsFrom(options));
  const baseUrl = baseUrlFrom(options.baseUrl).replace(/\/+$/, "");
  const upstream = options.fetch ?? ((request: Request) => globalThis.fetch(request));

  return async (request) => {
    const url = new URL(request.url);
    const match = ROUTE.exec(url.pathname);
    const taskId = match?.[2] === undefined ? undefined : safeDecode(match[2]);
    const allowed = match !== null && (taskId === undefined ? request.method === "GET" || request.method === "POST" : request.method === "GET");
    if (!allowed) return klingError(404, 1202, `${request.method} ${url.pathname} is not an operation of the Video-to-Audio API.`);
    if (options.authorize && !(await options.authorize(request))) return klingError(401, 1000, "Not authorized by this server.");

    let body: string | undefined;
    let search = "";
    try {
      if (request.method === "POST") {
        body = JSON.stringify(checkCreateInput(await readJson(request)));
      } else if (taskId !== undefined) {
        checkTaskId(taskId);
      } else {
        const query = pageQuery(url.searchParams);
        checkPageQuery(query);
        search = url.search;
      }
    } catch (error) {
      if (error instanceof KlingValidationError) return klingError(400, 1201, `Invalid parameter ${error.field}: ${error.message}`);
      throw error;
    }

    const headers = new Headers();
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = request.headers.get(name);
      if (value) headers.set(name, value);
    }
    if (body !== undefined) headers.set("content-type", "application/json");
    const authorization = await authorizer.authorization();
    if (authorization) headers.set("authorization", authorization);
    const target = `${baseUrl}${COLLECTION}${taskId === undefined ? "" : `/${encodeURIComponent(taskId)}`}${search}`;

    let answer: Response;
    try {
      answer = await upstream(new Request(target, { method: request.method, headers, body: body ?? null, signal: request.signal }));
    } catch {
      // The upstream error text may name hosts or tokens; the browser only needs to know it may retry.
      return klingError(502, 5000, "The upstream API could not be reached.");
    }
    const out = new Headers();
    for (const name of FORWARDED_RESPONSE_HEADERS) {
      const value = answer.headers.get(name);
      if (value) out.set(name, value);
    }
    return new Response(await answer.arrayBuffer(), { status: answer.status, statusText: answer.statusText, headers: out });
  };
}

async function readJson(request: Request): Promise<unknown> {
  const text = await request.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new KlingValidationError("body", "The request body is not valid JSON.");
  }
}

function pageQuery(params: URLSearchParams): { pageNum?: number; pageSize?: number } {
  const query: { pageNum?: number; pageSize?: number } = {};
  for (const [name, value] of params) {
    if (name !== "pageNum" && name !== "pageSize") throw new KlingValidationError(name, `Unknown query parameter "${name}".`);
    query[name] = value.trim() === "" ? Number.NaN : Number(value);
  }
  return query;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function klingError(status: number, code: number, message: string): Response {
  return Response.json({ code, message, request_id: globalThis.crypto.randomUUID() }, { status });
}

/** Minimal shapes of Node's IncomingMessage and ServerResponse, so this module needs no Node types at run time. */
interface NodeRequest extends AsyncIterable<Uint8Array | string> {
  method?: string | undefined;
  url?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
}
interface NodeResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body?: Uint8Array): unknown;
}

/** Adapts a proxy handler to Node's `http.createServer((req, res) => …)` (and Express, mounted at a prefix). */
export function toNodeHandler(handler: ProxyHandler): (req: NodeRequest, res: NodeResponse) => void {
  return (req, res) => {
    void (async () => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
      }
      const chunks: Uint8Array[] = [];
      if (req.method !== "GET" && req.method !== "HEAD") {
        for await (const chunk of req) chunks.push(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
      }
      const host = headers.get("host") ?? "localhost";
      const request = new Request(`http://${host}${(req as { originalUrl?: string }).originalUrl ?? req.url ?? "/"}`, {
        method: req.method ?? "GET",
        headers,
        body: chunks.length ? concat(chunks) : null,
      });
      const response = await handler(request);
      const out: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        out[name] = value;
      });
      res.writeHead(response.status, out);
      res.end(new Uint8Array(await response.arrayBuffer()));
    })().catch(() => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(new TextEncoder().encode(JSON.stringify({ code: 5000, message: "The proxy failed." })));
    });
  };
}

function concat(chunks: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(new ArrayBuffer(chunks.reduce((n, c) => n + c.length, 0)));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
