// Levelled logging through the user's logger, with every line scrubbed of keys, bearer tokens and JWTs.
import { type Logger, type LogLevel, RANK } from "../options.js";

export type { Logger, LogLevel } from "../options.js";

/** The SDK's internal log: level-filtered and redacting. */
export interface Log extends Logger {
  readonly level: LogLevel;
  /** Whether a line at `level` would be written; lets hot paths skip building messages. */
  enabled(level: Exclude<LogLevel, "off">): boolean;
  /** `text` with every secret, bearer token and JWT-shaped token replaced by `[redacted]`. */
  redact(text: string): string;
}

const REDACTED = "[redacted]";
// A JWT's header is base64url JSON, so it starts with `eyJ` (`{"`); requiring that spares hostnames like api.example.com.
const JWT = /eyJ[\w-]*\.[\w-]+\.[\w-]+/g;
const BEARER = /(Bearer\s+)[^\s"',;]+/gi;

/**
 * A log writing to `logger` at `level` and above. Every message and string argument is redacted: the
 * registered `secrets`, anything after `Bearer `, and JWT-shaped tokens. Non-string arguments are
 * stringified first so no object can smuggle a key out. A throwing logger never breaks a request.
 */
export function createLog(logger: Logger, level: LogLevel, secrets: readonly string[]): Log {
  // Longest first, so a secret that contains another is removed whole. Every configured credential counts, however
  // short: a short key is still the key.
  const known = [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
  const redact = (text: string): string => {
    let out = text;
    for (const secret of known) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out.replace(BEARER, `$1${REDACTED}`).replace(JWT, REDACTED);
  };
  const write =
    (at: Exclude<LogLevel, "off">) =>
    (message: string, ...rest: unknown[]): void => {
      if (RANK[at] < RANK[level]) return;
      try {
        logger[at](redact(message), ...rest.map((value) => scrub(value, redact)));
      } catch {
        // Logging is best effort.
      }
    };
  return {
    level,
    enabled: (at) => RANK[at] >= RANK[level],
    redact,
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
  };
}

function scrub(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === "string") return redact(value);
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Error) return redact(`${value.name}: ${value.message}`);
  try {
    return redact(JSON.stringify(value));
  } catch {
    return REDACTED;
  }
}
