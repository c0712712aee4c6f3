// `kling-v2a check`, and `--check` on run and batch: the preflight (loaded only when asked) before any create.
import { parseArgs } from "node:util";
import { KlingValidationError } from "../errors.js";
import type { CheckVideoOptions, VideoCheck } from "../preflight/index.js";
import { EXIT, type Io, UsageError } from "./common.js";

/** The flag `run` and `batch` take. */
export const CHECK_FLAG = { check: { type: "boolean" } } as const;

/** How many videos `kling-v2a check` reads at once. */
const CHECK_CONCURRENCY = 4;

const CHECK_HELP = `kling-v2a check: would Kling take these videos? Reads each one's header (a few KB by Range
requests, never the whole file) and checks it against Kling's limits: MP4 or MOV, at most 100 MB, 3 to 20 s, a video
track. Needs the optional parser: npm i mediabunny

Usage:
  kling-v2a check URL|FILE... [--timeout SEC] [--json]

  --timeout SEC   for each video (default 15)
  --json          one JSON object per video and line: {"source", "ok", "problems", "warnings", "facts"}

Prints a line per video: "ok", "refused" (with each problem: rule, what was found, what Kling takes) or "unchecked"
(it could not be read from here: Kling may still reach it). 720p and 1080p are only warnings: gateways state them.
Exit codes: 0 all pass, 1 any refused, 2 usage, 3 none refused but some unchecked, 130 interrupted.
`;

/** A video that failed its check: exit 2 for `run --check`, a failed item for `batch --check`. */
class VideoRefused extends KlingValidationError {
  override readonly name = "VideoRefused";
  constructor(
    field: string,
    readonly check: VideoCheck,
  ) {
    super(field, `Kling would refuse this video: ${check.problems.map((p) => `${p.rule}: ${p.message}`).join("; ")}`);
  }
}

/** The preflight, loaded on first use; a missing parser becomes a usage error whose message is the install line. */
async function checkVideo(source: string, options: CheckVideoOptions): Promise<VideoCheck> {
  const preflight = await import("../preflight/index.js");
  try {
    return await preflight.checkVideo(source, options);
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === "ERR_MEDIABUNNY_MISSING")
      throw new UsageError((error as Error).message);
    throw error;
  }
}

