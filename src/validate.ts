// Option checks, where options are given (so a bad value fails at once and names itself): base URLs, durations, counts.
import { KlingValidationError } from "./errors.js";

/** A value for an error message: never throws (BigInt, cycles), never floods the message. */
export function shown(value: unknown): string {
  let text: string;
  try {
    // NaN and ±Infinity as themselves: JSON would print them as null, which reads like "nothing was given".
    text =
      typeof value === "bigint"
        ? `${value}n`
        : typeof value === "number" && !Number.isFinite(value)
          ? String(value)
          : (JSON.stringify(value) ?? String(value));
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

/**
 * The spec's `HttpUrl`: `format: uri` (RFC 3986 characters only, so no spaces, backslashes, raw non-ASCII or
 * stray `%`) with a lower-case `http://` or `https://`; `new URL` then checks that it really parses.
 */
const HTTP_URL = /^https?:\/\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#[\]]|%[0-9A-Fa-f]{2})+$/;

/** The one URL rule (base URLs, `video_url`, `callback_url`, the proxy's `callbackUrl`): an absolute http(s) URL. */
export function isHttpUrl(value: unknown): value is string {
  if (typeof value !== "string" || !HTTP_URL.test(value)) return false;
  try {
    // A special scheme always has a host once parsed ("http:///x" parses as "http://x/"), so parsing is the test.
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * An absolute http(s) URL with a host, e.g. `https://api.deerapi.com/kling`, returned without trailing slashes. Where
 * the runtime has a `location` (a page or a worker), a path such as `/api/kling` (the app's own proxy) is taken too.
 */
export function checkBaseUrl(value: unknown, field = "baseUrl"): string {
  const hasLocation = typeof (globalThis as { location?: { href?: unknown } }).location?.href === "string";
  if (hasLocation && typeof value === "string" && /^\/(?!\/)\S*$/.test(value)) return value.replace(/\/+$/, "");
  if (!isHttpUrl(value)) {
    // A string with none of a URL's punctuation is more likely a key given here by mistake: described, not quoted.
    const given =
      typeof value === "string" && value !== "" && !/[:/.]/.test(value)
        ? `a ${value.length}-character string that is no URL`
        : shown(value);
    throw new KlingValidationError(
      field,
      `${field} must be an absolute http(s) URL such as "https://api.deerapi.com/kling", not ${given}.`,
    );
  }
  return (value as string).replace(/\/+$/, "");
}

/** A duration in ms that is given must be a positive finite number (NaN would never time out, 0 would spin). */
export function checkDuration(value: unknown, field: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new KlingValidationError(field, `${field} must be a positive number of milliseconds, not ${shown(value)}.`);
  }
}

/** A count that is given must be a whole number of at least `min`. */
export function checkCount(value: unknown, field: string, min: number): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new KlingValidationError(field, `${field} must be a whole number of at least ${min}, not ${shown(value)}.`);
  }
}

/** A function-valued option, when given, must be a function: otherwise the first call would fail far from the cause. */
export function checkFunction(value: unknown, field: string): void {
  if (value !== undefined && typeof value !== "function")
    throw new KlingValidationError(field, `${field} must be a function, not ${shown(value)}.`);
}

/** A logger, when given, has debug, info, warn and error functions (console fits). */
export function checkLogger(value: unknown, field = "logger"): void {
  if (value === undefined) return;
  const methods = ["debug", "info", "warn", "error"];
  if (
    typeof value !== "object" ||
    value === null ||
    !methods.every((name) => typeof (value as Record<string, unknown>)[name] === "function")
  ) {
    throw new KlingValidationError(
      field,
      `${field} must have debug, info, warn and error functions (console fits), not ${shown(value)}.`,
    );
  }
}
