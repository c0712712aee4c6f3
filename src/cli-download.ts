// `--download DIR`: streams a task's MP3 and WAV files to disk, atomically, named by task id, with a progress bar.
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { KlingConnectionError } from "./errors.js";
import type { Task } from "./types.js";

export interface DownloadedFile {
  /** `mp3` or `wav`. */
  format: "mp3" | "wav";
  url: string;
  /** Absolute path of the written file. */
  path: string;
  bytes: number;
}

export interface DownloadOptions {
  /** Draw a progress bar on this stream (a terminal). @default undefined: no bar */
  progress?: NodeJS.WriteStream | undefined;
  /** Cancels the downloads. @default undefined */
  signal?: AbortSignal | undefined;
  /** @default globalThis.fetch */
  fetch?: typeof fetch | undefined;
}

/** The files a task offers, named `<task_id>.mp3` / `.wav` (`<task_id>-2.mp3` for a second track). */
export function plannedFiles(task: Task, dir: string): Array<Omit<DownloadedFile, "bytes">> {
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
  await mkdir(dir, { recursive: true });
  const done: DownloadedFile[] = [];
  for (const file of plannedFiles(task, dir)) {
    done.push({ ...file, bytes: await downloadOne(file.url, file.path, options) });
  }
  return done;
}

async function downloadOne(url: string, path: string, options: DownloadOptions): Promise<number> {
  const response = await (options.fetch ?? fetch)(url, { signal: options.signal ?? null }).catch((error: unknown) => {
    throw new KlingConnectionError(`Could not download ${url}: ${(error as Error).message}`, { cause: error });
  });
  if (!response.ok || !response.body) {
    throw new KlingConnectionError(`Could not download ${url}: HTTP ${response.status}. Result files are deleted 30 days after the task was created.`, {
      status: response.status,
    });
  }
  const total = Number(response.headers.get("content-length")) || undefined;
  const name = path.split(/[\\/]/).pop() ?? path;
  // Same directory as the target, so the final rename is atomic and never leaves a half-written file behind.
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.part`;
  let bytes = 0;
  let drawn = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (options.progress && Date.now() - drawn > 100) {
        drawn = Date.now();
        options.progress.write(`\r${progressLine(name, bytes, total)}`);
      }
      callback(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), counter, createWriteStream(temporary), {
      signal: options.signal,
    });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    if (options.signal?.aborted) throw options.signal.reason;
    throw new KlingConnectionError(`Download of ${url} broke off after ${bytes} bytes: ${(error as Error).message}`, { cause: error });
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
  return `↓ ${name} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}% ${size(bytes)}/${size(total)}`;
}

function safeName(stem: string): string {
  return stem.replace(/[^\w.-]/g, "_");
}
