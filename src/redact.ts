// One redaction for all text leaving the process: configured secrets in the forms echoes take, bearer tokens, JWTs.

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

// Invisible characters that can split a secret: soft hyphen, zero-width space, non-joiner, joiner, word joiner, BOM.
const INVISIBLE = /[\u00AD\u200B-\u200D\u2060\uFEFF]/;
const NEEDS_NORMALISING = /[%\u00AD\u200B-\u200D\u2060\uFEFF]/;
// A JWT's header is base64url JSON, so it starts with `eyJ` (`{"`): that spares hostnames like api.example.com.
const JWT = /eyJ[\w-]*\.[\w-]+\.[\w-]+/g;
const BEARER = /(Bearer\s+)[^\s"',;]+/gi;

/** Which form a match was found in: a short secret as spelled, the secret's own characters, or its base64. */
const EXACT = 0;
const PLAIN = 1;
const BASE64 = 2;

export interface Redactor {
  /**
   * `text` with every configured or remembered secret replaced by `[redacted]`, and anything after `Bearer ` and
   * every JWT-shaped token too. A secret of 8 characters or more is found as any run of 8 or more of its characters
   * (any case), also URL-encoded (fully or partly, up to three times over), split by zero-width characters, or in
   * base64 (standard or URL-safe, padded or not, alone or inside a longer encoded text such as `user:key`).
   * A shorter secret is found as spelled, also URL-encoded or split. Text with none of these is returned as is.
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
  /** Secrets shorter than RUN, longest first: matched as spelled. */
  short: string[];
  /** Every RUN-character run (case-folded) of the longer secrets and of their base64 forms, with its form. */
  runs: Map<string, number>;
  /** The UTF-16 units that occur in some run: a window ending in any other unit cannot match. */
  alphabet: Set<number>;
}

function compile(secrets: readonly string[]): Patterns {
  const unique = [...new Set(secrets)];
  const runs = new Map<string, number>();
  const add = (form: string, kind: number) => {
    const folded = fold(form);
    for (let i = 0; i + RUN <= folded.length; i++) {
      const run = folded.slice(i, i + RUN);
      runs.set(run, (runs.get(run) ?? 0) | kind);
    }
  };
  for (const secret of unique) {
    if (secret.length < RUN) continue;
    add(secret, PLAIN);
    for (const encoded of base64Cores(secret)) add(encoded, BASE64);
  }
  const alphabet = new Set<number>();
  for (const run of runs.keys()) for (let i = 0; i < run.length; i++) alphabet.add(run.charCodeAt(i));
  const short = unique.filter((secret) => secret.length < RUN).sort((a, b) => b.length - a.length);
  return { short, runs, alphabet };
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

/** Lower-cases without moving any character, so positions in the folded text are positions in the original. */
function fold(text: string): string {
  const lower = text.toLowerCase();
  // Only a few characters (İ) lengthen when lower-cased; then fold ASCII alone, which keeps the length.
  return lower.length === text.length ? lower : text.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

/** The text a secret is searched in, and where each of its characters came from in the original text. */
interface View {
  text: string;
  /** Original offsets of each character's first and past-last unit; absent when the view is the original. */
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
  let out = "";
  const start: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < text.length; ) {
    const unit = text[i] as string;
    if (INVISIBLE.test(unit)) {
      i++;
      continue;
    }
    const decoded = unit === "%" ? decodePercent(text, i) : undefined;
    const chars = decoded?.chars ?? unit;
    const width = decoded?.width ?? 1;
    for (let k = 0; k < chars.length; k++) {
      start.push(i);
      end.push(i + width);
    }
    out += chars;
    i += width;
  }
  return { text: out, start, end };
}

/** The character a `%XX` (or a UTF-8 sequence of them) at `at` stands for, and how many units it spans. */
function decodePercent(text: string, at: number): { chars: string; width: number } | undefined {
  const lead = hexByte(text, at);
  if (lead === undefined) return undefined;
  const count = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
  if (count === 0) return undefined;
  const width = 3 * count;
  try {
    return { chars: decodeURIComponent(text.slice(at, at + width)), width };
  } catch {
    return undefined;
  }
}

function hexByte(text: string, at: number): number | undefined {
  if (text[at] !== "%") return undefined;
  const hex = text.slice(at + 1, at + 3);
  return /^[0-9A-Fa-f]{2}$/.test(hex) ? Number.parseInt(hex, 16) : undefined;
}

/** `inner`'s offsets (into `outer.text`) carried through to the original text. */
function compose(outer: View, inner: Required<View>): View {
  if (outer.start === undefined || outer.end === undefined) return inner;
  const start = inner.start.map((offset) => outer.start?.[offset] ?? 0);
  const end = inner.end.map((offset) => outer.end?.[offset - 1] ?? 0);
  return { text: inner.text, start, end };
}

/** A span of the original text to replace, and the form its secret was found in (decides how far it extends). */
type Span = [start: number, end: number, kind: number];

function redactText(text: string, patterns: Patterns): string {
  const spans: Span[] = [];
  if (patterns.runs.size > 0 || patterns.short.length > 0) {
    findSecrets(text, patterns, spans);
    if (NEEDS_NORMALISING.test(text)) {
      const view = normalise(text);
      if (view.start !== undefined) findSecrets(view.text, patterns, spans, view);
    }
  }
  const out = spans.length === 0 ? text : replaceSpans(text, spans);
  return out.replace(BEARER, `$1${REDACTED}`).replace(JWT, REDACTED);
}

/** Adds to `spans` (original offsets) every run and short secret found in `searched`, a view of the original. */
function findSecrets(searched: string, patterns: Patterns, spans: Span[], view?: View): void {
  const push = (from: number, to: number, kind: number) => {
    spans.push(view?.start && view.end ? [view.start[from] ?? 0, view.end[to - 1] ?? 0, kind] : [from, to, kind]);
  };
  for (const secret of patterns.short) {
    for (let at = searched.indexOf(secret); at >= 0; at = searched.indexOf(secret, at + secret.length)) {
      push(at, at + secret.length, EXACT);
    }
  }
  if (patterns.runs.size === 0 || searched.length < RUN) return;
  const folded = fold(searched);
  let open: Span | undefined;
  for (let i = 0; i + RUN <= folded.length; ) {
    // A window whose last unit is in no secret cannot match, nor can any other window holding that unit.
    if (!patterns.alphabet.has(folded.charCodeAt(i + RUN - 1))) {
      i += RUN;
      continue;
    }
    const kind = patterns.runs.get(folded.slice(i, i + RUN));
    if (kind !== undefined) {
      if (open !== undefined && i <= open[1]) {
        open[1] = i + RUN;
        open[2] |= kind;
      } else {
        if (open !== undefined) push(...open);
        open = [i, i + RUN, kind];
      }
    }
    i++;
  }
  if (open !== undefined) push(...open);
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
  // A short secret is the only thing known to be secret: its neighbours may be ordinary words.
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
