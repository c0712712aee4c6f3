// The mock's playable media: the committed fixtures (mocks/media/), served with Range and CORS, and patched into every succeeded task.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type http from "node:http";
import { fileURLToPath } from "node:url";

export type MediaKind = "mp3" | "wav" | "mp4";

export interface MediaFile {
  kind: MediaKind;
  /** `Content-Type` of the file. */
  type: string;
  bytes: Buffer;
  /** Length in seconds, as ffprobe measured it when scripts/make-media.ts made the file. */
  seconds: number;
  etag: string;
}

export type MediaSet = Record<MediaKind, MediaFile>;

/** Where the media routes live on the mock: `${origin}/media/<task_id>.mp3`. */
export const MEDIA_PREFIX = "/media/";
const KINDS: readonly MediaKind[] = ["mp3", "wav", "mp4"];
/** From dist/mocks/ the fixtures are still at the package's mocks/media/: they are not compiled, only shipped. */
// "../mocks/media/" from mocks/ (the source), dist/mocks/ or dist/chunks/ (the bundles); the fixtures ship at mocks/media/.
const MEDIA_DIR = fileURLToPath(
  new URL("../mocks/media/", import.meta.url).href.replace(/\/dist\/mocks\/media\/$/, "/mocks/media/"),
);

/** Reads the fixtures and their manifest (mocks/media/media.json, written by scripts/make-media.ts). */
export async function loadMedia(dir: string = MEDIA_DIR): Promise<MediaSet> {
  const manifest = JSON.parse(await readFile(`${dir}media.json`, "utf8")) as Record<
    string,
    { file: string; type: string; seconds: number }
  >;
  const entries = await Promise.all(
    KINDS.map(async (kind): Promise<[MediaKind, MediaFile]> => {
      const entry = manifest[kind];
      if (!entry) throw new Error(`mocks/media/media.json has no "${kind}" entry: run tsx scripts/make-media.ts`);
      const bytes = await readFile(`${dir}${entry.file}`);
      const etag = `"${createHash("sha256").update(bytes).digest("base64url").slice(0, 22)}"`;
      return [kind, { kind, type: entry.type, bytes, seconds: entry.seconds, etag }];
    }),
  );
  return Object.fromEntries(entries) as MediaSet;
}

/** `/media/<id>.<kind>` → its parts, or undefined for any other path. */
export function parseMediaPath(pathname: string): { taskId: string; kind: MediaKind } | undefined {
  if (!pathname.startsWith(MEDIA_PREFIX)) return undefined;
  const match = /^([A-Za-z0-9_-]{1,64})\.(mp3|wav|mp4)$/.exec(pathname.slice(MEDIA_PREFIX.length));
  if (!match?.[1] || !match[2]) return undefined;
  return { taskId: match[1], kind: match[2] as MediaKind };
}

/**
 * Answers GET/HEAD for one file: 200 whole, 206 for one satisfiable `bytes=` range, 416 (with `Content-Range:
 * bytes *\/size`) for an unsatisfiable one. Several ranges, or a `Range` that is not `bytes=`, get the whole file,
 * as RFC 9110 allows. CORS headers are the caller's to add.
 */
export function sendMedia(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  file: MediaFile,
  headers: http.OutgoingHttpHeaders,
): void {
  const size = file.bytes.length;
  const base: http.OutgoingHttpHeaders = {
    ...headers,
    "content-type": file.type,
    "accept-ranges": "bytes",
    etag: file.etag,
    "cache-control": "no-cache",
  };
  const head = req.method === "HEAD";
  const range = typeof req.headers.range === "string" ? parseRange(req.headers.range, size) : undefined;
  if (range === "unsatisfiable") {
    res.writeHead(416, { ...base, "content-range": `bytes */${size}`, "content-length": 0 });
    res.end();
    return;
  }
  if (range === undefined) {
    res.writeHead(200, { ...base, "content-length": size });
    res.end(head ? undefined : file.bytes);
    return;
  }
  const [start, end] = range;
  res.writeHead(206, { ...base, "content-range": `bytes ${start}-${end}/${size}`, "content-length": end - start + 1 });
  res.end(head ? undefined : file.bytes.subarray(start, end + 1));
}

/** One `bytes=a-b`, `bytes=a-` or `bytes=-n` range clipped to the file; undefined means "send it all". */
function parseRange(header: string, size: number): [number, number] | "unsatisfiable" | undefined {
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return undefined; // several ranges, another unit, or garbage: the whole file
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return undefined;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0) return "unsatisfiable";
    return [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== "" && Number(last) < start) return undefined; // invalid range: ignored, per RFC 9110
  if (start >= size) return "unsatisfiable";
  return [start, end];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Seconds as the API writes them: `"3.056"` for audio, `"3.0"` for video (the spec's examples' precision). */
export function durationText(seconds: number, decimals: number): string {
  return seconds.toFixed(decimals);
}

/**
 * Points a task's result files at this mock's media and sets their durations to the files' own, in place: every
 * `url_mp3`/`url_wav`/`videos[].url` becomes `${origin}/media/<task_id>.<kind>`, and `task_info.parent_video.duration`
 * follows the video (the merged video is the source video with sound). A task without `task_result` is untouched.
 */
export function patchTaskMedia(task: unknown, origin: string, media: MediaSet): void {
  if (!isObject(task) || !isObject(task.task_result) || typeof task.task_id !== "string") return;
  const id = encodeURIComponent(task.task_id);
  const result = task.task_result;
  if (Array.isArray(result.audios)) {
    for (const audio of result.audios) {
      if (!isObject(audio)) continue;
      if ("url_mp3" in audio) {
        audio.url_mp3 = `${origin}${MEDIA_PREFIX}${id}.mp3`;
        audio.duration_mp3 = durationText(media.mp3.seconds, 3);
      }
      if ("url_wav" in audio) {
        audio.url_wav = `${origin}${MEDIA_PREFIX}${id}.wav`;
        audio.duration_wav = durationText(media.wav.seconds, 3);
      }
    }
  }
  if (Array.isArray(result.videos)) {
    for (const video of result.videos) {
      if (!isObject(video)) continue;
      video.url = `${origin}${MEDIA_PREFIX}${id}.mp4`;
      video.duration = durationText(media.mp4.seconds, 1);
    }
    const parent = isObject(task.task_info) ? task.task_info.parent_video : undefined;
    if (isObject(parent) && "duration" in parent) parent.duration = durationText(media.mp4.seconds, 1);
  }
}
