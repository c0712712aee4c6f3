// `kling-v2a batch FILE`: runBatch over a JSONL or URL-list file, results appended as they finish, resumable.
import { createReadStream, existsSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { type BatchResult, DEFAULT_CONCURRENCY } from "../batch.js";
import type { Io } from "./common.js";
import { downloadTask } from "./download.js";
import { KlingValidationError } from "../errors.js";
import type { VideoToAudioClient } from "../client.js";
import { batchItemId } from "../item-id.js";
import { openResultsFile } from "./results-file.js";
import type { CreateTaskInput, ResultRecord } from "../types.js";
import { checkCreateInput } from "../create-input.js";
import { CHECK_FLAG, checkedInputs } from "./check.js";

export const BATCH_OPTIONS = {
  concurrency: { type: "string" },
  "batch-id": { type: "string" },
  download: { type: "string" },
  timeout: { type: "string" },
  results: { type: "string" },
  "poll-interval": { type: "string" },
  force: { type: "boolean" },
  ...CHECK_FLAG,
} as const;

interface BatchFlags {
  concurrency?: number | undefined;
  batchId?: string | undefined;
  download?: string | undefined;
  timeoutMs?: number | undefined;
  results?: string | undefined;
  pollIntervalMs?: number | undefined;
  /** Overwrite downloaded files that exist. */
  force?: boolean | undefined;
  /** Check each video before its create (`--check`). */
  check?: boolean | undefined;
  json: boolean;
}

/** One input of a batch file, with the 0-based line it is on (its `index` in the results, the same on every run). */
export interface FileInput {
  line: number;
  input: CreateTaskInput;
}

/** Inputs from a file, read lazily: `.jsonl` holds one create body a line, anything else one video URL a line. */
export async function* readInputs(path: string): AsyncGenerator<FileInput> {
  const jsonl = /\.jsonl$/i.test(path);
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Number.POSITIVE_INFINITY });
  let line = -1;
  for await (const raw of lines) {
    line++;
    const text = raw.trim();
    if (text === "" || text.startsWith("#")) continue;
    if (!jsonl) {
      yield { line, input: { video_url: text } };
      continue;
    }
    try {
      yield { line, input: JSON.parse(text) as CreateTaskInput };
    } catch {
      throw new KlingValidationError(
        `line ${line + 1}`,
        `${path}:${line + 1} is not valid JSON: each line of a .jsonl file is one create body.`,
      );
    }
  }
}

async function countInputs(path: string): Promise<number> {
  let count = 0;
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const raw of lines) if (raw.trim() !== "" && !raw.trim().startsWith("#")) count++;
  return count;
}

/** The id an input's task has in this batch, computed as runBatch computes it; undefined for an invalid input. */
async function itemIdOf(batchId: string, input: CreateTaskInput): Promise<string | undefined> {
  try {
    return await batchItemId(batchId, checkCreateInput(input));
  } catch {
    return undefined;
  }
}

