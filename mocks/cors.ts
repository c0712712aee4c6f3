// CORS for the mock's API and media: any origin, with Authorization named explicitly (a `*` in Allow-Headers does not cover it).
import type http from "node:http";

/** Request headers a page may send; `Authorization` must be listed by name (Fetch standard), the rest are for clarity. */
const ALLOWED_HEADERS = ["Authorization", "Content-Type", "Prefer", "Range", "Idempotency-Key", "X-Request-Id"];
/** Response headers a page may read: the Kling and Prism diagnostics, and what a media player or downloader needs. */
const EXPOSED_HEADERS = ["Content-Length", "Content-Range", "Accept-Ranges", "ETag", "Retry-After", "sl-violations"];
const METHODS = "GET, HEAD, POST, OPTIONS";
/** A header list as a browser sends it in Access-Control-Request-Headers: tokens and commas only. */
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~\-, ]{0,1000}$/;

/** The CORS headers of an actual (non-preflight) answer. The origin is echoed, so credentialed requests work too. */
export function corsHeaders(req: http.IncomingMessage): http.OutgoingHttpHeaders {
  const origin = req.headers.origin;
  if (typeof origin !== "string" || origin === "")
    return { "access-control-allow-origin": "*", "access-control-expose-headers": EXPOSED_HEADERS.join(", ") };
  return {
    "access-control-allow-origin": origin,
    "access-control-allow-credentials": "true",
    "access-control-expose-headers": EXPOSED_HEADERS.join(", "),
    vary: "Origin",
  };
}

/** Whether this is a CORS preflight (an OPTIONS asking about another method), which the layer answers itself. */
export function isPreflight(req: http.IncomingMessage): boolean {
  return req.method === "OPTIONS" && typeof req.headers["access-control-request-method"] === "string";
}

/** Answers a preflight: 204, any origin, the methods above, the listed headers plus whatever the page asks for. */
export function answerPreflight(req: http.IncomingMessage, res: http.ServerResponse): void {
  const asked = req.headers["access-control-request-headers"];
  const extra =
    typeof asked === "string" && HEADER_LIST.test(asked)
      ? asked
          .split(",")
          .map((name) => name.trim())
          .filter(Boolean)
      : [];
  const known = new Set(ALLOWED_HEADERS.map((name) => name.toLowerCase()));
  const headers = [...ALLOWED_HEADERS, ...extra.filter((name) => !known.has(name.toLowerCase()))];
  res.writeHead(204, {
    ...corsHeaders(req),
    "access-control-allow-methods": METHODS,
    "access-control-allow-headers": headers.join(", "),
    "access-control-max-age": "600",
    vary: "Origin, Access-Control-Request-Headers",
    "content-length": 0,
  });
  res.end();
}
