// `kling-v2a check`, `run --check` and `batch --check` through the built bin, against ffmpeg-made videos on a local
// Range server and a fake Kling: lines, JSON, exit codes, nothing created for a refused video, reruns not re-checked.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inOrder } from "../../src/cli/check.js";
import { type CliRun, runBuiltCli } from "../support/built-cli.js";
import { type FakeKling, startFakeKling } from "../support/fake-kling.js";
import { type PreflightMedia, preflightMedia } from "../support/preflight-media.js";
import { buildError as builtError } from "../support/setup-jobs.js";
import { HOSTILE, startVideoServer, type VideoServer } from "../support/video-server.js";

const buildError = await builtError();
const KEY = "sk-check-test-0123456789";

const kling = (args: string[]): Promise<CliRun> => runBuiltCli(args, { timeoutMs: 60_000 });

let media: PreflightMedia;
let videos: VideoServer;
let fake: FakeKling;
let dir: string;
const url = (name: string) => `${videos.url}/media/${name}`;

beforeAll(async () => {
  media = await preflightMedia();
  videos = await startVideoServer(media.dir);
  fake = await startFakeKling({ taskDurationMs: 40 });
  dir = mkdtempSync(join(tmpdir(), "kling-cli-check-"));
}, 120_000);

afterAll(async () => {
  await videos?.close();
  await fake?.close();
});

describe("inOrder: the pool behind check and batch --check", () => {
  it("runs at most `concurrency` at once and yields in the items' order", async () => {
    let running = 0;
    let most = 0;
    const work = async (n: number) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setImmediate(resolve, (5 - n) % 3));
      running--;
      return n * 10;
    };
    const seen: number[] = [];
    for await (const { item, result } of inOrder([1, 2, 3, 4, 5, 6, 7], 3, work)) seen.push(item, result);
    expect(seen).toEqual([1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60, 7, 70]);
    expect(most).toBe(3);
  });
});

describe.skipIf(buildError !== null)("kling-v2a check", () => {
  it("prints a line per video in the order given and exits 1 when any is refused", async () => {
    const sources = [url("pass-720p.mp4"), url("long-25s.mp4"), `${videos.url}${HOSTILE.forbidden}`];
    const run = await kling(["check", ...sources, media.path("pass-1080p.mov")]);
    expect(run.code).toBe(1);
    const lines = run.stdout.trim().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^ok\t\S+pass-720p\.mp4 \(mp4 1280x720 5 s 5 KB\)$/);
    expect(lines[1]).toBe(`refused\t${sources[1]}\tduration: the video is 25 s; Kling takes 3 to 20 s`);
    expect(lines[2]).toMatch(/^unchecked\t\S+forbidden\.mp4\tunreachable: .*HTTP 403$/);
    expect(lines[3]).toMatch(/^ok\t\S+pass-1080p\.mov \(mov 1920x1080 5 s/);
  });

  it("--json: an object per line, ok null when unreadable; exit 0 all pass, 3 some unchecked", async () => {
    const json = await kling(["check", "--json", url("uhd-4k.mp4"), `${videos.url}${HOSTILE.forbidden}`]);
    expect(json.code).toBe(3);
    const [uhd, forbidden] = json.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(uhd).toMatchObject({ source: url("uhd-4k.mp4"), ok: true, warnings: [{ rule: "resolution" }] });
    expect(forbidden).toMatchObject({ ok: null, warnings: [{ rule: "unreachable" }], facts: {} });
    expect((await kling(["check", url("pass-720p.mp4"), url("moov-end.mp4")])).code).toBe(0);
  });

  it("exits 2 with no video, an unknown flag or a bad --timeout", async () => {
    for (const args of [["check"], ["check", "--bogus", "x"], ["check", "--timeout", "0", "x.mp4"]]) {
      const run = await kling(args);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stdout, args.join(" ")).toBe("");
    }
    expect((await kling(["check", "--help"])).stdout).toContain("Exit codes: 0 all pass, 1 any refused");
    expect((await kling(["--help"])).stdout).toContain("kling-v2a check  URL|FILE...");
  });
});

describe.skipIf(buildError !== null)("--check on run and batch", () => {
  it("run --check creates nothing for a refused video (exit 2, the problem printed)", async () => {
    const before = fake.tasks.length;
    const flags = ["--base-url", fake.url, "--api-key", KEY, "--poll-interval", "0.05", "--check"];
    const refused = await kling(["run", "--video-url", url("clip.webm"), ...flags]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("format: the video is WEBM; Kling takes MP4 or MOV");
    expect(fake.tasks.length).toBe(before);
    const passing = await kling(["run", "--video-url", url("pass-720p.mp4"), ...flags]);
    expect(passing.code).toBe(0);
    expect(fake.tasks.length).toBe(before + 1);
    // A video Kling made has no URL to read: the run goes on, saying so.
    const byId = await kling(["run", "--video-id", "866534912876544067", ...flags]);
    expect(byId.stderr).toContain("--check: nothing to check for --video-id");
    expect(fake.tasks.length).toBe(before + 2);
  });

  it("batch --check: a refused item fails with its problem; a rerun checks only what failed", async () => {
    const file = join(dir, "clips.txt");
    const names = ["pass-720p.mp4", "long-25s.mp4", "audio-only.mp4", "pass-1080p.mov"];
    // The last line is no http(s) URL: the create refuses that item alone, as without --check.
    writeFileSync(file, `${names.map(url).join("\n")}\nftp://example.com/clip.mp4\n`);
    const before = fake.tasks.length;
    const flags = ["--base-url", fake.url, "--api-key", KEY, "--poll-interval", "0.05", "--check", "--json"];
    const first = await kling(["batch", file, ...flags]);
    expect(first.code).toBe(1);
    expect(JSON.parse(first.stdout)).toMatchObject({ total: 5, succeeded: 2, failed: 3 });
    expect(fake.tasks.length - before).toBe(2);
    const results = readFileSync(`${file}.results.jsonl`, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const byIndex = Object.fromEntries(results.map((r) => [r.index, r]));
    expect(byIndex[1]).toMatchObject({ ok: false, error: { name: "VideoRefused" } });
    expect(byIndex[1].error.message).toContain("duration: the video is 25 s");
    expect(byIndex[2].error.message).toContain("video: the file has no video track");
    expect(byIndex[1].task_id).toBeUndefined();
    expect(byIndex[0]).toMatchObject({ ok: true });
    expect(byIndex[4]).toMatchObject({ ok: false, error: { name: "KlingValidationError" } });

    videos.reset();
    const second = await kling(["batch", file, ...flags]);
    expect(JSON.parse(second.stdout)).toMatchObject({ skipped: 2, failed: 3 });
    expect(videos.requests("/media/pass-720p.mp4") + videos.requests("/media/pass-1080p.mov")).toBe(0);
    expect(videos.requests("/media/long-25s.mp4")).toBe(1);
    expect(fake.tasks.length - before).toBe(2);
  });
});
