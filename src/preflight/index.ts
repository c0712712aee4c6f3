// `kling-video-to-audio/preflight`: checkVideo says, from the video's container header, whether Kling would take it.
import { VIDEO_LIMITS } from "../../generated/video-limits.js";
import { KlingValidationError } from "../errors.js";
import { checkDuration, shown } from "../validate.js";

/** What would make Kling refuse the video. */
export type VideoProblemRule = "format" | "size" | "duration" | "video";
/** What may make a gateway refuse it (`resolution`), or why it could not be checked from here (`unreachable`). */
export type VideoWarningRule = "resolution" | "unreachable";

export interface VideoProblem {
  rule: VideoProblemRule;
  /** A sentence: what was found and what Kling takes. */
  message: string;
  /** What Kling takes, e.g. `"3-20 s"`. */
  limit: string;
  /** What was found, e.g. `"25.3 s"`. */
  actual: string;
}

export interface VideoWarning {
  rule: VideoWarningRule;
  message: string;
  limit?: string;
  actual?: string;
}

/** What was read of the video; a field is absent when it could not be read. */
export interface VideoFacts {
  /** `mp4`, `mov`, `webm`, `mkv`, `mp3`, `wav`, `ogg`, `flac`, `aac`, `ts`, or `unknown`. */
  container?: string;
  durationSec?: number;
  /** Display size (after rotation), of the first video track. */
  width?: number;
  height?: number;
  /** By `Content-Range`/`Content-Length`, or the file's size. */
  sizeBytes?: number;
  hasVideo?: boolean;
}

export interface VideoCheck {
  /** `true`: nothing Kling refuses; `false`: see `problems`; `undefined`: not readable from here (see `warnings`). */
  ok: boolean | undefined;
  problems: VideoProblem[];
  warnings: VideoWarning[];
  facts: VideoFacts;
}

export interface CheckVideoOptions {
  /** Cancels the check: it then rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** The whole check, in ms; past it the result is a warning `unreachable`. @default 15000 */
  timeoutMs?: number | undefined;
  /** The fetch to read URLs with (a proxy, headers, a test double). @default globalThis.fetch */
  fetch?: typeof fetch | undefined;
}

/** The default of {@link CheckVideoOptions.timeoutMs}. */
export const DEFAULT_CHECK_TIMEOUT_MS = 15_000;

/** The one line that installs the parser the preflight needs. */
export const MEDIABUNNY_INSTALL = "npm i mediabunny@^1.61.0";
/** The message when the parser is not installed: what to install, nothing else. */
export const PREFLIGHT_NEEDS_MEDIABUNNY = `kling-video-to-audio/preflight needs mediabunny: ${MEDIABUNNY_INSTALL}`;

/**
 * Would Kling take this video? Reads the container header of an http(s) URL (Range requests, at most
 * {@link READ_BUDGET_BYTES} whatever the file's size) or, in Node, a local file, and checks it against Kling's limits
 * (`VIDEO_LIMITS`, from the spec). Never rejects for what it finds: an unreadable, hostile or hanging source is a
 * warning `unreachable` with `ok: undefined`. See docs/preflight.md.
 *
 * @throws KlingValidationError for a bad `source` or option; Error with `code` `"ERR_MEDIABUNNY_MISSING"` and
 *   {@link PREFLIGHT_NEEDS_MEDIABUNNY} as its message when mediabunny (an optional peer) is not installed; the
 *   signal's reason when `signal` aborts.
 */
export async function checkVideo(source: string, options: CheckVideoOptions = {}): Promise<VideoCheck> {
  checkOptions(source, options);
  const mediabunny = await loadMediabunny();
  options.signal?.throwIfAborted();
  const timeoutMs = options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const record: ReadRecord = { bytesRead: 0, head: new Uint8Array() };
  const facts: VideoFacts = {};
  const failure = await readFacts(mediabunny, source, facts, record, signal, options.fetch ?? fetch);
  if (options.signal?.aborted) throw options.signal.reason;
  return verdict(facts, failure, record, timeoutMs);
}

