// `npx tsx test/perf/bench-preflight.ts`: what the preflight costs on loopback. Not part of `npm test`; always exits 0.
//
//   1. checkVideo (the built entry, dist/) on the passing 1080p MOV of the tests and on a 20 MB MP4 with its header at
//      the end (made by ffmpeg at constant bitrate): requests, body bytes the server sent, and the time per check
//      (median and p90 of --checks, after a warm-up; the first check, which loads the parser, apart);
//   2. a 100-item `kling-v2a batch` (the built bin) against a fake Kling, with and without --check, alternated
//      --rounds times: the wall time each takes, and the difference (the time the checks add).
//
//   npx tsx test/perf/bench-preflight.ts -- [--checks 50] [--rounds 3] [--items 100]
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { build } from "../../scripts/build.js";
import { startFakeKling } from "../support/fake-kling.js";
import { preflightMedia } from "../support/preflight-media.js";
import { startVideoServer, type VideoServer } from "../support/video-server.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const run = promisify(execFile);
const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== "--"),
  options: {
    checks: { type: "string", default: "50" },
    rounds: { type: "string", default: "3" },
    items: { type: "string", default: "100" },
  },
});
const CHECKS = Number(values.checks);
const ROUNDS = Number(values.rounds);
const ITEMS = Number(values.items);

/** A 20 MB MP4 whose header (moov) is at the end, as ffmpeg writes by default: 10 s of 720p at 16 Mbit/s, padded. */
async function bigMoovAtEnd(dir: string): Promise<string> {
  const path = join(dir, "bench-moov-end-20mb.mp4");
  if (existsSync(path)) return path;
  const rate = ["-b:v", "16M", "-minrate", "16M", "-maxrate", "16M", "-bufsize", "2M"];
  await run("ffmpeg", [
    ...["-v", "error", "-y", "-f", "lavfi", "-i", "color=c=navy:s=1280x720:r=25:d=10"],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", ...rate],
    ...["-x264-params", "nal-hrd=cbr:force-cfr=1", `${path}.tmp.mp4`],
  ]);
  await run("mv", [`${path}.tmp.mp4`, path]);
  return path;
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
const kib = (bytes: number) =>
  bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

type CheckVideo = typeof import("../../src/preflight/index.js").checkVideo;

async function benchChecks(checkVideo: CheckVideo, server: VideoServer, name: string, size: number): Promise<void> {
  const path = `/media/${name}`;
  const url = `${server.url}${path}`;
  for (let i = 0; i < 5; i++) await checkVideo(url);
  server.reset();
  const times: number[] = [];
  let verdict = "";
  for (let i = 0; i < CHECKS; i++) {
    const started = performance.now();
    const result = await checkVideo(url);
    times.push(performance.now() - started);
    const { container, width, height, durationSec } = result.facts;
    verdict = `ok ${result.ok}, ${container} ${width}x${height} ${durationSec} s`;
  }
  times.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(28)} ${kib(size).padStart(10)}   ${(server.requests(path) / CHECKS).toFixed(1)} requests, ` +
      `${kib(server.sent(path) / CHECKS)} sent per check, ` +
      `median ${ms(quantile(times, 0.5))}, p90 ${ms(quantile(times, 0.9))}   (${verdict})`,
  );
}

async function benchBatch(server: VideoServer, dir: string): Promise<void> {
  const fake = await startFakeKling({ taskDurationMs: 50 });
  const file = join(dir, "bench-batch.txt");
  writeFileSync(
    file,
    `${Array.from({ length: ITEMS }, (_, i) => `${server.url}/media/pass-720p.mp4?n=${i}`).join("\n")}\n`,
  );
  const bin = join(root, "dist/src/cli/bin.js");
  const once = async (check: boolean, round: number) => {
    const tag = `${check ? "check" : "plain"}-${round}`;
    const args = [
      bin,
      "batch",
      file,
      "--results",
      join(dir, `${tag}.jsonl`),
      "--batch-id",
      `bench-${tag}-${Date.now()}`,
    ];
    args.push("--base-url", fake.url, "--api-key", "bench-key-0123456789", "--poll-interval", "0.05", "--json");
    if (check) args.push("--check");
    const started = performance.now();
    const { stdout } = await run(process.execPath, args, { env: { PATH: process.env.PATH ?? "" } });
    const summary = JSON.parse(stdout) as { succeeded: number };
    if (summary.succeeded !== ITEMS) throw new Error(`${tag}: ${stdout}`);
    return performance.now() - started;
  };
  const plain: number[] = [];
  const checked: number[] = [];
  server.reset();
  for (let round = 0; round < ROUNDS; round++) {
    plain.push(await once(false, round));
    checked.push(await once(true, round));
  }
  await fake.close();
  plain.sort((a, b) => a - b);
  checked.sort((a, b) => a - b);
  const median = (list: number[]) => quantile(list, 0.5);
  const sent = server.sent("/media/pass-720p.mp4") / ROUNDS;
  console.log(
    `batch of ${ITEMS} (concurrency 4, fake Kling, 50 ms tasks): without --check median ${ms(median(plain))}, ` +
      `with --check ${ms(median(checked))}: the checks add ${ms(median(checked) - median(plain))} ` +
      `(${((median(checked) - median(plain)) / ITEMS).toFixed(2)} ms per item; ${kib(sent)} read per batch)`,
  );
  console.log(`  rounds without: ${plain.map(ms).join(", ")}; with: ${checked.map(ms).join(", ")}`);
}

try {
  await build({ parts: ["code"], ifChanged: true, log: () => {} });
  const media = await preflightMedia();
  const dir = mkdtempSync(join(tmpdir(), "kling-bench-preflight-"));
  const big = await bigMoovAtEnd(media.dir);
  const server = await startVideoServer(media.dir);
  const { stat } = await import("node:fs/promises");
  const started = performance.now();
  const { checkVideo } = (await import(join(root, "dist/src/preflight/index.js"))) as { checkVideo: CheckVideo };
  await checkVideo(`${server.url}/media/pass-1080p.mov`);
  console.log(`first check (loads the built entry and mediabunny): ${ms(performance.now() - started)}`);
  console.log(`checkVideo over loopback, ${CHECKS} checks each after 5 warm-up:`);
  await benchChecks(checkVideo, server, "pass-1080p.mov", (await stat(media.path("pass-1080p.mov"))).size);
  await benchChecks(checkVideo, server, "bench-moov-end-20mb.mp4", (await stat(big)).size);
  await benchBatch(server, dir);
  await server.close();
} catch (error) {
  console.error(`bench-preflight failed: ${error instanceof Error ? error.stack : error}`);
}
process.exit(0);
