// `kling-v2a batch FILE`: runBatch over a JSONL or URL-list file, results appended as they finish, resumable.
import { resolve } from "node:path";
import type { VideoToAudioClient } from "../client.js";
import { DEFAULTS } from "../options.js";
import { type BatchResult, batchItemId } from "../request/batch.js";
import { checkCreateInput } from "../request/input.js";
import type { CreateTaskInput, ResultRecord } from "../types.js";
import { openResultsFile } from "./batch-files.js";
import { CHECK_FLAG, checkedInputs } from "./check.js";
import { type Io, inCliTerms, integerFlag, positiveNumberFlag } from "./common.js";
import { checkDownloadDir, downloadTask } from "./download.js";
import { checkInputFile, readInputs } from "./input-file.js";

export const BATCH_OPTIONS = {
  concurrency: { type: "string" },
  "batch-id": { type: "string" },
  download: { type: "string" },
  timeout: { type: "string" },
  results: { type: "string" },
  "poll-interval": { type: "string" },
  force: { type: "boolean" },
  "max-download-mb": { type: "string" },
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
  /** The largest file a download takes, in MB. */
  maxDownloadMb?: number | undefined;
  /** Check each video before its create (`--check`). */
  check?: boolean | undefined;
  json: boolean;
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
  // The whole file is read first: one that is not a text list is refused before a lock or results file is written.
  const total = await checkInputFile(file);
  if (flags.download !== undefined) checkDownloadDir(flags.download);
  const batchId = flags.batchId ?? (await defaultBatchId(file));
  const resultsPath = flags.results ?? `${file}.results.jsonl`;
  // Taken before anything is created: an unwritable path or a second run on the same file stops here.
  const results = openResultsFile(resultsPath, (line) => io.stderr.write(`${line}\n`));
  const skip = results.succeeded;
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
    const line =
      `done ${counts.succeeded} · failed ${counts.failed} · running ` +
      `${counts.running}${counts.skipped ? ` · skipped ${counts.skipped}` : ""} · ${rate.toFixed(2)}/s${eta}`;
    io.stderr.write(tty ? `\r\x1b[2K${line}${final ? "\n" : ""}` : `${line}\n`);
  };
  const timer = tty ? setInterval(() => draw(), 250) : undefined;
  timer?.unref();

  /** The file line of each item runBatch sees, by runBatch's index. */
  const lineOf: number[] = [];
  const note = (line: ResultRecord) => {
    if (!tty && !flags.json)
      io.stderr.write(
        `${line.ok ? "ok" : "failed"} ${line.externalTaskId}${line.task_id ? ` task ${line.task_id}` : ""}` +
          `${line.error ? `: ${inCliTerms(line.error.message)}` : ""}\n`,
      );
  };
  /** `--check`: a video Kling would refuse is a failed item, recorded without a create. */
  const inputs = !flags.check
    ? readInputs(file)
    : checkedInputs(readInputs(file), {
        concurrency: flags.concurrency ?? DEFAULTS.batchConcurrency,
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
        { dir: flags.download, force: flags.force, maxMb: flags.maxDownloadMb, deadline, signal },
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
        `${notStarted > 0 ? `, ${notStarted} not started (deadline): run the same command again to resume` : ""}` +
        `\nresults: ${summary.results}\n`,
    );
  }
  return counts.failed > 0 || notStarted > 0 ? 1 : 0;
}

interface DownloadPlan {
  dir: string | undefined;
  force: boolean | undefined;
  maxMb: number | undefined;
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
        const options = { ...download, externalTaskId: result.externalTaskId };
        line.files = (await downloadTask(result.task, download.dir, options)).map((f) => f.path);
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
  const seconds = (flag: string) =>
    positiveNumberFlag(values[flag.slice(2)], flag, { scale: 1000, unit: "number of seconds" });
  return {
    concurrency: integerFlag(values.concurrency, "--concurrency", 1),
    batchId: typeof values["batch-id"] === "string" ? values["batch-id"] : undefined,
    download: typeof values.download === "string" ? values.download : undefined,
    timeoutMs: seconds("--timeout"),
    results: typeof values.results === "string" ? values.results : undefined,
    pollIntervalMs: seconds("--poll-interval"),
    force: values.force === true,
    maxDownloadMb: positiveNumberFlag(values["max-download-mb"], "--max-download-mb", { unit: "number of MB" }),
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