/** A stable default batch id for a file, so rerunning the same command resumes the same batch. */
export async function defaultBatchId(path: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(resolve(path))));
  return `kv2a-${Array.from(digest.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export async function runBatchFile(
  kling: VideoToAudioClient,
  file: string,
  flags: BatchFlags,
  io: Io,
  signal: AbortSignal,
): Promise<number> {
  if (!existsSync(file)) throw new KlingValidationError("FILE", `no such file: ${file}`);
  const batchId = flags.batchId ?? (await defaultBatchId(file));
  const resultsPath = flags.results ?? `${file}.results.jsonl`;
  // Taken before anything is created: an unwritable path or a second run on the same file stops here.
  const results = openResultsFile(resultsPath);
  const skip = results.succeeded;
  const total = await countInputs(file);
  const started = Date.now();
  const counts = { succeeded: 0, failed: 0, skipped: 0, running: 0 };
  const tty = io.stderr.isTTY;

  const draw = (final = false) => {
    if (!tty && !final) return;
    const finished = counts.succeeded + counts.failed;
    const seconds = (Date.now() - started) / 1000;
    const rate = finished / Math.max(seconds, 0.001);
    const left = total - counts.skipped - finished;
    const eta = rate > 0 && left > 0 ? ` · ETA ${formatDuration(left / rate)}` : "";
    const line = `done ${counts.succeeded} · failed ${counts.failed} · running ${counts.running}${counts.skipped ? ` · skipped ${counts.skipped}` : ""} · ${rate.toFixed(2)}/s${eta}`;
    io.stderr.write(tty ? `\r\x1b[2K${line}${final ? "\n" : ""}` : `${line}\n`);
  };
  const timer = tty ? setInterval(() => draw(), 250) : undefined;
  timer?.unref();

  /** The file line of each item runBatch sees, by runBatch's index. */
  const lineOf: number[] = [];
  const note = (line: ResultRecord) => {
    if (!tty && !flags.json)
      io.stderr.write(
        `${line.ok ? "ok" : "failed"} ${line.externalTaskId}${line.task_id ? ` task ${line.task_id}` : ""}${line.error ? `: ${line.error.message}` : ""}\n`,
      );
  };
  /** `--check`: a video Kling would refuse is a failed item, recorded without a create. */
  const inputs = !flags.check
    ? readInputs(file)
    : checkedInputs(readInputs(file), {
        concurrency: flags.concurrency ?? DEFAULT_CONCURRENCY,
        signal,
        warn: (text) => io.stderr.write(`${text}\n`),
        finished: async (input) => skip.size > 0 && skip.has((await itemIdOf(batchId, input)) ?? ""),
        async refuse({ line, input }, refused) {
          const record: ResultRecord = {
            index: line,
            externalTaskId: (await itemIdOf(batchId, input)) ?? "",
            ok: false,
          };
          record.error = { name: refused.name, message: refused.message };
          counts.failed++;
          results.append(record);
          note(record);
        },
      });
  async function* pending(): AsyncGenerator<CreateTaskInput> {
    for await (const { line, input } of inputs) {
      if (skip.size > 0) {
        const id = await itemIdOf(batchId, input);
        if (id !== undefined && skip.has(id)) {
          counts.skipped++;
          continue;
        }
      }
      counts.running++;
      lineOf.push(line);
      yield input;
    }
  }

  try {
    for await (const result of kling.runBatch(pending(), {
      batchId,
      concurrency: flags.concurrency,
      timeoutMs: flags.timeoutMs,
      pollIntervalMs: flags.pollIntervalMs,
      signal,
    })) {
      counts.running--;
      const deadline = flags.timeoutMs === undefined ? undefined : started + flags.timeoutMs;
      const line = await describe(
        { ...result, index: lineOf[result.index] ?? result.index },
        { dir: flags.download, force: flags.force, deadline, signal },
      );
      if (line.ok) counts.succeeded++;
      else counts.failed++;
      results.append(line);
      note(line);
    }
  } finally {
    if (timer) clearInterval(timer);
    results.close();
  }
  draw(true);
  const notStarted = total - counts.skipped - counts.succeeded - counts.failed;
  const summary = {
    batchId,
    total,
    succeeded: counts.succeeded,
    failed: counts.failed,
    skipped: counts.skipped,
    notStarted,
    results: resolve(resultsPath),
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
  if (flags.json) io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    io.stdout.write(
      `batch ${batchId}: ${counts.succeeded} succeeded, ${counts.failed} failed, ${counts.skipped} already done` +
        `${notStarted > 0 ? `, ${notStarted} not started (deadline): run the same command again to resume` : ""}\nresults: ${summary.results}\n`,
    );
  }
  return counts.failed > 0 || notStarted > 0 ? 1 : 0;
}

interface DownloadPlan {
  dir: string | undefined;
  force: boolean | undefined;
  deadline: number | undefined;
  signal: AbortSignal;
}

async function describe(result: BatchResult, download: DownloadPlan): Promise<ResultRecord> {
  const line: ResultRecord = { index: result.index, externalTaskId: result.externalTaskId, ok: result.ok };
  if (result.ok) {
    line.task_id = result.task.task_id;
    line.task_status = result.task.task_status;
    line.audios = (result.task.task_result?.audios ?? []).map((a) => ({ url_mp3: a.url_mp3, url_wav: a.url_wav }));
    if (download.dir) {
      try {
        line.files = (await downloadTask(result.task, download.dir, download)).map((f) => f.path);
      } catch (error) {
        line.ok = false;
        line.error = { name: (error as Error).name, message: (error as Error).message };
      }
    }
    return line;
  }
  const { error } = result;
  const task = (error as { task?: { task_id?: string; task_status?: string } }).task;
  if (task?.task_id) line.task_id = task.task_id;
  if (task?.task_status) line.task_status = task.task_status;
  const taskId = (error as { taskId?: string }).taskId;
  if (taskId) line.task_id = taskId;
  line.error = { name: error.name, message: error.message, code: (error as { code?: number }).code };
  return line;
}

export function parseBatchFlags(values: Record<string, string | boolean | undefined>): BatchFlags {
  const number = (name: string, scale = 1) => {
    const value = values[name];
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
      throw new KlingValidationError(`--${name}`, `--${name} must be a positive number, not "${value}"`);
    return n * scale;
  };
  const concurrency = number("concurrency");
  if (concurrency !== undefined && !Number.isInteger(concurrency))
    throw new KlingValidationError("--concurrency", "--concurrency must be a whole number");
  return {
    concurrency,
    batchId: typeof values["batch-id"] === "string" ? values["batch-id"] : undefined,
    download: typeof values.download === "string" ? values.download : undefined,
    timeoutMs: number("timeout", 1000),
    results: typeof values.results === "string" ? values.results : undefined,
    pollIntervalMs: number("poll-interval", 1000),
    force: values.force === true,
    check: values.check === true,
    json: values.json === true,
  };
}

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60
    ? `${minutes}m${String(Math.round(seconds % 60)).padStart(2, "0")}s`
    : `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}
