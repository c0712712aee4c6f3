// `tsx scripts/make-media.ts`: regenerates the mock's media fixtures (mocks/media/) with Debian's ffmpeg and records
// their measured durations.
//
// The fixtures are committed, so neither users nor CI need ffmpeg; run this only to change them. It writes
//   mocks/media/audio.mp3   MP3, 22.05 kHz mono, 32 kbit/s CBR
//   mocks/media/audio.wav   WAV, 8 kHz mono, 16-bit PCM
//   mocks/media/video.mp4   MP4: H.264 baseline 160x90 at 10 fps (a test pattern) with the same sound as AAC
//   mocks/media/media.json  each file's name, type, size and duration as ffprobe measures it
// The lifecycle mock patches these durations into every succeeded task, so the task and the files always agree.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Seconds of sound: Kling's shortest input video is 3.0 s, and the files stay a few tens of kB. */
const SECONDS = 3;
const dir = fileURLToPath(new URL("../mocks/media/", import.meta.url));
/** Strips dates, encoder versions and other metadata, so a rerun with the same ffmpeg writes the same bytes. */
const BITEXACT = ["-fflags", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1"];

function ffmpeg(args: string[]): void {
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args], {
    stdio: ["ignore", "inherit", "inherit"],
  });
}

function probeSeconds(path: string): number {
  const out = execFileSync(
    "ffprobe",
    ["-v", "error", "-show_entries", "format=duration", "-of", "default=nw=1:nk=1", path],
    { encoding: "utf8" },
  );
  const seconds = Number(out.trim());
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`ffprobe gave no duration for ${path}: ${out}`);
  return seconds;
}

function main(): void {
  const work = mkdtempSync(join(tmpdir(), "kling-media-"));
  try {
    // A soft A4 tone over a little pink noise, faded in and out: audibly "something", and no click at either end.
    const source = join(work, "source.wav");
    ffmpeg([
      "-f",
      "lavfi",
      "-i",
      `sine=frequency=440:duration=${SECONDS}:sample_rate=22050`,
      "-f",
      "lavfi",
      "-i",
      `anoisesrc=color=pink:amplitude=0.08:duration=${SECONDS}:sample_rate=22050:seed=7`,
      "-filter_complex",
      `[0][1]amix=inputs=2:normalize=0,afade=t=in:d=0.2,afade=t=out:st=${SECONDS - 0.3}:d=0.3,volume=0.5`,
      "-ac",
      "1",
      "-ar",
      "22050",
      source,
    ]);
    ffmpeg(["-i", source, "-c:a", "pcm_s16le", "-ar", "8000", "-ac", "1", ...BITEXACT, join(dir, "audio.wav")]);
    ffmpeg([
      "-i",
      source,
      "-c:a",
      "libmp3lame",
      "-b:a",
      "32k",
      "-ar",
      "22050",
      "-ac",
      "1",
      ...BITEXACT,
      join(dir, "audio.mp3"),
    ]);
    ffmpeg([
      "-f",
      "lavfi",
      "-i",
      `testsrc2=size=160x90:rate=10:duration=${SECONDS}`,
      "-i",
      source,
      "-c:v",
      "libx264",
      "-profile:v",
      "baseline",
      "-pix_fmt",
      "yuv420p",
      "-preset",
      "veryslow",
      "-crf",
      "35",
      "-g",
      "30",
      "-c:a",
      "aac",
      "-b:a",
      "32k",
      "-ac",
      "1",
      "-ar",
      "22050",
      "-shortest",
      "-movflags",
      "+faststart",
      ...BITEXACT,
      join(dir, "video.mp4"),
    ]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const files = {
    mp3: { file: "audio.mp3", type: "audio/mpeg" },
    wav: { file: "audio.wav", type: "audio/wav" },
    mp4: { file: "video.mp4", type: "video/mp4" },
  };
  const manifest = Object.fromEntries(
    Object.entries(files).map(([key, { file, type }]) => {
      const path = join(dir, file);
      return [key, { file, type, bytes: statSync(path).size, seconds: Number(probeSeconds(path).toFixed(3)) }];
    }),
  );
  writeFileSync(join(dir, "media.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const [key, entry] of Object.entries(manifest))
    console.log(`${key}: ${entry.file} ${entry.bytes} bytes, ${entry.seconds} s`);
  // Fail loudly if a file came out unreadable (e.g. an ffmpeg without libx264).
  for (const { file } of Object.values(files)) readFileSync(join(dir, file));
}

main();
