// Levelled logging through the user's logger, with every line scrubbed of keys, bearer tokens and JWTs.
import { type Logger, type LogLevel, RANK } from "../options.js";
import { createRedactor, REDACTED } from "../redact.js";

export type { Logger, LogLevel } from "../options.js";

/** The SDK's internal log: level-filtered and redacting. */
export interface Log extends Logger {
  readonly level: LogLevel;
  /** Whether a line at `level` would be written; lets hot paths skip building messages. */
  enabled(level: Exclude<LogLevel, "off">): boolean;
  /** `text` with every secret, bearer token and JWT-shaped token replaced by `[redacted]`. */
  redact(text: string): string;
}

/**
 * A log writing to `logger` at `level` and above. Every message and string argument is redacted (see `createRedactor`:
 * the registered `secrets` in the forms echoes take, anything after `Bearer `, JWT-shaped tokens). Non-string arguments
 * are stringified first so no object can smuggle a key out. A throwing logger never breaks a request.
 */
export function createLog(logger: Logger, level: LogLevel, secrets: readonly string[]): Log {
  const redact = createRedactor(secrets).text;
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
