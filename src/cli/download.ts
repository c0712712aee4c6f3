// `--download DIR`: streams a task's MP3 and WAV files to disk, atomically, named by task id, with a progress bar.
import { createWriteStream, existsSync, statSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { KlingConnectionError, KlingTimeoutError, KlingValidationError } from "../errors.js";
import type { Task } from "../types.js";

export interface DownloadedFile {
  /** `mp3` or `wav`. */
  format: "mp3" | "wav";
  url: string;
  /** Absolute path of the written file. */
  path: string;
  bytes: number;
}

/** A transfer that sends nothing for this long is given up. */
const DOWNLOAD_STALL_MS = 30_000;

/** The largest file a download takes unless `--max-download-mb` says otherwise, in MB (an audio track is a few MB). */
const DEFAULT_MAX_DOWNLOAD_MB = 512;
const MB = 1_048_576;

export interface DownloadOptions {
  /**
   * Replace files that already exist; without it an existing file is an error and nothing is downloaded. @default false
   */
  force?: boolean | undefined;
  /** Give up a transfer that sends no data for this long, in ms. @default 30000 */
  stallMs?: number | undefined;
  /** Absolute epoch ms by which every transfer must have finished (the command's `--timeout`). @default none */
  deadline?: number | undefined;
  /** Draw a progress bar on this stream (a terminal). @default undefined: no bar */
  progress?: NodeJS.WriteStream | undefined;
  /** Cancels the downloads. @default undefined */
  signal?: AbortSignal | undefined;
  /** @default globalThis.fetch */
  fetch?: typeof fetch | undefined;
  /** The largest file to take, in MB: a larger one is cut off and removed. @default DEFAULT_MAX_DOWNLOAD_MB */
  maxMb?: number | undefined;
  /** The task id (or external_task_id) the command asked about: the files of any other task are not saved. */
  taskId?: string | undefined;
  /** The batch item's external_task_id: a task that reports another one is not saved. */
  externalTaskId?: string | undefined;
}

/** Refuses (exit 2) a `--download` path that cannot be a directory, before anything is created or downloaded. */
export function checkDownloadDir(dir: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    return; // not there yet: created when the files come
  }
  if (!isDirectory) {
    throw new KlingValidationError(
      "--download",
      `--download ${dir} is a file, not a directory: give the folder to save the audio files in.`,
    );
  }
}

/** The files a task offers, named `<task_id>.mp3` / `.wav` (`<task_id>-2.mp3` for a second track). */
function plannedFiles(task: Task, dir: string): Array<Omit<DownloadedFile, "bytes">> {
  const files: Array<Omit<DownloadedFile, "bytes">> = [];
  (task.task_result?.audios ?? []).forEach((audio, index) => {
    const stem = index === 0 ? task.task_id : `${task.task_id}-${index + 1}`;
    for (const format of ["mp3", "wav"] as const) {
      const url = format === "mp3" ? audio.url_mp3 : audio.url_wav;
      if (url) files.push({ format, url, path: resolve(join(dir, `${safeName(stem)}.${format}`)) });
    }
  });
  return files;
}

/** Downloads every audio file of `task` into `dir`; a file appears under its final name only once complete. */
export async function downloadTask(task: Task, dir: string, options: DownloadOptions = {}): Promise<DownloadedFile[]> {
  checkTaskId(task, options);
  const planned = plannedFiles(task, dir);
  const taken = options.force ? [] : planned.filter((file) => existsSync(file.path));
  if (taken.length > 0) {
    throw new KlingValidationError(
      "--download",
      `${taken.map((f) => f.path).join(", ")} already exist${taken.length === 1 ? "s" : ""}: nothing was downloaded; ` +
        `pass --force to overwrite.`,
    );
  }
  checkDownloadDir(dir);
  await mkdir(dir, { recursive: true }).catch((error: Error) => {
    throw new KlingValidationError("--download", `cannot create the folder --download ${dir}: ${error.message}`);
  });
  const done: DownloadedFile[] = [];
  for (const file of planned) {
    done.push({ ...file, bytes: await downloadOne(file.url, file.path, options) });
  }
  return done;
}

/** An answer about another task than the one asked for (a confused gateway, a hostile server) saves nothing. */
function checkTaskId(task: Task, { taskId, externalTaskId }: DownloadOptions): void {
  const reported = task.task_info?.external_task_id;
  const other =
    taskId !== undefined && task.task_id !== taskId && reported !== taskId
      ? `task ${taskId}`
      : externalTaskId !== undefined && reported !== undefined && reported !== externalTaskId
        ? `external_task_id ${externalTaskId}`
        : undefined;
  if (other === undefined) return;
  throw new KlingConnectionError(
    `The server answered about task ${task.task_id} when asked about ${other}: nothing was downloaded.`,
  );
}

