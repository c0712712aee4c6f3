// The built `kling-v2a` CLI (dist/src/cli/bin.js) against local servers: outputs, --json, downloads, batches and exit
// codes.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningMock, startMock } from "../../mocks/lifecycle.js";
import { type CliRun, runBuiltCli } from "../support/built-cli.js";
import { type FakeKling, startFakeKling } from "../support/fake-kling.js";
import { buildError as builtError } from "../support/setup-jobs.js";
import { validatorAt } from "../support/spec.js";

const buildError = await builtError();
const SECRET = "sk-cli-secret-9876543210";

type Run = CliRun;
const kling = (args: string[], env: Record<string, string> = {}): Promise<Run> => runBuiltCli(args, { env });

let mock: RunningMock;
let fake: FakeKling;
let files: Server;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "kling-cli-"));
  mock = await startMock({ submittedMs: 100, processingMs: 100, log: () => {} });
  files = createServer((req, res) => {
    const body = Buffer.alloc(64 * 1024, req.url?.endsWith(".wav") ? 1 : 2);
    res.writeHead(200, { "content-type": "audio/mpeg", "content-length": String(body.length) }).end(body);
  });
  await new Promise<void>((resolve) => files.listen(0, "127.0.0.1", resolve));
  fake = await startFakeKling({
    taskDurationMs: 60,
    resultBaseUrl: `http://127.0.0.1:${(files.address() as AddressInfo).port}/v2a`,
  });
});

afterAll(async () => {
  await mock?.close();
  await fake?.close();
  files?.close();
});

it("the CLI was built", () => {
  expect(buildError).toBeNull();
});

