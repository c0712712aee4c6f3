// What leaves the process: one redaction (secrets in the forms echoes take, bearer tokens, JWTs) and the levelled log
// that applies it.
import { type Logger, type LogLevel, RANK } from "./options.js";

export type { Logger, LogLevel } from "./options.js";

/** What a secret is replaced with. */
export const REDACTED = "[redacted]";

/**
 * A run of this many of a secret's characters, in any case, counts as the secret: it catches a key without its
 * prefix, re-cased, cut or partly masked. A secret shorter than this is matched only as spelled.
 */
const RUN = 8;
/** How many times text is URL-decoded, for a secret encoded more than once on its way (`%2573` → `%73` → `s`). */
const DECODE_PASSES = 3;
/** Signed tokens remembered by default: a JWT lives 30 minutes, so a few cover every token still in use. */
const REMEMBERED = 8;

// What normalising undoes: `%XX`, and invisible characters that can split a secret (soft hyphen, zero-width space,
// non-joiner, joiner, word joiner, BOM).
const NEEDS_NORMALISING = /[%\u00AD\u200B-\u200D\u2060\uFEFF]/;
// A JWT's header is base64url JSON, so it starts with `eyJ` (`{"`): that spares hostnames like api.example.com.
const JWT = /eyJ[\w-]*\.[\w-]+\.[\w-]+/g;
const BEARER = /(Bearer\s+)[^\s"',;]+/gi;

// A run of digits alone is not taken as a key's: eight digits of a key would be found in task ids and timestamps.
const DIGITS = /^[0-9]+$/;

/** Which form a match was found in: a secret as spelled, a run of the secret's own characters, or of its base64. */
const EXACT = 0;
const PLAIN = 1;
const BASE64 = 2;

export interface Redactor {
  /**
   * `text` with every configured or remembered secret replaced by `[redacted]`, and anything after `Bearer ` and
   * every JWT-shaped token too. A secret of 8 characters or more is found as any run of 8 or more of its characters
   * (any case), also URL-encoded (fully or partly, up to three times over), split by zero-width characters, or in
   * base64 (standard or URL-safe, padded or not, alone or inside a longer encoded text such as `user:key`).
   * A shorter secret is found as spelled, also URL-encoded or split. A run of digits alone does not count (task ids
   * and timestamps are digits), but a secret is always found as spelled. Text with none of these is returned as is.
   */
  text(text: string): string;
  /** A copy of a parsed JSON value with every string (keys too) redacted by {@link Redactor.text}. */
  json(value: unknown): unknown;
  /** Adds a secret learned later (a freshly signed JWT); the oldest of those is forgotten past `maxRemembered`. */
  remember(secret: string): void;
}

export interface RedactorOptions {
  /** How many secrets added by `remember` are kept, newest first. @default 8 */
  maxRemembered?: number;
}

/** A redactor for `secrets` (empty strings are ignored); pure, with no I/O. */
export function createRedactor(secrets: readonly string[], options: RedactorOptions = {}): Redactor {
  const configured = secrets.filter((secret) => typeof secret === "string" && secret !== "");
  const maxRemembered = options.maxRemembered ?? REMEMBERED;
  const remembered: string[] = [];
  let patterns = compile(configured);
  const text = (input: string): string => redactText(input, patterns);
  const json = (value: unknown): unknown => {
    if (typeof value === "string") return text(value);
    if (Array.isArray(value)) return value.map(json);
    if (value === null || typeof value !== "object") return value;
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[text(key)] = json(inner);
    return out;
  };
  return {
    text,
    json,
    remember(secret) {
      if (typeof secret !== "string" || secret === "" || remembered.includes(secret)) return;
      remembered.push(secret);
      if (remembered.length > maxRemembered) remembered.shift();
      patterns = compile([...configured, ...remembered]);
    },
  };
}

interface Patterns {
  /** Every secret, longest first: matched as spelled (the only match for one shorter than RUN). */
  exact: string[];
  /** Every RUN-character run (case-folded) of the longer secrets and of their base64 forms, by rolling hash. */
  runs: Map<number, Array<{ run: string; kind: number }>>;
  /** A bit per 16-bit digest of the runs' hashes: most windows that match no run stop at this one array read. */
  digests: Uint32Array;
  /** Whether a secret holds what normalising changes (`%XX`, an invisible unit), so the original is searched too. */
  special: boolean;
  /** Which folded ASCII units occur in some run: a window holding any other cannot match (others go by hash). */
  alphabet: Uint8Array;
}

function compile(secrets: readonly string[]): Patterns {
  const unique = [...new Set(secrets)];
  const kinds = new Map<string, number>();
  const add = (form: string, kind: number) => {
    const folded = fold(form);
    for (let i = 0; i + RUN <= folded.length; i++) {
      const run = folded.slice(i, i + RUN);
      if (!DIGITS.test(run)) kinds.set(run, (kinds.get(run) ?? 0) | kind);
    }
  };
  for (const secret of unique) {
    if (secret.length < RUN) continue;
    add(secret, PLAIN);
    for (const encoded of base64Cores(secret)) add(encoded, BASE64);
  }
  const runs = new Map<number, Array<{ run: string; kind: number }>>();
  const digests = new Uint32Array(0x10000 / 32);
  const alphabet = new Uint8Array(128);
  for (const [run, kind] of kinds) {
    const hash = hashRun(run, 0);
    runs.set(hash, [...(runs.get(hash) ?? []), { run, kind }]);
    const digest = digestOf(hash);
    digests[digest >>> 5] = (digests[digest >>> 5] ?? 0) | (1 << (digest & 31));
    for (let i = 0; i < run.length; i++) if (run.charCodeAt(i) < 128) alphabet[run.charCodeAt(i)] = 1;
  }
  const exact = [...unique].sort((a, b) => b.length - a.length);
  const special = unique.some((secret) => NEEDS_NORMALISING.test(secret));
  return { exact, runs, digests, alphabet, special };
}

/**
 * The base64 characters that depend on the secret's bytes alone, for each of the three byte alignments the secret can
 * have inside a longer encoded text (`Bearer key`, `user:key`, JSON), in the standard and the URL-safe alphabet.
 * Any base64 of a text containing the secret contains one of these.
 */
function base64Cores(secret: string): string[] {
  const bytes = new TextEncoder().encode(secret);
  const cores: string[] = [];
  for (let align = 0; align < 3; align++) {
    let binary = "\0".repeat(align);
    for (const byte of bytes) binary += String.fromCharCode(byte);
    const encoded = btoa(binary);
    // Character c holds bits [6c, 6c + 6); keep those inside the secret's bits [8 * align, 8 * (align + length)).
    const core = encoded.slice(Math.ceil((8 * align) / 6), Math.floor((8 * (align + bytes.length)) / 6));
    cores.push(core, core.replaceAll("+", "-").replaceAll("/", "_"));
  }
  return cores;
}

/** Lower-cases without moving any unit, so offsets in the folded text are offsets in the original. */
function fold(text: string): string {
  const lower = text.toLowerCase();
  // Only a few characters (İ) lengthen when lower-cased; then fold ASCII alone, which keeps the length.
  return lower.length === text.length ? lower : text.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

/** A polynomial hash of RUN folded units; HASH_OUT removes the oldest unit when the window slides on. */
const HASH_BASE = 0x01000193;
const HASH_OUT = Array.from({ length: RUN - 1 }).reduce<number>((power) => Math.imul(power, HASH_BASE), 1);
const digestOf = (hash: number): number => (hash ^ (hash >>> 16)) & 0xffff;
function hashRun(text: string, from: number): number {
  let hash = 0;
  for (let k = 0; k < RUN; k++) hash = (Math.imul(hash, HASH_BASE) + text.charCodeAt(from + k)) | 0;
  return hash;
}

/** The text a secret is searched in, and where each of its units came from in the original text. */
interface View {
  text: string;
  /** Original offsets of each unit's first and past-last unit; absent when the view is the original. */
  start?: number[];
  end?: number[];
}

/** `text` URL-decoded and without invisible characters, mapped back to the original offsets. */
function normalise(text: string): View {
  let view: View = { text };
  for (let pass = 0; pass < DECODE_PASSES && NEEDS_NORMALISING.test(view.text); pass++) {
    const next = normalisePass(view.text);
    if (next.text === view.text) break;
    view = compose(view, next);
  }
  return view;
}

function normalisePass(text: string): Required<View> {
  const start: number[] = [];
  const end: number[] = [];
  let out = "";
  let copied = 0;
  for (let i = 0; i < text.length; ) {
    const code = text.charCodeAt(i);
    const decoded = code === 37 ? decodePercent(text, i) : isInvisible(code) ? { chars: "", width: 1 } : undefined;
    if (decoded === undefined) {
      start.push(i);
      end.push(++i);
      continue;
    }
    for (let k = 0; k < decoded.chars.length; k++) {
      start.push(i);
      end.push(i + decoded.width);
    }
    out += text.slice(copied, i) + decoded.chars;
    i += decoded.width;
    copied = i;
  }
  out += text.slice(copied);
  return { text: out, start, end };
}

// Invisible characters that can split a secret: soft hyphen, zero-width space, non-joiner, joiner, word joiner, BOM.
function isInvisible(code: number): boolean {
  return code === 0xad || (code >= 0x200b && code <= 0x200d) || code === 0x2060 || code === 0xfeff;
}

/** The character a `%XX` (or a UTF-8 sequence of them) at `at` stands for, and how many units it spans. */
function decodePercent(text: string, at: number): { chars: string; width: number } | undefined {
  const lead = hexAt(text, at + 1);
  if (lead < 0) return undefined;
  if (lead < 0x80) return { chars: String.fromCharCode(lead), width: 3 };
  const count = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
  if (count === 0) return undefined;
  try {
    return { chars: decodeURIComponent(text.slice(at, at + 3 * count)), width: 3 * count };
  } catch {
    return undefined;
  }
}

/** The byte written as two hex digits at `at`, or -1. */
function hexAt(text: string, at: number): number {
  const high = hexDigit(text.charCodeAt(at));
  const low = hexDigit(text.charCodeAt(at + 1));
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  const lower = code | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** `inner`'s offsets (into `outer.text`) carried through to the original text. */
function compose(outer: View, inner: Required<View>): View {
  const { start, end } = outer;
  if (start === undefined || end === undefined) return inner;
  return {
    text: inner.text,
    start: inner.start.map((offset) => start[offset] ?? 0),
    end: inner.end.map((offset) => end[offset - 1] ?? 0),
  };
}

/** A span of the original text to replace, and the form its secret was found in (decides how far it extends). */
type Span = [start: number, end: number, kind: number];

function redactText(text: string, patterns: Patterns): string {
  const spans: Span[] = [];
  if (patterns.exact.length > 0) {
    const view = NEEDS_NORMALISING.test(text) ? normalise(text) : undefined;
    // The normalised text holds every secret the original does, unless a secret itself has a `%XX` or invisible unit.
    if (view?.start === undefined || patterns.special) findSecrets(text, patterns, spans);
    if (view?.start !== undefined) findSecrets(view.text, patterns, spans, view);
  }
  findTokens(text, spans);
  return spans.length === 0 ? text : replaceSpans(text, spans);
}

/**
 * Adds to `spans` what follows `Bearer ` and every JWT-shaped token, found in the same text as the secrets so that
 * a JWT holding a secret (an access key in its payload) is replaced whole, not around the secret.
 */
function findTokens(text: string, spans: Span[]): void {
  for (const match of text.matchAll(BEARER)) {
    const token = match.index + (match[1] ?? "").length;
    spans.push([token, match.index + match[0].length, EXACT]);
  }
  for (const match of text.matchAll(JWT)) spans.push([match.index, match.index + match[0].length, EXACT]);
}

/** Adds to `spans` (original offsets) every secret and run found in `searched`, a view of the original. */
function findSecrets(searched: string, patterns: Patterns, spans: Span[], view?: View): void {
  const push = (from: number, to: number, kind: number) => {
    spans.push(view?.start && view.end ? [view.start[from] ?? 0, view.end[to - 1] ?? 0, kind] : [from, to, kind]);
  };
  for (const secret of patterns.exact) {
    for (let at = searched.indexOf(secret); at >= 0; at = searched.indexOf(secret, at + secret.length)) {
      push(at, at + secret.length, EXACT);
    }
  }
  if (patterns.runs.size > 0) findRuns(searched, patterns, push);
}

/** Calls `found` for each stretch of `text` made of overlapping runs of a secret, with the forms they matched. */
function findRuns(text: string, patterns: Patterns, found: (from: number, to: number, kind: number) => void): void {
  const folded = fold(text);
  const { alphabet, digests, runs } = patterns;
  let open: Span | undefined;
  let hash = 0;
  let filled = 0;
  for (let i = 0; i < folded.length; i++) {
    const code = folded.charCodeAt(i);
    // A unit that is in no secret ends every window holding it: start afresh after it.
    if (code < 128 && alphabet[code] === 0) {
      hash = 0;
      filled = 0;
      continue;
    }
    if (filled === RUN) hash = (hash - Math.imul(folded.charCodeAt(i - RUN), HASH_OUT)) | 0;
    else filled++;
    hash = (Math.imul(hash, HASH_BASE) + code) | 0;
    if (filled < RUN) continue;
    const digest = digestOf(hash);
    if (((digests[digest >>> 5] ?? 0) & (1 << (digest & 31))) === 0) continue;
    const from = i + 1 - RUN;
    const kind = kindAt(folded, from, runs.get(hash));
    if (kind === undefined) continue;
    if (open !== undefined && from <= open[1]) {
      open[1] = i + 1;
      open[2] |= kind;
    } else {
      if (open !== undefined) found(...open);
      open = [from, i + 1, kind];
    }
  }
  if (open !== undefined) found(...open);
}

/** The form of the run among `candidates` (same hash) that `folded` holds at `from`, if any. */
function kindAt(
  folded: string,
  from: number,
  candidates: Array<{ run: string; kind: number }> = [],
): number | undefined {
  for (const { run, kind } of candidates) {
    let k = 0;
    while (k < RUN && run.charCodeAt(k) === folded.charCodeAt(from + k)) k++;
    if (k === RUN) return kind;
  }
  return undefined;
}

const WORD = /[A-Za-z0-9_-]/;
const BASE64_CHAR = /[A-Za-z0-9+_-]/;
const MASK = /^(?:\.{2,}|…+|\*{2,})/;
const MASK_BEFORE = /(?:\.{2,}|…+|\*{2,})$/;

/**
 * Replaces each span, a run widened to the whole token it sits in, so the output reads naturally and no fragment of the
 * secret is left beside it: a plain match takes the rest of its word and a mask next to it (`Ab3dEf6h...Jk6lMn`);
 * a base64 match takes its neighbouring base64 characters (the bits shared with the text around it) and padding.
 */
function replaceSpans(text: string, spans: Span[]): string {
  const widened = spans.map((span) => widen(text, span)).sort((a, b) => a[0] - b[0]);
  let out = "";
  let last = 0;
  let open: [number, number] | undefined;
  for (const [from, to] of widened) {
    if (open !== undefined && from <= open[1]) {
      open[1] = Math.max(open[1], to);
      continue;
    }
    if (open !== undefined) {
      out += text.slice(last, open[0]) + REDACTED;
      last = open[1];
    }
    open = [from, to];
  }
  if (open !== undefined) out += text.slice(last, open[0]) + REDACTED + text.slice(open[1]);
  return out;
}

function widen(text: string, [from, to, kind]: Span): [number, number] {
  // A secret as spelled is all that is known to be secret: its neighbours may be ordinary words.
  if (kind === EXACT) return [from, to];
  const token = kind & BASE64 && !(kind & PLAIN) ? BASE64_CHAR : WORD;
  let start = from;
  let end = to;
  while (start > 0 && token.test(text[start - 1] as string)) start--;
  while (end < text.length && token.test(text[end] as string)) end++;
  if (token === BASE64_CHAR) {
    const padded = end + 2;
    while (end < padded && text[end] === "=") end++;
    return [start, end];
  }
  const maskAfter = MASK.exec(text.slice(end, end + 64));
  if (maskAfter) {
    end += maskAfter[0].length;
    while (end < text.length && WORD.test(text[end] as string)) end++;
  }
  const maskBefore = MASK_BEFORE.exec(text.slice(Math.max(0, start - 64), start));
  if (maskBefore) {
    start -= maskBefore[0].length;
    while (start > 0 && WORD.test(text[start - 1] as string)) start--;
  }
  return [start, end];
}

/** The SDK's internal log: level-filtered and redacting. */
export interface Log extends Logger {
  readonly level: LogLevel;
  /** Whether a line at `level` would be written; lets hot paths skip building messages. */
  enabled(level: Exclude<LogLevel, "off">): boolean;
  /** The log's redaction (see {@link RedactingLog.redact}), once it is loaded: the request code loads it on demand. */
  redaction(): Promise<(text: string) => string>;
}

/** A log with its redaction at hand. */
export interface RedactingLog extends Log {
  /** `text` with every secret, bearer token and JWT-shaped token replaced by `[redacted]`. */
  redact(text: string): string;
}

/**
 * A log writing to `logger` at `level` and above. Every message and string argument is redacted (see `createRedactor`:
 * the registered `secrets` in the forms echoes take, anything after `Bearer `, JWT-shaped tokens). Non-string arguments
 * are stringified first so no object can smuggle a key out. A throwing logger never breaks a request.
 */
export function createLog(logger: Logger, level: LogLevel, secrets: readonly string[]): RedactingLog {
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
    redaction: async () => redact,
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