/** `kling-v2a check URL|FILE...`: a line (or JSON object) per video, in the order given. */
export async function runCheckCommand(args: string[], io: Io, signal: AbortSignal): Promise<number> {
  let parsed: { values: { json?: boolean; help?: boolean; timeout?: string }; positionals: string[] };
  try {
    parsed = parseArgs({
      args,
      options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" }, timeout: { type: "string" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(CHECK_HELP);
    return EXIT.ok;
  }
  if (positionals.length === 0) throw new UsageError("expected at least one URL or FILE to check");
  const timeoutMs = timeoutFlag(values.timeout);
  const sources = positionals.map((source, index) => ({ source, index }));
  let refused = 0;
  let unchecked = 0;
  const checked = inOrder(sources, CHECK_CONCURRENCY, ({ source }) => checkVideo(source, { signal, timeoutMs }));
  for await (const { item, result } of checked) {
    if (result.ok === false) refused++;
    if (result.ok === undefined) unchecked++;
    io.stdout.write(
      values.json ? `${JSON.stringify(checkJson(item.source, result))}\n` : checkLine(item.source, result),
    );
  }
  return refused > 0 ? EXIT.taskFailed : unchecked > 0 ? EXIT.api : EXIT.ok;
}

/** `run --check`: throws VideoRefused when Kling would refuse the video; warnings go to stderr and the run goes on. */
export async function checkBeforeRun(videoUrl: unknown, io: Io, signal: AbortSignal): Promise<void> {
  if (typeof videoUrl !== "string") {
    io.stderr.write("--check: nothing to check for --video-id (a video Kling made)\n");
    return;
  }
  const result = await checkVideo(videoUrl, { signal }).catch(notCheckable);
  if (!result) return; // an input the create refuses itself, naming its flag
  for (const warning of result.warnings) io.stderr.write(`--check: ${warning.rule}: ${warning.message}\n`);
  if (result.ok === false) throw new VideoRefused("--video-url", result);
}

/** A `video_url` the preflight refuses as an argument (not http(s)): left to the create, which fails it alone. */
function notCheckable(error: unknown): undefined {
  if (error instanceof KlingValidationError) return undefined;
  throw error;
}

/** One check's JSON line: the result with its source, `ok` as `null` when the video could not be read. */
function checkJson(source: string, result: VideoCheck) {
  return { source, ...result, ok: result.ok ?? null };
}

function checkLine(source: string, result: VideoCheck): string {
  const { facts } = result;
  const size = facts.width !== undefined ? ` ${facts.width}x${facts.height}` : "";
  const duration = facts.durationSec !== undefined ? ` ${facts.durationSec} s` : "";
  const bytes = facts.sizeBytes !== undefined ? ` ${sizeText(facts.sizeBytes)}` : "";
  const notes = [
    ...result.problems.map((p) => `${p.rule}: ${p.message}`),
    ...result.warnings.map((w) => `${w.rule === "unreachable" ? "" : "warning "}${w.rule}: ${w.message}`),
  ];
  const status = result.ok === true ? "ok" : result.ok === false ? "refused" : "unchecked";
  const summary = result.ok === true ? ` (${facts.container}${size}${duration}${bytes})` : "";
  return `${status}\t${source}${summary}${notes.length > 0 ? `\t${notes.join("; ")}` : ""}\n`;
}

/** A file size in KB below 1 MB, in MB with one decimal above (1 MB = 1,048,576 bytes, as the limit counts). */
function sizeText(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function timeoutFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new UsageError(`--timeout must be a positive number of seconds, not "${value}"`);
  return seconds * 1000;
}

/**
 * `work` over `items`, at most `concurrency` at once, yielding each item with its result in the items' order (a slow
 * one holds back the ones after it, never more than `concurrency` ahead). A rejection ends the iteration with it.
 */
export async function* inOrder<T, R>(
  items: Iterable<T> | AsyncIterable<T>,
  concurrency: number,
  work: (item: T) => Promise<R>,
): AsyncGenerator<{ item: T; result: R }> {
  const running: { item: T; result: Promise<R> }[] = [];
  for await (const item of items) {
    const result = work(item);
    result.catch(() => {}); // awaited below, in order; a later rejection must not go unhandled meanwhile
    running.push({ item, result });
    const head = running.length >= concurrency ? running.shift() : undefined;
    if (head) yield { item: head.item, result: await head.result };
  }
  for (const head of running) yield { item: head.item, result: await head.result };
}

/** One line of a batch file, as `readInputs` gives it. */
interface FileItem {
  line: number;
  input: { video_url?: unknown };
}

interface BatchCheck<T extends FileItem> {
  concurrency: number;
  signal: AbortSignal;
  /** Whether an earlier run finished the item: it is passed on unchecked (the batch skips it). */
  finished(input: T["input"]): Promise<boolean>;
  /** Called for a video Kling would refuse; the item is not passed on. */
  refuse(item: T, refused: VideoRefused): Promise<void>;
  /** A warning's line (resolution, unreachable): the item is passed on. */
  warn(text: string): void;
}

/** `batch --check`: the items with each unfinished `video_url` checked first, `concurrency` at once, in file order. */
export async function* checkedInputs<T extends FileItem>(
  items: AsyncIterable<T>,
  options: BatchCheck<T>,
): AsyncGenerator<T> {
  const checkItem = async (item: T) => {
    const url = item.input.video_url;
    if (typeof url !== "string" || url === "" || (await options.finished(item.input))) return undefined;
    return checkVideo(url, { signal: options.signal }).catch(notCheckable);
  };
  for await (const { item, result } of inOrder(items, options.concurrency, checkItem)) {
    for (const warning of result?.warnings ?? [])
      options.warn(`--check line ${item.line + 1}: ${warning.rule}: ${warning.message}`);
    if (result?.ok === false) await options.refuse(item, new VideoRefused("video_url", result));
    else yield item;
  }
}
