// The mock's playable media: the committed fixtures (mocks/media/, as data in generated/mock-media.ts), served with
// Range, and patched into every succeeded task.
import { MOCK_MEDIA } from "../generated/mock-media.js";
import { type Answer, isObject } from "./answer.js";

export type MediaKind = "mp3" | "wav" | "mp4";

export interface MediaFile {
  kind: MediaKind;
  /** `Content-Type` of the file. */
  type: string;
  bytes: Uint8Array;
  /** Length in seconds, as ffprobe measured it when scripts/make-media.ts made the file. */
  seconds: number;
  etag: string;
}

export type MediaSet = Record<MediaKind, MediaFile>;

/** Where the media routes live, under the API's base: `${base}/media/<task_id>.mp3`. */
const MEDIA_PREFIX = "/media/";
const KINDS: readonly MediaKind[] = ["mp3", "wav", "mp4"];

let decoded: MediaSet | undefined;

/** The fixtures, decoded on first use (about 86 kB, kept for the life of the module). */
export function loadMedia(): MediaSet {
  decoded ??= Object.fromEntries(
    KINDS.map((kind): [MediaKind, MediaFile] => {
      const entry = MOCK_MEDIA[kind];
      const binary = atob(entry.base64);
      const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
      return [kind, { kind, type: entry.type, bytes, seconds: entry.seconds, etag: entry.etag }];
    }),
  ) as MediaSet;
  return decoded;
}

/** `/media/<id>.<kind>` → its parts, or undefined for any other path. */
export function parseMediaPath(pathname: string): { taskId: string; kind: MediaKind } | undefined {
  if (!pathname.startsWith(MEDIA_PREFIX)) return undefined;
  const match = /^([A-Za-z0-9_-]{1,64})\.(mp3|wav|mp4)$/.exec(pathname.slice(MEDIA_PREFIX.length));
  if (!match?.[1] || !match[2]) return undefined;
  return { taskId: match[1], kind: match[2] as MediaKind };
}

/**
 * The answer to GET/HEAD for one file: 200 whole, 206 for one satisfiable `bytes=` range, 416 (with `Content-Range:
 * bytes *\/size`) for an unsatisfiable one. Several ranges, or a `Range` that is not `bytes=`, get the whole file,
 * as RFC 9110 allows. The body is there for HEAD too: the adapter leaves it out.
 */
export function mediaAnswer(range: string | null, file: MediaFile, headers: Record<string, string>): Answer {
  const size = file.bytes.length;
  const base: Record<string, string> = {
    ...headers,
    "content-type": file.type,
    "accept-ranges": "bytes",
    etag: file.etag,
    "cache-control": "no-cache",
  };
  const wanted = range === null ? undefined : parseRange(range, size);
  if (wanted === "unsatisfiable")
    return { status: 416, headers: { ...base, "content-range": `bytes */${size}` }, body: new Uint8Array(0) };
  if (wanted === undefined) return { status: 200, headers: base, body: file.bytes };
  const [start, end] = wanted;
  return {
    status: 206,
    headers: { ...base, "content-range": `bytes ${start}-${end}/${size}` },
    body: file.bytes.subarray(start, end + 1),
  };
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

/** Seconds as the API writes them: `"3.056"` for audio, `"3.0"` for video (the spec's examples' precision). */
function durationText(seconds: number, decimals: number): string {
  return seconds.toFixed(decimals);
}

/**
 * Points a task's result files at the mock's media and sets their durations to the files' own, in place: every
 * `url_mp3`/`url_wav`/`videos[].url` becomes `${base}/media/<task_id>.<kind>`, and `task_info.parent_video.duration`
 * follows the video (the merged video is the source video with sound). A task without `task_result` is untouched.
 */
export function patchTaskMedia(task: unknown, base: string, media: MediaSet): void {
  if (!isObject(task) || !isObject(task.task_result) || typeof task.task_id !== "string") return;
  const id = encodeURIComponent(task.task_id);
  const result = task.task_result;
  for (const audio of Array.isArray(result.audios) ? result.audios : []) {
    if (!isObject(audio)) continue;
    if ("url_mp3" in audio) {
      audio.url_mp3 = `${base}${MEDIA_PREFIX}${id}.mp3`;
      audio.duration_mp3 = durationText(media.mp3.seconds, 3);
    }
    if ("url_wav" in audio) {
      audio.url_wav = `${base}${MEDIA_PREFIX}${id}.wav`;
      audio.duration_wav = durationText(media.wav.seconds, 3);
    }
  }
  if (!Array.isArray(result.videos)) return;
  for (const video of result.videos) {
    if (!isObject(video)) continue;
    video.url = `${base}${MEDIA_PREFIX}${id}.mp4`;
    video.duration = durationText(media.mp4.seconds, 1);
  }
  const parent = isObject(task.task_info) ? task.task_info.parent_video : undefined;
  if (isObject(parent) && "duration" in parent) parent.duration = durationText(media.mp4.seconds, 1);
}