function checkOptions(source: unknown, options: CheckVideoOptions): void {
  if (typeof source !== "string" || source.trim() === "" || (!isHttpUrl(source) && /^[a-z][\w+.-]*:\/\//i.test(source)))
    throw new KlingValidationError("source", `source must be an http(s) URL or a file path, not ${shown(source)}.`);
  const hasFiles = typeof process !== "undefined" && typeof process.versions?.node === "string";
  if (!isHttpUrl(source) && !hasFiles)
    throw new KlingValidationError(
      "source",
      "source must be an http(s) URL here: files are read in Node, Bun and Deno.",
    );
  if (typeof options !== "object" || options === null)
    throw new KlingValidationError("options", `options must be an object, not ${shown(options)}.`);
  checkDuration(options.timeoutMs, "timeoutMs");
  if (options.fetch !== undefined && typeof options.fetch !== "function")
    throw new KlingValidationError("fetch", `fetch must be a function, not ${shown(options.fetch)}.`);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal))
    throw new KlingValidationError("signal", `signal must be an AbortSignal, not ${shown(options.signal)}.`);
}

function isHttpUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

type Mediabunny = typeof import("mediabunny");

async function loadMediabunny(): Promise<Mediabunny> {
  try {
    return await import("mediabunny");
  } catch (error) {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    const missing =
      (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") &&
      typeof message === "string" &&
      message.includes("mediabunny");
    if (!missing) throw error;
    throw Object.assign(new Error(PREFLIGHT_NEEDS_MEDIABUNNY), { code: "ERR_MEDIABUNNY_MISSING" });
  }
}

/** The problems and warnings for what was read (and why reading stopped, if it did). */
function verdict(facts: VideoFacts, failure: Failure | undefined, record: ReadRecord, timeoutMs: number): VideoCheck {
  const problems: VideoProblem[] = [];
  const warnings: VideoWarning[] = [];
  if (facts.sizeBytes !== undefined) sizeRule(facts.sizeBytes, problems);
  formatRule(facts.container, failure?.kind === "format" ? failure : undefined, record.head, problems);
  if (failure?.kind === "unreachable") {
    const why = failure.reason === "timeout" ? `not read within ${seconds(timeoutMs / 1000)}` : failure.message;
    warnings.push({ rule: "unreachable", message: `cannot read the video from here: ${why}` });
  }
  if (facts.hasVideo === false) {
    const message = "the file has no video track (audio only?); Kling needs a video track";
    problems.push({ rule: "video", message, limit: "a video track", actual: "none" });
  }
  if (facts.durationSec !== undefined) durationRule(facts.durationSec, problems);
  if (facts.width !== undefined && facts.height !== undefined) resolutionRule(facts.width, facts.height, warnings);
  const ok = problems.length > 0 ? false : failure ? undefined : true;
  return { ok, problems, warnings, facts };
}

function sizeRule(sizeBytes: number, problems: VideoProblem[]): void {
  const { maxBytes } = VIDEO_LIMITS;
  if (sizeBytes <= maxBytes) return;
  const limit = megabytes(maxBytes);
  // Just over the limit, the rounded figure would read as the limit itself: the bytes say it.
  const actual = megabytes(sizeBytes) === limit ? `${sizeBytes} bytes` : megabytes(sizeBytes);
  problems.push({ rule: "size", message: `the file is ${actual}; Kling takes at most ${limit}`, limit, actual });
}

/** A container Kling does not take, or one the parser could not read (`failure`): not MP4/MOV, or cut off. */
function formatRule(
  container: string | undefined,
  failure: { detail?: string } | undefined,
  head: Uint8Array,
  problems: VideoProblem[],
): void {
  const taken = VIDEO_LIMITS.containers as readonly string[];
  const limit = taken.map((c) => c.toUpperCase()).join(" or ");
  if (failure) {
    const actual = describeHead(head, container);
    const why = failure.detail ? ` (${failure.detail})` : "";
    problems.push({ rule: "format", message: `the file is ${actual}${why}; Kling takes ${limit}`, limit, actual });
  } else if (container !== undefined && !taken.includes(container)) {
    const actual = container.toUpperCase();
    problems.push({ rule: "format", message: `the video is ${actual}; Kling takes ${limit}`, limit, actual });
  }
}

function durationRule(durationSec: number, problems: VideoProblem[]): void {
  const { minDurationSec, maxDurationSec } = VIDEO_LIMITS;
  if (durationSec >= minDurationSec && durationSec <= maxDurationSec) return;
  const limit = `${minDurationSec}-${maxDurationSec} s`;
  const actual = seconds(durationSec);
  const message = `the video is ${actual}; Kling takes ${minDurationSec} to ${maxDurationSec} s`;
  problems.push({ rule: "duration", message, limit, actual });
}

function resolutionRule(width: number, height: number, warnings: VideoWarning[]): void {
  const sides = VIDEO_LIMITS.gatewayShortSides as readonly number[];
  if (sides.includes(Math.min(width, height))) return;
  const limit = sides.map((side) => `${side}p`).join(" or ");
  const actual = `${width}x${height}`;
  const message = `the video is ${actual}; some gateways (DeerAPI) take only ${limit}`;
  warnings.push({ rule: "resolution", message, limit, actual });
}

/** Seconds for a message: three decimals at most, so 20.033 s (a frame too long) never reads as the limit "20 s". */
function seconds(value: number): string {
  return `${Number(value.toFixed(3))} s`;
}

/** MB as the spec counts them (1 MB = 1,048,576 bytes), two decimals at most. */
function megabytes(bytes: number): string {
  return `${Number((bytes / 1024 / 1024).toFixed(2))} MB`;
}

// ---------------------------------------------------------------------------------------------
// Reading the facts with the parser
// ---------------------------------------------------------------------------------------------

/** Why reading stopped short: the file is no container Kling takes, or it cannot be read from here. */
type Failure =
  | { kind: "format"; detail?: string }
  | { kind: "unreachable"; reason: "timeout" }
  | { kind: "unreachable"; reason: "error"; message: string };

/** The parser's format names, as `facts.container`. */
const CONTAINERS: Readonly<Record<string, string>> = {
  MP4: "mp4",
  "QuickTime File Format": "mov",
  Matroska: "mkv",
  WebM: "webm",
  MP3: "mp3",
  WAVE: "wav",
  Ogg: "ogg",
  FLAC: "flac",
  ADTS: "aac",
  "MPEG Transport Stream": "ts",
};

/** What the parser may recognise; not HLS, whose playlist is no video file (and would send it fetching segments). */
function formatsOf(mb: Mediabunny) {
  return [mb.MP4, mb.QTFF, mb.MATROSKA, mb.WEBM, mb.WAVE, mb.OGG, mb.FLAC, mb.MP3, mb.ADTS, mb.MPEG_TS];
}

/** Fills `facts` as far as the source can be read; returns why it stopped, if it did. */
async function readFacts(
  mb: Mediabunny,
  source: string,
  facts: VideoFacts,
  record: ReadRecord,
  signal: AbortSignal,
  fetchFn: typeof fetch,
): Promise<Failure | undefined> {
  const isUrl = isHttpUrl(source);
  let input: InstanceType<Mediabunny["Input"]> | undefined;
  try {
    const fetchSource = () =>
      new mb.UrlSource(source, {
        fetchFn: boundedFetch(fetchFn, signal, record),
        getRetryDelay: () => null,
        maxCacheSize: READ_BUDGET_BYTES,
      });
    input = new mb.Input({ formats: formatsOf(mb), source: isUrl ? fetchSource() : new mb.FilePathSource(source) });
    if (!isUrl) facts.sizeBytes = (await untilAborted(input.source.getSizeOrNull(), signal)) ?? undefined;
    await untilAborted(readInto(mb, input, facts), signal);
    return undefined;
  } catch (error) {
    return failureOf(mb, error, signal);
  } finally {
    if (isUrl) facts.sizeBytes = record.sizeBytes;
    input?.dispose();
  }
}

async function readInto(mb: Mediabunny, input: InstanceType<Mediabunny["Input"]>, facts: VideoFacts): Promise<void> {
  const format = await input.getFormat();
  facts.container = CONTAINERS[format.name] ?? format.name.toLowerCase();
  // A container Kling refuses is the verdict already: nothing more is read of it.
  if (!(VIDEO_LIMITS.containers as readonly string[]).includes(facts.container)) return;
  if ((await input.getTracks()).length === 0) throw new Damaged("no tracks: the header (moov) is missing");
  const video = await input.getPrimaryVideoTrack();
  facts.hasVideo = video !== null;
  if (video) {
    facts.width = await video.getDisplayWidth();
    facts.height = await video.getDisplayHeight();
    // The last frame's bytes: absent when the file was cut after its header (an upload that stopped short).
    const frames = new mb.EncodedPacketSink(video);
    if ((await frames.getFirstPacket({ metadataOnly: true })) && !(await frames.getPacket(Number.POSITIVE_INFINITY)))
      throw new Damaged("its last frame lies past the end of the file");
  }
  facts.durationSec = (await input.getDurationFromMetadata()) ?? (await input.computeDuration());
}

/** The container is known but its header is cut or inconsistent. */
class Damaged extends Error {}

function failureOf(mb: Mediabunny, error: unknown, signal: AbortSignal): Failure {
  if (signal.aborted) return { kind: "unreachable", reason: "timeout" };
  if (error instanceof mb.UnsupportedInputFormatError) return { kind: "format" };
  if (error instanceof HttpRefusal || error instanceof SourceUnreadable)
    return { kind: "unreachable", reason: "error", message: error.message };
  if (error instanceof ReadBudgetSpent)
    return {
      kind: "unreachable",
      reason: "error",
      message: `${error.message} (does the server answer Range requests?)`,
    };
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^E[A-Z]+$/.test(code))
    return { kind: "unreachable", reason: "error", message: `cannot read the file (${code})` };
  // The parser knew the container but could not read its header: cut short, or damaged.
  return { kind: "format", detail: error instanceof Error ? error.message : String(error) };
}

