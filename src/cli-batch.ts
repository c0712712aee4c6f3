// `kling-v2a batch FILE`: runBatch over a JSONL or URL-list file, results appended as they finish, resumable.
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import type { BatchResult } from "./batch.js";
import type { Io } from "./cli.js";
import { downloadTask } from "./cli-download.js";
import { KlingValidationError } from "./errors.js";
import { batchItemId, type VideoToAudioClient } from "./client.js";
import type { CreateTaskInput } from "./types.js";

export const BATCH_OPTIONS = {
  concurrency: { type: "string" },
  "batch-id": { type: "string" },
  download: { type: "string" },
  timeout: { type: "string" },
  results: { type: "string" },
  "poll-interval": { type: "string" },
} as const;

interface BatchFlags {
  concurrency?: number | undefined;
  batchId?: string | undefined;
  download?: string | undefined;
  timeoutMs?: number | undefined;
  results?: string | undefined;
  pollIntervalMs?: number | undefined;
  json: boolean;
}

/** One line of the results file. */
interface ResultLine {
  index: number;
  externalTaskId: string;
  ok: boolean;
  task_id?: string;
  task_status?: string;
  audios?: Array<{ url_mp3?: string | undefined; url_wav?: string | undefined }>;
  files?: string[];
  error?: { name: string; message: string; code?: number | undefined };
}

/** Inputs from a file, read lazily: `.jsonl` holds one create body a line, anything else one video URL a line. */
export async function* readInputs(path: string): AsyncGenerator<CreateTaskInput> {
  const jsonl = /\.jsonl$/i.test(path);
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Number.POSITIVE_INFINITY });
  let number = 0;
  for await (const raw of lines) {
    number++;
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (!jsonl) {
      yield { video_url: line };
      continue;
    }
    try {
      yield JSON.parse(line) as CreateTaskInput;
    } catch {
      throw new KlingValidationError(`line ${number}`, `${path}:${number} is not valid JSON: each line of a .jsonl file is one create body.`);
    }
  }
}

async function countInputs(path: string): Promise<number> {
  let count = 0;
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const raw of lines) if (raw.trim() !== "" && !raw.trim().startsWith("#")) count++;
  return count;
}

/** External ids that already succeeded in an earlier run, read from the results file. */
async function succeededBefore(path: string): Promise<Set<string>> {
  const done = new Set<string>();
  if (!existsSync(path)) return done;
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    try {
      const result = JSON.parse(line) as ResultLine;
      if (result.ok) done.add(result.externalTaskId);
    } catch {
      // A line cut short by a crash: that item simply runs again (and is found by its id, not created twice).
    }
  }
  return done;
}

/** A stable default batch id for a file, so rerunning the same command resumes the same batch. */
export async function defaultBatchId(path: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(resolve(path))));
  return `kv2a-${Array.from(digest.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export async function runBatchFile(kling: VideoToAudioClient, file: string, flags: BatchFlags, io: Io, signal: AbortSignal): Promise<number> {
  if (!existsSync(file)) throw new KlingValidationError("FILE", `no such file: ${file}`);
  const batchId = flags.batchId ?? (await defaultBatchId(file));
  const resultsPath = flags.results ?? `${file}.results.jsonl`;
  const skip = await succeededBefore(resultsPath);
  const total = await countInputs(file);
  const results = createWriteStream(resultsPath, { flags: "a" });
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

  async function* pending(): AsyncGenerator<CreateTaskInput> {
    for await (const input of readInputs(file)) {
      if (skip.size > 0 && input && typeof input === "object" && skip.has(await batchItemId(batchId, input))) {
        counts.skipped++;
        continue;
      }
      counts.running++;
      yield input;
    }
  }

  try {
    for await (const result of kling.runBatch(pending(), { batchId, concurrency: flags.concurrency, timeoutMs: flags.timeoutMs, pollIntervalMs: flags.pollIntervalMs, signal })) {
      counts.running--;
      const line = await describe(result, flags.download, signal);
      if (line.ok) counts.succeeded++;
      else counts.failed++;
      await new Promise<void>((done, fail) => results.write(`${JSON.stringify(line)}\n`, (error) => (error ? fail(error) : done())));
      if (!tty && !flags.json) io.stderr.write(`${line.ok ? "ok" : "failed"} ${line.externalTaskId}${line.task_id ? ` task ${line.task_id}` : ""}${line.error ? `: ${line.error.message}` : ""}\n`);
    }
  } finally {
    if (timer) clearInterval(timer);
    await new Promise<void>((done) => results.end(done));
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

async function describe(result: BatchResult, download: string | undefined, signal: AbortSignal): Promise<ResultLine> {
  const line: ResultLine = { index: result.index, externalTaskId: result.externalTaskId, ok: result.ok };
  if (result.ok) {
    line.task_id = result.task.task_id;
    line.task_status = result.task.task_status;
    line.audios = (result.task.task_result?.audios ?? []).map((a) => ({ url_mp3: a.url_mp3, url_wav: a.url_wav }));
    if (download) {
      try {
        line.files = (await downloadTask(result.task, download, { signal })).map((f) => f.path);
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
    if (!Number.isFinite(n) || n <= 0) throw new KlingValidationError(`--${name}`, `--${name} must be a positive number, not "${value}"`);
    return n * scale;
  };
  const concurrency = number("concurrency");
  if (concurrency !== undefined && !Number.isInteger(concurrency)) throw new KlingValidationError("--concurrency", "--concurrency must be a whole number");
  return {
    concurrency,
    batchId: typeof values["batch-id"] === "string" ? values["batch-id"] : undefined,
    download: typeof values.download === "string" ? values.download : undefined,
    timeoutMs: number("timeout", 1000),
    results: typeof values.results === "string" ? values.results : undefined,
    pollIntervalMs: number("poll-interval", 1000),
    json: values.json === true,
  };
}

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes}m${String(Math.round(seconds % 60)).padStart(2, "0")}s` : `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