/**
 * A signal for one transfer: the caller's abort, the deadline, and a stall timer that `touch()` resets on every chunk.
 * `reason()` says which limit ended it, as the error to throw.
 */
function transferLimits(url: string, options: DownloadOptions) {
  const controller = new AbortController();
  const stallMs = options.stallMs ?? DOWNLOAD_STALL_MS;
  let why: Error | undefined;
  const stop = (error: Error) => {
    why ??= error;
    controller.abort(error);
  };
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const left = options.deadline === undefined ? undefined : Math.max(0, options.deadline - Date.now());
  const deadlineTimer =
    left === undefined
      ? undefined
      : setTimeout(
          () => stop(new KlingTimeoutError({ kind: "wait", timeoutMs: left, request: `The download of ${url}` })),
          left,
        );
  let stallTimer: ReturnType<typeof setTimeout> | undefined;
  const touch = () => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(
      () =>
        stop(
          new KlingTimeoutError({
            kind: "attempt",
            timeoutMs: stallMs,
            request: `The download of ${url} (stalled: no data)`,
          }),
        ),
      stallMs,
    );
  };
  touch();
  return {
    signal: controller.signal,
    touch,
    /** Ends the transfer for `error`, which becomes its reason; returns it. */
    stop(error: Error): Error {
      stop(error);
      return error;
    },
    reason: () => why,
    end() {
      clearTimeout(stallTimer);
      clearTimeout(deadlineTimer);
      options.signal?.removeEventListener("abort", onAbort);
    },
  };
}

async function downloadOne(url: string, path: string, options: DownloadOptions): Promise<number> {
  const limits = transferLimits(url, options);
  try {
    return await transfer(url, path, options, limits);
  } catch (error) {
    throw limits.reason() ?? error;
  } finally {
    limits.end();
  }
}

async function transfer(
  url: string,
  path: string,
  options: DownloadOptions,
  limits: ReturnType<typeof transferLimits>,
): Promise<number> {
  const response = await (options.fetch ?? fetch)(url, { signal: limits.signal }).catch((error: unknown) => {
    if (options.signal?.aborted) throw options.signal.reason;
    throw new KlingConnectionError(`Could not download ${url}: ${(error as Error).message}`, { cause: error });
  });
  if (!response.ok || !response.body) {
    throw new KlingConnectionError(
      `Could not download ${url}: HTTP ${response.status}. Result files are deleted 30 days after the task was ` +
        `created.`,
      {
        status: response.status,
      },
    );
  }
  const total = Number(response.headers.get("content-length")) || undefined;
  const maxMb = options.maxMb ?? DEFAULT_MAX_DOWNLOAD_MB;
  const tooLarge = (what: string) =>
    new KlingConnectionError(`The download of ${url} is larger than --max-download-mb ${maxMb}: ${what}.`);
  if (total !== undefined && total > maxMb * MB) {
    await response.body.cancel().catch(() => {});
    throw tooLarge(`it announced ${total} bytes, so nothing was saved`);
  }
  const name = path.split(/[\\/]/).pop() ?? path;
  // Same directory as the target, so the final rename is atomic and never leaves a half-written file behind.
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.part`;
  let bytes = 0;
  let drawn = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      limits.touch();
      bytes += chunk.length;
      if (bytes > maxMb * MB) return callback(limits.stop(tooLarge("it was stopped and the partial file removed")));
      if (options.progress && Date.now() - drawn > 100) {
        drawn = Date.now();
        options.progress.write(`\r${progressLine(name, bytes, total)}`);
      }
      callback(null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      counter,
      createWriteStream(temporary),
      {
        signal: limits.signal,
      },
    );
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    if (options.signal?.aborted) throw options.signal.reason;
    throw new KlingConnectionError(`Download of ${url} broke off after ${bytes} bytes: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (options.progress) options.progress.write(`\r${progressLine(name, bytes, total ?? bytes)}\n`);
  return bytes;
}

function progressLine(name: string, bytes: number, total: number | undefined): string {
  const size = (n: number) => `${(n / 1_048_576).toFixed(1)} MB`;
  if (!total) return `↓ ${name} ${size(bytes)}`;
  const ratio = Math.min(1, bytes / total);
  const width = 24;
  const filled = Math.round(ratio * width);
  return (
    `↓ ${name} [${"#".repeat(filled)}${".".repeat(width - filled)}] ` +
    `${String(Math.round(ratio * 100)).padStart(3)}% ${size(bytes)}/${size(total)}`
  );
}

function safeName(stem: string): string {
  return stem.replace(/[^\w.-]/g, "_");
}