/** `promise`, or a rejection as soon as `signal` aborts (a parser step that waits on something else still ends). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener("abort", onAbort));
}

/** What a file the parser could not read as a video is, from its first bytes. */
function describeHead(head: Uint8Array, container: string | undefined): string {
  if (container) return `a truncated or damaged ${container.toUpperCase()}`;
  const text = new TextDecoder()
    .decode(head)
    .replace(/^\uFEFF/, "")
    .trimStart();
  if (head.length === 0) return "empty";
  if (text.startsWith("<")) return "an HTML page";
  if (text.startsWith("#EXTM3U")) return "an HLS playlist";
  if (text.startsWith("{") || text.startsWith("[")) return "a JSON document";
  return "no video container the parser knows";
}

/** The most bytes one check reads over HTTP, whatever the file's size: headers sit in the first or last few KB. */
export const READ_BUDGET_BYTES = 4 * 1024 * 1024;

/**
 * The most bytes one request asks for. The parser asks for `bytes=N-` (to the end) and stops reading once it has what
 * it needs, but by then the server has already pushed megabytes into the socket's buffers: a closed range keeps what
 * the server sends close to what the parser reads. The parser asks again where it needs more.
 */
export const RANGE_WINDOW_BYTES = 512 * 1024;

/** The first bytes of the file kept for describing what it is when the parser does not know it (an HTML page). */
const SNIFF_BYTES = 64;

