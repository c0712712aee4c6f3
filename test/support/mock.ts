// Test helpers for the mock: what a task's media should look like, measuring files with ffprobe, and small HTTP
// receivers.
import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const CREATE_PATH = "/v1/audio/video-to-audio";

type MockModule = typeof import("../../mocks/index.js");

/**
 * The mock under test: `KLING_MOCK_ENTRY` (a file path, e.g. an installed package's dist/mocks/index.js, as
 * test/ci/test-mock-browser.ts sets it) or else `fallback` (the source, unless a test asks for the build).
 */
export async function loadMock(fallback: "source" | "dist" = "source"): Promise<MockModule> {
  const entry = process.env.KLING_MOCK_ENTRY;
  if (entry) return (await import(pathToFileURL(entry).href)) as MockModule;
  if (fallback === "dist")
    return (await import(new URL("../../dist/mocks/index.js", import.meta.url).href)) as MockModule;
  return import("../../mocks/index.js");
}
export const EXAMPLE_ID = "866889456698785798";

/** The committed fixtures' manifest, as scripts/make-media.ts measured them. */
export const manifest: Record<"mp3" | "wav" | "mp4", { file: string; type: string; bytes: number; seconds: number }> =
  JSON.parse(readFileSync(fileURLToPath(new URL("../../mocks/media/media.json", import.meta.url)), "utf8"));

/**
 * The spec's example task (or envelope, or list) as the mock should serve it: result files on the mock's own
 * `/media/<task_id>.<ext>`, durations those of the fixtures. Written independently of mocks/media.ts on purpose.
 */
export function withMockMedia(value: any, mockUrl: string): any {
  const copy = structuredClone(value);
  const fix = (task: any) => {
    if (!task?.task_result) return;
    for (const audio of task.task_result.audios ?? []) {
      audio.url_mp3 = `${mockUrl}/media/${task.task_id}.mp3`;
      audio.url_wav = `${mockUrl}/media/${task.task_id}.wav`;
      audio.duration_mp3 = manifest.mp3.seconds.toFixed(3);
      audio.duration_wav = manifest.wav.seconds.toFixed(3);
    }
    if (task.task_result.videos) {
      for (const video of task.task_result.videos) {
        video.url = `${mockUrl}/media/${task.task_id}.mp4`;
        video.duration = manifest.mp4.seconds.toFixed(1);
      }
      if (task.task_info?.parent_video?.duration !== undefined)
        task.task_info.parent_video.duration = manifest.mp4.seconds.toFixed(1);
    }
  };
  const data = copy.data ?? copy;
  for (const task of Array.isArray(data) ? data : [data]) fix(task);
  return copy;
}

export const hasFfprobe = (() => {
  try {
    execFileSync("ffprobe", ["-version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

export interface Probe {
  seconds: number;
  formats: string;
  streams: Array<{ codec_type: string; codec_name: string }>;
}

/** ffprobe's view of a file (a path, or bytes written to a temporary file first). */
export async function probe(input: string | Uint8Array): Promise<Probe> {
  let dir: string | undefined;
  let path = typeof input === "string" ? input : "";
  if (typeof input !== "string") {
    dir = await mkdtemp(join(tmpdir(), "mock-probe-"));
    path = join(dir, "file");
    await writeFile(path, input);
  }
  try {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        "ffprobe",
        [
          "-v",
          "error",
          "-show_entries",
          "format=duration,format_name:stream=codec_type,codec_name",
          "-of",
          "json",
          path,
        ],
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      ),
    );
    const json = JSON.parse(out);
    return { seconds: Number(json.format.duration), formats: json.format.format_name, streams: json.streams };
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/** A WAV file's length from its header alone (data bytes / byte rate): the check when ffprobe is not installed. */
export function wavSeconds(bytes: Uint8Array): number {
  const view = Buffer.from(bytes);
  if (view.toString("ascii", 0, 4) !== "RIFF" || view.toString("ascii", 8, 12) !== "WAVE")
    throw new Error("not a WAV file");
  let offset = 12;
  let byteRate = 0;
  while (offset + 8 <= view.length) {
    const id = view.toString("ascii", offset, offset + 4);
    const size = view.readUInt32LE(offset + 4);
    if (id === "fmt ") byteRate = view.readUInt32LE(offset + 16);
    if (id === "data") return size / byteRate;
    offset += 8 + size + (size % 2);
  }
  throw new Error("no data chunk");
}

export interface Received {
  at: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A loopback callback receiver; `reply` decides each answer (status, or "hang" to never answer). */
export async function startReceiver(reply: (n: number, received: Received) => number | "hang" = () => 200) {
  const received: Received[] = [];
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const entry = { at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
    received.push(entry);
    const answer = reply(received.length, entry);
    if (answer === "hang") {
      hanging.add(res);
      return;
    }
    res.writeHead(answer, { "content-type": "text/plain" });
    res.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/kling`,
    received,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
