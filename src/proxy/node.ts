// toNodeHandler: a Fetch-API handler on Node's http server, streaming the request body and cancelling when the caller
// leaves.

/** Minimal shapes of Node's IncomingMessage and ServerResponse, so this module needs no Node types at run time. */
export interface NodeRequest {
  method?: string | undefined;
  url?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  readonly complete: boolean;
  on(event: "data", listener: (chunk: Uint8Array | string) => void): unknown;
  on(event: "end" | "close", listener: () => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  pause(): unknown;
  resume(): unknown;
  destroy(): unknown;
}
export interface NodeResponse {
  readonly writableFinished: boolean;
  readonly destroyed: boolean;
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body?: Uint8Array): unknown;
  on(event: "close" | "finish", listener: () => void): unknown;
}

export type NodeHandler = (req: NodeRequest, res: NodeResponse) => void;

/** The origin given to a request without a usable Host header (HTTP/1.0, or a Host that is not a plain host). */
const FALLBACK_ORIGIN = "http://localhost";
// A host name or IPv4 address (letters, digits, `-`, `_`, `.`) or a bracketed IPv6 address, then an optional port.
const PLAIN_HOST = /^(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/**
 * After answering early (413, 401, 408…), the rest of an upload is read and dropped up to this much, then the socket is
 * closed.
 */
const DRAIN_MAX_BYTES = 1024 * 1024;
/** …or for this long, whichever comes first. */
const DRAIN_MAX_MS = 2000;

/**
 * Adapts a proxy handler to `http.createServer((req, res) => …)` (and Express, mounted at a prefix). The body is
 * streamed
 * into the Request with back-pressure (never buffered here), the Request's signal aborts when the response closes
 * before
 * it was sent (the caller left), and an upload left unread by an early answer is drained within bounds, then cut.
 */
export function toNodeHandler(handler: (request: Request) => Promise<Response>): NodeHandler {
  return (req, res) => {
    const caller = new AbortController();
    const body = { open: true };
    res.on("close", () => {
      if (!res.writableFinished) caller.abort(new Error("The caller closed the connection."));
    });
    res.on("finish", () => {
      // The answer is out: whatever the handler left unread is dropped, not queued for a reader that will never come.
      body.open = false;
      if (!req.complete) drain(req);
    });
    let request: Request;
    try {
      request = toRequest(req, caller.signal, body);
    } catch {
      return send(
        res,
        new Response(JSON.stringify({ code: 1200, message: "Malformed request." }), {
          status: 400,
          headers: { "content-type": "application/json" },
        }),
      );
    }
    // Through a promise, so a handler that throws synchronously answers 500 instead of crashing the server.
    Promise.resolve(request)
      .then(handler)
      .then(
        (response) => send(res, response),
        () =>
          send(
            res,
            new Response(JSON.stringify({ code: 5000, message: "The proxy failed." }), {
              status: 500,
              headers: { "content-type": "application/json" },
            }),
          ),
      );
  };
}

function toRequest(req: NodeRequest, signal: AbortSignal, state: { open: boolean }): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  const method = req.method ?? "GET";
  const target = (req as { originalUrl?: string }).originalUrl ?? req.url ?? "/";
  const url = `${originOf(headers.get("host"))}${pathOf(target)}`;
  const body = method === "GET" || method === "HEAD" ? null : bodyStream(req, state);
  return new Request(url, { method, headers, body, signal, duplex: "half" } as RequestInit);
}

/**
 * The Request's origin: `http://` and the Host header when it is a plain host and port, else a fixed local origin.
 * Only the path routes a request; the Host is kept for the same-origin check alone, so a Host holding a path, `?`,
 * `#`, `@`, a backslash, spaces or non-ASCII text can neither route the request nor make it fail.
 */
function originOf(host: string | null): string {
  if (host === null || !PLAIN_HOST.test(host)) return FALLBACK_ORIGIN;
  try {
    const origin = new URL(`http://${host}`);
    // The URL parser normalises (case, the default port); anything else it changed was not a plain host.
    return origin.host === host.toLowerCase().replace(/:80$/, "") ? origin.origin : FALLBACK_ORIGIN;
  } catch {
    return FALLBACK_ORIGIN;
  }
}

/** The request target's path and query. An absolute-form target (`GET http://host/path`) gives only its path. */
function pathOf(target: string): string {
  if (target.startsWith("/")) return target;
  const url = new URL(target); // Anything else (`*`, garbage) throws: a 400.
  return `${url.pathname}${url.search}`;
}

/** The Node request as a byte stream that reads only as fast as it is consumed, and stops (pauses) when cancelled. */
function bodyStream(req: NodeRequest, state: { open: boolean }): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on("data", (chunk) => {
        if (!state.open) return;
        controller.enqueue(
          typeof chunk === "string"
            ? new TextEncoder().encode(chunk)
            : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
        );
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
      });
      req.on("end", () => {
        if (state.open) controller.close();
        state.open = false;
      });
      req.on("error", (error) => {
        if (state.open) controller.error(error);
        state.open = false;
      });
      req.pause();
    },
    pull() {
      if (state.open) req.resume();
    },
    cancel() {
      state.open = false;
      req.pause();
    },
  });
}

/**
 * Reads and drops what is left of an upload after the answer went out, within bounds, so the answer is not lost to a
 * reset.
 */
function drain(req: NodeRequest): void {
  let drained = 0;
  const timer = setTimeout(() => req.destroy(), DRAIN_MAX_MS);
  (timer as { unref?: () => void }).unref?.();
  req.on("data", (chunk) => {
    drained += chunk.length;
    if (drained > DRAIN_MAX_BYTES) req.destroy();
  });
  req.on("close", () => clearTimeout(timer));
  req.resume();
}

function send(res: NodeResponse, response: Response): void {
  if (res.destroyed) return;
  response.arrayBuffer().then(
    (body) => {
      if (res.destroyed) return;
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        headers[name] = value;
      });
      res.writeHead(response.status, headers);
      res.end(new Uint8Array(body));
    },
    () => {
      if (!res.destroyed) res.end();
    },
  );
}
