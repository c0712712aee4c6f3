// What the proxy checks on a request before anything goes upstream: the operation, the Origin, the media type, the page
// query.
import { KlingValidationError } from "../errors.js";
import { checkPageQuery } from "../request/input.js";

export type Operation = { kind: "create" } | { kind: "list" } | { kind: "get"; id: string };

/** The spec's operations, matched at the end of the path so the proxy can be mounted under any prefix. */
const ROUTE = /\/v1\/audio\/video-to-audio(?:\/([^/]+))?\/?$/;

/** The operation a request asks for, or `undefined` for anything outside the spec's three. */
export function operationOf(method: string, pathname: string): Operation | undefined {
  const match = ROUTE.exec(pathname);
  if (!match) return undefined;
  if (match[1] === undefined) {
    if (method === "POST") return { kind: "create" };
    return method === "GET" ? { kind: "list" } : undefined;
  }
  return method === "GET" ? { kind: "get", id: safeDecode(match[1]) } : undefined;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Whether the request may come from where it says. A present `Origin` must be the request URL's own origin or one of
 * `allowed` (`null`, sent by sandboxed frames and privacy modes, is foreign). Without `Origin` the request is not a
 * browser's cross-site call (browsers send `Origin` on every cross-origin request and on every POST), unless the
 * browser's `Sec-Fetch-Site` says `cross-site`.
 */
export function originAllowed(headers: Headers, requestOrigin: string, allowed: ReadonlySet<string>): boolean {
  const origin = headers.get("origin");
  if (origin === null) return headers.get("sec-fetch-site")?.toLowerCase() !== "cross-site";
  return origin === requestOrigin || allowed.has(origin);
}

/** `allowedOrigins` as a set of exact origins; each must be `scheme://host[:port]` (no wildcard, no path). */
export function checkAllowedOrigins(origins: readonly string[] | undefined): ReadonlySet<string> {
  if (origins === undefined) return new Set();
  if (!Array.isArray(origins))
    throw new KlingValidationError(
      "allowedOrigins",
      'allowedOrigins must be an array of origins such as "https://app.example".',
    );
  const out = new Set<string>();
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = typeof origin === "string" ? new URL(origin) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== String(origin).replace(/\/$/, "")) {
      throw new KlingValidationError(
        "allowedOrigins",
        `allowedOrigins takes exact origins such as "https://app.example" (scheme, host and port; no path, no ` +
          `wildcard), not ${quoted(JSON.stringify(origin) ?? String(origin))}.`,
      );
    }
    out.add(parsed.origin);
  }
  return out;
}

/**
 * Whether a Content-Type is JSON (`application/json`, any parameters): what browsers cannot send cross-site without a
 * preflight.
 */
export function isJsonContentType(value: string | null): boolean {
  if (value === null) return false;
  return value.split(";")[0]!.trim().toLowerCase() === "application/json";
}

/**
 * Decimal digits only: `0x10`, `1e1`, `+5`, ` 5` and `5.0` all read as numbers in JavaScript, and none is forwarded.
 */
const DECIMAL = /^[0-9]{1,4}$/;

/** The list query as checked integers; anything else (unknown or repeated names, non-decimal values) throws. */
export function pageQueryOf(params: URLSearchParams): { pageNum?: number; pageSize?: number } {
  const query: { pageNum?: number; pageSize?: number } = {};
  for (const [name, value] of params) {
    if (name !== "pageNum" && name !== "pageSize")
      throw new KlingValidationError(
        "query",
        `Unknown query parameter "${quoted(name, 40)}"; the list takes pageNum and pageSize.`,
      );
    if (query[name] !== undefined) throw new KlingValidationError(name, `${name} is given more than once.`);
    if (!DECIMAL.test(value))
      throw new KlingValidationError(
        name,
        `${name} must be a whole number in decimal digits, not "${quoted(value, 40)}".`,
      );
    query[name] = Number(value);
  }
  checkPageQuery(query);
  return query;
}

/** Shortens text quoted from a caller, so an error message never carries a flood. */
export function quoted(text: string, max = 100): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