/** A check read its whole byte budget without the parser finding what it needs (no Range support, or an odd file). */
export class ReadBudgetSpent extends Error {
  override readonly name = "ReadBudgetSpent";
}

/** The connection failed or broke off (refused, reset, a body shorter than its `Content-Length`). */
export class SourceUnreadable extends Error {
  override readonly name = "SourceUnreadable";
}

/** The error for a failed network step, unless it failed because the check was aborted. */
function unreadable(error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted) return error;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const why = typeof cause?.code === "string" ? cause.code : typeof cause?.message === "string" ? cause.message : "";
  const message = error instanceof Error ? error.message : String(error);
  return new SourceUnreadable(why ? `${message} (${why})` : message, { cause: error });
}

/** The server answered with an HTTP error (403, 404, ...): the file cannot be read from here. */
export class HttpRefusal extends Error {
  override readonly name = "HttpRefusal";
  constructor(readonly status: number) {
    super(`the server answered HTTP ${status}`);
  }
}

/** What the server said about the file, and how many body bytes the check read. */
export interface ReadRecord {
  bytesRead: number;
  /** The file's size by `Content-Range` (a 206) or `Content-Length` (a 200): what Kling would be told too. */
  sizeBytes?: number | undefined;
  /** The first bytes of the file, when a response started at byte 0. */
  head: Uint8Array;
}

/**
 * A `fetch` for the parser's URL source that asks for at most {@link RANGE_WINDOW_BYTES} per request, refuses to go
 * past `budget` body bytes in all (the body errors with {@link ReadBudgetSpent}, which also ends a server that streams
 * forever), turns an HTTP error into {@link HttpRefusal}, and aborts everything when `signal` does.
 */
