// Scrubs the server's credentials out of everything the proxy sends back, in strings, JSON keys and values, whatever their length.
import { createLog, type Logger } from "../request/log.js";

/** Signed tokens kept for redaction: a JWT lives 30 minutes, so a few cover every token still in use. */
const MAX_TOKENS = 8;
const SILENT: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export interface Redactor {
  /** Adds a token (a freshly signed JWT) to what is redacted. */
  remember(secret: string): void;
  /** `text` with every known secret, bearer token and JWT-shaped token replaced by `[redacted]`. */
  text(text: string): string;
  /** A copy of a parsed JSON value with every string (keys too) redacted. */
  json(value: unknown): unknown;
}

/**
 * A redactor for the server's credentials: the client's log redaction (every configured secret however short,
 * anything after `Bearer `, JWT-shaped tokens), applied also to each secret's URL-encoded form and to every token
 * the proxy signed.
 */
export function createRedactor(credentials: readonly string[]): Redactor {
  const fixed = credentials.filter((s) => s !== "");
  const tokens: string[] = [];
  let redact = (text: string) => text;
  const refresh = () => {
    const secrets = [...fixed, ...tokens].flatMap((secret) => [secret, encodeURIComponent(secret)]);
    redact = createLog(SILENT, "off", secrets).redact;
  };
  refresh();
  const json = (value: unknown): unknown => {
    if (typeof value === "string") return redact(value);
    if (Array.isArray(value)) return value.map(json);
    if (value === null || typeof value !== "object") return value;
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[redact(key)] = json(inner);
    return out;
  };
  return {
    remember(secret) {
      if (secret === "" || tokens.includes(secret)) return;
      tokens.push(secret);
      if (tokens.length > MAX_TOKENS) tokens.shift();
      refresh();
    },
    text: (text) => redact(text),
    json,
  };
}
