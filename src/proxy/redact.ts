// Scrubs the server's credentials out of everything the proxy sends back, whatever their length, in strings, JSON keys and values.

const REDACTED = "[redacted]";
// As in the client's logger: a JWT's header is base64url JSON, so it starts with `eyJ`; anything after `Bearer ` is a token.
const JWT = /eyJ[\w-]*\.[\w-]+\.[\w-]+/g;
const BEARER = /(Bearer\s+)[^\s"',;]+/gi;
/** Signed tokens kept for redaction: a JWT lives 30 minutes, so a few cover every token still in use. */
const MAX_TOKENS = 8;

export interface Redactor {
  /** Adds a token (a freshly signed JWT) to what is redacted. */
  remember(secret: string): void;
  /** `text` with every known secret, bearer token and JWT-shaped token replaced by `[redacted]`. */
  text(text: string): string;
  /** A copy of a parsed JSON value with every string (keys too) redacted. */
  json(value: unknown): unknown;
}

/**
 * A redactor for the server's credentials. Unlike the client's log redaction, secrets of any length are removed: a
 * garbled answer is better than a key in a browser. Each secret is also removed in its URL-encoded form.
 */
export function createRedactor(credentials: readonly string[]): Redactor {
  const fixed = credentials.filter((s) => s !== "");
  const tokens: string[] = [];
  let known: string[] = [];
  const refresh = () => {
    const all = new Set<string>();
    for (const secret of [...fixed, ...tokens]) {
      all.add(secret);
      all.add(encodeURIComponent(secret));
    }
    // Longest first, so a secret that contains another is removed whole.
    known = [...all].sort((a, b) => b.length - a.length);
  };
  refresh();
  const text = (input: string): string => {
    let out = input;
    for (const secret of known) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out.replace(BEARER, `$1${REDACTED}`).replace(JWT, REDACTED);
  };
  const json = (value: unknown): unknown => {
    if (typeof value === "string") return text(value);
    if (Array.isArray(value)) return value.map(json);
    if (value === null || typeof value !== "object") return value;
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[text(key)] = json(inner);
    return out;
  };
  return {
    remember(secret) {
      if (secret === "" || tokens.includes(secret)) return;
      tokens.push(secret);
      if (tokens.length > MAX_TOKENS) tokens.shift();
      refresh();
    },
    text,
    json,
  };
}
