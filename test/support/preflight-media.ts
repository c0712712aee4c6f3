// Test videos for the preflight, made by ffmpeg into the OS temp dir once per machine (a folder named by the recipe),
// tiny (solid colour, 2 fps): no media blobs in the repo. No vitest import: the journeys' setup uses it too.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A solid colour picture of the given size and length, at 2 fps, in H.264. */
const picture = (size: string, seconds: number) => [
  ["-f", "lavfi", "-i", `color=c=navy:s=${size}:r=2:d=${seconds}`],
  ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
];
const faststart = ["-movflags", "+faststart"];

/** Each file's ffmpeg arguments (before the output path). */
const RECIPES: Record<string, string[][]> = {
  "pass-720p.mp4": [...picture("1280x720", 5), faststart],
  "pass-1080p.mov": [...picture("1920x1080", 5), faststart, ["-f", "mov"]],
  "short-2s.mp4": [...picture("1280x720", 2), faststart],
  "long-25s.mp4": [...picture("1280x720", 25), faststart],
  "uhd-4k.mp4": [...picture("3840x2160", 5), faststart],
  "clip.webm": [
    ["-f", "lavfi", "-i", "color=c=navy:s=320x240:r=2:d=5"],
    ["-c:v", "libvpx", "-b:v", "50k"],
  ],
  "audio-only.mp4": [
    ["-f", "lavfi", "-i", "sine=d=5"],
    ["-c:a", "aac", "-b:a", "32k"],
  ],
  // ffmpeg's default: the moov atom (the header) after the media data, at the end of the file.
  "moov-end.mp4": picture("1280x720", 5),
};

/** How far the padded files reach (sparse: the zeros take no disk). */
const PADDED_SIZES = { "moov-end-20mb.mp4": 20 * 1024 * 1024, "over-100mb.mp4": 101 * 1024 * 1024 } as const;

type MediaName = keyof typeof RECIPES | keyof typeof PADDED_SIZES | "truncated.mp4";

export interface PreflightMedia {
  dir: string;
  path(name: MediaName): string;
}

/** The test videos, made on first use (two processes making them at once is fine: the folder is renamed in). */
export async function preflightMedia(): Promise<PreflightMedia> {
  const recipe = createHash("sha256")
    .update(JSON.stringify([RECIPES, PADDED_SIZES, 1]))
    .digest("hex")
    .slice(0, 12);
  const dir = join(tmpdir(), `kling-v2a-preflight-media-${recipe}`);
  if (!existsSync(join(dir, "done"))) await makeAll(dir);
  return { dir, path: (name) => join(dir, name) };
}

async function makeAll(dir: string): Promise<void> {
  const tmp = `${dir}.${process.pid}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  for (const [name, args] of Object.entries(RECIPES)) {
    await run("ffmpeg", ["-v", "error", "-y", ...args.flat(), join(tmp, name)]);
  }
  await padded(join(tmp, "moov-end.mp4"), join(tmp, "moov-end-20mb.mp4"), PADDED_SIZES["moov-end-20mb.mp4"]);
  await padded(join(tmp, "pass-720p.mp4"), join(tmp, "over-100mb.mp4"), PADDED_SIZES["over-100mb.mp4"]);
  // The first half of a file whose header is at the end: what an upload cut off leaves.
  const whole = await readFile(join(tmp, "moov-end.mp4"));
  await writeFile(join(tmp, "truncated.mp4"), whole.subarray(0, Math.floor(whole.length / 2)));
  await writeFile(join(tmp, "done"), "");
  try {
    await rename(tmp, dir);
  } catch {
    await rm(tmp, { recursive: true, force: true }); // another process was first
  }
}

/**
 * A copy of `from` grown to `size` bytes by a `free` box (ISO BMFF's filler) inserted before the moov when the moov is
 * last (so the header stays at the very end, far from the start) or appended otherwise. The media data's offsets do not
 * move either way, so the file stays valid.
 */
async function padded(from: string, to: string, size: number): Promise<void> {
  const bytes = await readFile(from);
  const moovAt = lastBoxOffset(bytes, "moov");
  const cut = moovAt ?? bytes.length;
  const pad = size - bytes.length;
  const header = Buffer.alloc(8);
  header.writeUInt32BE(pad, 0);
  header.write("free", 4, "latin1");
  const file = await open(to, "w");
  try {
    await file.write(bytes.subarray(0, cut), 0, cut, 0);
    await file.write(header, 0, 8, cut);
    await file.write(bytes.subarray(cut), 0, bytes.length - cut, cut + pad);
  } finally {
    await file.close();
  }
  await truncate(to, size);
}

/** The offset of the top-level box `type` when it is the file's last box, else undefined. */
function lastBoxOffset(bytes: Buffer, type: string): number | undefined {
  let offset = 0;
  let last: { offset: number; type: string } | undefined;
  while (offset + 8 <= bytes.length) {
    last = { offset, type: bytes.toString("latin1", offset + 4, offset + 8) };
    offset += bytes.readUInt32BE(offset);
  }
  return last?.type === type ? last.offset : undefined;
}