export function boundedFetch(
  base: typeof fetch,
  signal: AbortSignal,
  record: ReadRecord,
  budget = READ_BUDGET_BYTES,
): typeof fetch {
  return async (input, init) => {
    if (record.bytesRead >= budget)
      throw new ReadBudgetSpent(`read ${budget} bytes without finding the video's header`);
    const headers = new Headers(init?.headers);
    const start = closeRange(headers);
    // Sizes are only honest without a content coding (a gzip'd answer states the compressed length).
    headers.set("accept-encoding", "identity");
    const requestSignal = init?.signal ? AbortSignal.any([init.signal, signal]) : signal;
    const response = await base(input, { ...init, headers, signal: requestSignal }).catch((error: unknown) => {
      throw unreadable(error, signal);
    });
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw new HttpRefusal(response.status);
    }
    noteSize(response, record);
    // A server that ignores Range sends the file from byte 0: the bytes before `start` are skipped (and counted), and
    // the answer is handed on as the 206 the parser asked for, so it never falls back to streaming (nor logs that).
    const ignoredRange = response.status === 200 && headers.has("range");
    const body = response.body
      ? countedBody(response.body, record, {
          budget,
          signal,
          skip: ignoredRange ? start : 0,
          fromStart: response.status === 200 || start === 0,
        })
      : null;
    // The parser reads only these fields.
    return {
      ok: true,
      status: ignoredRange ? 206 : response.status,
      statusText: response.statusText,
      headers: ignoredRange ? partialHeaders(response.headers, start, record.sizeBytes) : response.headers,
      redirected: response.redirected,
      url: response.url,
      type: response.type,
      body,
    } as Response;
  };
}

/** A 200's headers as those of a 206 from `start`: the Content-Range says where the body starts and the file's size. */
function partialHeaders(headers: Headers, start: number, size: number | undefined): Headers {
  const partial = new Headers(headers);
  partial.delete("content-length");
  if (size !== undefined) partial.set("content-range", `bytes ${start}-${Math.max(start, size - 1)}/${size}`);
  return partial;
}

/** Turns `Range: bytes=N-` into `bytes=N-(N+window-1)`; returns N (0 when no range was asked). */
function closeRange(headers: Headers): number {
  const match = /^bytes=(\d+)-$/.exec(headers.get("range") ?? "");
  if (!match) return 0;
  const start = Number(match[1]);
  headers.set("range", `bytes=${start}-${start + RANGE_WINDOW_BYTES - 1}`);
  return start;
}

function noteSize(response: Response, record: ReadRecord): void {
  if (record.sizeBytes !== undefined || response.headers.has("content-encoding")) return;
  const total = /\/(\d+)\s*$/.exec(response.headers.get("content-range") ?? "")?.[1];
  const length = response.headers.get("content-length");
  if (response.status === 206 && total !== undefined) record.sizeBytes = Number(total);
  else if (response.status === 200 && length !== null && /^\d+$/.test(length)) record.sizeBytes = Number(length);
}

interface BodyLimits {
  budget: number;
  signal: AbortSignal;
  /** Bytes to drop from the start of the body (a server that ignored Range sent them). */
  skip: number;
  /** Whether the body starts at the file's byte 0 (its first bytes are kept in `record.head`). */
  fromStart: boolean;
}

/** The body, counted into `record.bytesRead`; past `budget` it errors (and the request is cancelled). */
function countedBody(
  body: ReadableStream<Uint8Array>,
  record: ReadRecord,
  limits: BodyLimits,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (true) {
        const { done, value } = await reader.read().catch((error: unknown) => {
          throw unreadable(error, limits.signal);
        });
        if (done) return controller.close();
        if (limits.fromStart && offset < SNIFF_BYTES && record.head.length === offset) {
          record.head = new Uint8Array([...record.head, ...value.subarray(0, SNIFF_BYTES - offset)]);
        }
        offset += value.length;
        record.bytesRead += value.length;
        if (record.bytesRead > limits.budget) {
          await reader.cancel().catch(() => {});
          controller.error(new ReadBudgetSpent(`read ${limits.budget} bytes without finding the video's header`));
          return;
        }
        const skipped = Math.max(0, Math.min(value.length, limits.skip - (offset - value.length)));
        if (skipped === value.length) continue;
        controller.enqueue(skipped > 0 ? value.subarray(skipped) : value);
        return;
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