describe.skipIf(buildError !== null)("kling-v2a", () => {
  it("--help shows commands, exit codes and examples; --version the package version", async () => {
    const help = await kling(["--help"]);
    expect(help.code).toBe(0);
    for (const text of [
      "run",
      "create",
      "get",
      "wait",
      "list",
      "batch",
      "mock",
      "Exit codes",
      "Examples",
      "--download",
    ])
      expect(help.stdout).toContain(text);
    const version = await kling(["--version"]);
    expect(version.stdout.trim()).toBe(
      JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version,
    );
  });

  it("run against the lifecycle mock needs no key and prints exactly one JSON task with --json", async () => {
    const run = await kling([
      "run",
      "--poll-interval",
      "0.05",
      "--base-url",
      mock.url,
      "--video-url",
      "https://example.com/clip.mp4",
      "--bgm-prompt",
      "piano",
      "--json",
    ]);
    expect(run.code).toBe(0);
    const task = JSON.parse(run.stdout);
    expect(task.task_status).toBe("succeed");
    expect(validatorAt("#/components/schemas/Task")(task)).toBe(true);
  });

  it("run prints the audio URLs for people", async () => {
    const run = await kling([
      "run",
      "--poll-interval",
      "0.05",
      "--base-url",
      mock.url,
      "--video-url",
      "https://example.com/clip.mp4",
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/task \d+ succeed/);
    expect(run.stdout).toMatch(/mp3 https?:\/\/\S+\.mp3/);
  });

  it("exit 1 when the task fails, 2 on bad input, 3 on an API error, 4 on timeout", async () => {
    const failed = await kling([
      "run",
      "--poll-interval",
      "0.05",
      "--base-url",
      mock.url,
      "--video-url",
      "https://example.com/clip.mp4",
      "--bgm-prompt",
      "please fail",
    ]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("failed");
    const both = await kling([
      "create",
      "--base-url",
      mock.url,
      "--video-url",
      "https://example.com/a.mp4",
      "--video-id",
      "1",
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("not both");
    const unknown = await kling(["create", "--base-url", mock.url, "--video-urll", "x"]);
    expect(unknown.code).toBe(2);
    const missing = await kling(["get", "404404404", "--base-url", mock.url, "--json"]);
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stdout).error.code).toBe(1203);
    const created = JSON.parse(
      (
        await kling([
          "create",
          "--base-url",
          fake.url,
          "--api-key",
          SECRET,
          "--video-url",
          "https://example.com/slow.mp4",
          "--json",
        ])
      ).stdout,
    );
    const slowFake = await startFakeKling({ taskDurationMs: 60_000 });
    const slow = JSON.parse(
      (
        await kling([
          "create",
          "--base-url",
          slowFake.url,
          "--api-key",
          SECRET,
          "--video-url",
          "https://example.com/slow.mp4",
          "--json",
        ])
      ).stdout,
    );
    const timeout = await kling([
      "wait",
      "--poll-interval",
      "0.05",
      slow.task_id,
      "--base-url",
      slowFake.url,
      "--api-key",
      SECRET,
      "--timeout",
      "0.3",
    ]);
    await slowFake.close();
    expect(created.task_status).toBe("submitted");
    expect(timeout.code).toBe(4);
    expect(timeout.stderr).toContain(`kling-v2a wait ${slow.task_id}`);
  });

  it("needs a key for a remote server, and never prints it", async () => {
    const none = await kling(["get", "1", "--base-url", "https://api.example.invalid"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("KLING_V2A_API_KEY");
    const denied = await startFakeKling({
      fault: () => ({ kind: "error", status: 401, code: 1002, message: "Authorization is invalid" }),
    });
    const run = await kling(["get", "1", "--base-url", denied.url, "--json"], { KLING_V2A_API_KEY: SECRET });
    await denied.close();
    expect(run.code).toBe(3);
    expect(run.stdout + run.stderr).not.toContain(SECRET);
  });

  it("--download streams the mp3 and wav atomically, named by task id, and says where they went", async () => {
    const out = join(dir, "audio");
    const run = await kling([
      "run",
      "--poll-interval",
      "0.05",
      "--base-url",
      fake.url,
      "--api-key",
      SECRET,
      "--video-url",
      "https://example.com/clip.mp4",
      "--download",
      out,
      "--json",
    ]);
    expect(run.code).toBe(0);
    const { task, files: saved } = JSON.parse(run.stdout);
    expect(readdirSync(out).sort()).toEqual([`${task.task_id}.mp3`, `${task.task_id}.wav`]);
    expect(saved.map((f: { bytes: number }) => f.bytes)).toEqual([65536, 65536]);
    expect(readFileSync(join(out, `${task.task_id}.wav`))[0]).toBe(1);
  });

  it("list prints a page", async () => {
    const list = await kling(["list", "--base-url", fake.url, "--api-key", SECRET, "--page-size", "5", "--json"]);
    expect(list.code).toBe(0);
    expect(Array.isArray(JSON.parse(list.stdout))).toBe(true);
  });

  it("batch runs a URL list, appends results, and a rerun resumes without creating anything again", async () => {
    const batchFake = await startFakeKling({ taskDurationMs: 40 });
    const file = join(dir, "clips.txt");
    writeFileSync(
      file,
      ["# five clips", ...Array.from({ length: 5 }, (_, i) => `https://example.com/clips/${i}.mp4`)].join("\n"),
    );
    const first = await kling([
      "batch",
      file,
      "--poll-interval",
      "0.05",
      "--base-url",
      batchFake.url,
      "--api-key",
      SECRET,
      "--concurrency",
      "2",
      "--json",
    ]);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ total: 5, succeeded: 5, failed: 0, skipped: 0 });
    const lines = readFileSync(`${file}.results.jsonl`, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(5);
    expect(lines.every((l) => l.ok && l.audios[0].url_mp3)).toBe(true);
    const second = await kling([
      "batch",
      file,
      "--poll-interval",
      "0.05",
      "--base-url",
      batchFake.url,
      "--api-key",
      SECRET,
      "--json",
    ]);
    expect(JSON.parse(second.stdout)).toMatchObject({ succeeded: 0, skipped: 5 });
    expect(batchFake.tasks).toHaveLength(5);
    await batchFake.close();
  });

  it("batch exits 1 when some items fail, with a summary", async () => {
    const file = join(dir, "jobs.jsonl");
    writeFileSync(
      file,
      `${JSON.stringify({ video_url: "https://example.com/ok.mp4" })}\n` +
        `${JSON.stringify({ video_url: "https://example.com/fail.mp4" })}\n`,
    );
    const run = await kling(["batch", file, "--poll-interval", "0.05", "--base-url", fake.url, "--api-key", SECRET]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("1 succeeded, 1 failed");
    expect(existsSync(`${file}.results.jsonl`)).toBe(true);
  });
});
