// CORS for the mock's API and media: any origin, Authorization named explicitly (a `*` in Allow-Headers misses it).
import type { Answer } from "./answer.js";

/** Request headers a page may send; `Authorization` must be listed by name (Fetch standard), the rest for clarity. */
const ALLOWED_HEADERS = ["Authorization", "Content-Type", "Prefer", "Range", "Idempotency-Key", "X-Request-Id"];
/** Response headers a page may read: the Kling and Prism diagnostics, and what a media player or downloader needs. */
const EXPOSED_HEADERS = ["Content-Length", "Content-Range", "Accept-Ranges", "ETag", "Retry-After", "sl-violations"];
const METHODS = "GET, HEAD, POST, OPTIONS";
/** A header list as a browser sends it in Access-Control-Request-Headers: tokens and commas only. */
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~\-, ]{0,1000}$/;

/** The CORS headers of an actual (non-preflight) answer. The origin is echoed, so credentialed requests work too. */
export function corsHeaders(origin: string | null): Record<string, string> {
  if (origin === null || origin === "")
    return { "access-control-allow-origin": "*", "access-control-expose-headers": EXPOSED_HEADERS.join(", ") };
  return {
    "access-control-allow-origin": origin,
    "access-control-allow-credentials": "true",
    "access-control-expose-headers": EXPOSED_HEADERS.join(", "),
    vary: "Origin",
  };
}

/** Whether this is a CORS preflight (an OPTIONS asking about another method), which the mock answers itself. */
export function isPreflight(method: string, headers: Headers): boolean {
  return method === "OPTIONS" && headers.has("access-control-request-method");
}

/** Answers a preflight: 204, any origin, the methods above, the listed headers plus whatever the page asks for. */
export function answerPreflight(headers: Headers): Answer {
  const asked = headers.get("access-control-request-headers");
  const extra =
    asked !== null && HEADER_LIST.test(asked)
      ? asked
          .split(",")
          .map((name) => name.trim())
          .filter(Boolean)
      : [];
  const known = new Set(ALLOWED_HEADERS.map((name) => name.toLowerCase()));
  const allowed = [...ALLOWED_HEADERS, ...extra.filter((name) => !known.has(name.toLowerCase()))];
  return {
    status: 204,
    headers: {
      ...corsHeaders(headers.get("origin")),
      "access-control-allow-methods": METHODS,
      "access-control-allow-headers": allowed.join(", "),
      "access-control-max-age": "600",
      vary: "Origin, Access-Control-Request-Headers",
    },
    body: new Uint8Array(0),
  };
}
