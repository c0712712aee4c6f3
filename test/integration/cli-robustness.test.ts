// The built CLI under the accidents users meet: Ctrl-C, crashes mid-write, two runs at once, bad paths, stalled
// downloads.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILT_CLI, type CliRun, runBuiltCli } from "../support/built-cli.js";
import { type FakeKling, startFakeKling } from "../support/fake-kling.js";
import { buildError as builtError } from "../support/setup-jobs.js";

const buildError = await builtError();
const KEY = "sk-robust-1234567890";

type Run = CliRun;
const kling = (args: string[]): Promise<Run> => runBuiltCli(args);

const lines = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as { index: number; ok: boolean; externalTaskId: string });

let dir: string;
let files: Server;
let filesUrl: string;
let stalls = 0;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "kling-robust-"));
  files = createServer((req, res) => {
    if (req.url?.includes("/stall/")) {
      stalls++;
      res.writeHead(200, { "content-type": "audio/mpeg", "content-length": "100000" });
      res.write(Buffer.alloc(1000));
      return; // then nothing, for ever
    }
    const body = Buffer.alloc(4096, 3);
    res.writeHead(200, { "content-type": "audio/mpeg", "content-length": String(body.length) }).end(body);
  });
  await new Promise<void>((resolve) => files.listen(0, "127.0.0.1", resolve));
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
});
afterAll(() => {
  files.closeAllConnections();
  files.close();
});

const common = (fake: FakeKling) => ["--poll-interval", "0.05", "--base-url", fake.url, "--api-key", KEY];

describe.skipIf(buildError !== null)("kling-v2a batch, resumed and raced", () => {
  it("a result's index is the item's line in the input file, the same after a resume", async () => {
    const fake = await startFakeKling({ taskDurationMs: 40 });
    const file = join(dir, "index.txt");
    writeFileSync(
      file,
      ["# header", "https://example.com/a.mp4", "", "https://example.com/b.mp4", "https://example.com/fail-c.mp4"].join(
        "\n",
      ),
    );
    await kling(["batch", file, ...common(fake)]);
    const first = lines(`${file}.results.jsonl`);
    expect(first.map((l) => [l.index, l.ok]).sort()).toEqual([
      [1, true],
      [3, true],
      [4, false],
    ]);
    // The failed clip runs again alone: it keeps its line number, 4 (it was renumbered 0 before).
    await kling(["batch", file, ...common(fake)]);
    const second = lines(`${file}.results.jsonl`);
    expect(second.map((l) => [l.index, l.ok]).sort()).toEqual([
      [1, true],
      [3, true],
      [4, false],
    ]);
    await fake.close();
  });

  it("a results file cut mid-line by a crash is repaired: valid JSONL, one line per finished item", async () => {
    const fake = await startFakeKling({ taskDurationMs: 40 });
    const file = join(dir, "cut.txt");
    writeFileSync(
      file,
      ["https://example.com/1.mp4", "https://example.com/2.mp4", "https://example.com/3.mp4"].join("\n"),
    );
    await kling(["batch", file, ...common(fake)]);
    const results = `${file}.results.jsonl`;
    const [keep] = readFileSync(results, "utf8").split("\n");
    writeFileSync(results, `${keep}\n{"index":1,"externalTaskId":"kv2a-`); // the crash cut the second line
    const rerun = await kling(["batch", file, ...common(fake), "--json"]);
    expect(rerun.code).toBe(0);
    const after = lines(results);
    expect(after).toHaveLength(3);
    expect(new Set(after.map((l) => l.index))).toEqual(new Set([0, 1, 2]));
    expect(fake.duplicates()).toBe(0);
    await fake.close();
  });

  it(
    "a second run on the same results file is refused while the first holds its lock; a stale lock is taken " + "over",
    async () => {
      const fake = await startFakeKling({ taskDurationMs: 40 });
      const file = join(dir, "locked.txt");
      writeFileSync(file, "https://example.com/locked.mp4\n");
      writeFileSync(
        `${file}.results.jsonl.lock`,
        JSON.stringify({ pid: process.pid, host: (await import("node:os")).hostname() }),
      );
      const refused = await kling(["batch", file, ...common(fake)]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/another kling-v2a batch \(pid \d+/);
      expect(fake.requests).toHaveLength(0);
      writeFileSync(
        `${file}.results.jsonl.lock`,
        JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import("node:os")).hostname() }),
      );
      const taken = await kling(["batch", file, ...common(fake)]);
      expect(taken.code).toBe(0);
      expect(existsSync(`${file}.results.jsonl.lock`)).toBe(false);
      await fake.close();
    },
  );

  it("two runs started together create each item once", async () => {
    const fake = await startFakeKling({ taskDurationMs: 1_500 });
    const file = join(dir, "race.txt");
    writeFileSync(file, Array.from({ length: 4 }, (_, i) => `https://example.com/race-${i}.mp4`).join("\n"));
    const [a, b] = await Promise.all([
      kling(["batch", file, ...common(fake)]),
      kling(["batch", file, ...common(fake)]),
    ]);
    // Usually one is refused (2); on a slow machine the second may start after the first ended and skip everything (0).
    expect([a.code, b.code]).toContain(0);
    expect([0, 2]).toEqual(expect.arrayContaining([a.code, b.code]));
    expect(fake.tasks).toHaveLength(4);
    await fake.close();
  });

  it("an unwritable --results path is refused before anything is created: exit 2, one line, no stack", async () => {
    const fake = await startFakeKling({ taskDurationMs: 40 });
    const file = join(dir, "nowhere.txt");
    writeFileSync(file, "https://example.com/x.mp4\n");
    const run = await kling(["batch", file, ...common(fake), "--results", join(dir, "no-such-dir", "r.jsonl")]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("cannot write the results file");
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stderr.trim().split("\n").length).toBeLessThanOrEqual(2);
    expect(fake.requests).toHaveLength(0);
    await fake.close();
  });

  it('resume matches normalised inputs: a line with "video_id": "" is skipped once it succeeded', async () => {
    const fake = await startFakeKling({ taskDurationMs: 40 });
    const file = join(dir, "normalised.jsonl");
    writeFileSync(
      file,
      `${JSON.stringify({ video_id: "", video_url: "https://example.com/n.mp4", external_task_id: "" })}\n`,
    );
    const first = await kling(["batch", file, ...common(fake), "--json"]);
    expect(JSON.parse(first.stdout)).toMatchObject({ succeeded: 1 });
    const second = await kling(["batch", file, ...common(fake), "--json"]);
    expect(JSON.parse(second.stdout)).toMatchObject({ succeeded: 0, skipped: 1 });
    expect(fake.tasks).toHaveLength(1);
    await fake.close();
  });
});

describe.skipIf(buildError !== null)("kling-v2a run and wait, interrupted or downloading", () => {
  it("Ctrl-C exits 130 and prints the task id, also without a terminal", async () => {
    const fake = await startFakeKling({ taskDurationMs: 60_000 });
    const child = spawn(
      process.execPath,
      [BUILT_CLI, "run", ...common(fake), "--video-url", "https://example.com/long.mp4"],
      { env: { PATH: process.env.PATH ?? "" } },
    );
    let stderr = "";
    const created = new Promise<void>((resolve) =>
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/task \d+ submitted/.test(stderr)) resolve();
      }),
    );
    await created;
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    const code = await exited;
    const taskId = fake.tasks[0]?.task_id;
    expect(code).toBe(130);
    expect(stderr).toContain(`kling-v2a wait ${taskId}`);
    await fake.close();
  });

  it("--download never overwrites a file unless --force, and keeps the task's result in the output", async () => {
    const fake = await startFakeKling({ taskDurationMs: 40, resultBaseUrl: `${filesUrl}/v2a` });
    const out = join(dir, "dl");
    mkdirSync(out, { recursive: true });
    const task = JSON.parse(
      (
        await kling([
          "create",
          "--base-url",
          fake.url,
          "--api-key",
          KEY,
          "--video-url",
          "https://example.com/d.mp4",
          "--json",
        ])
      ).stdout,
    );
    writeFileSync(join(out, `${task.task_id}.mp3`), "mine");
    const refused = await kling(["wait", task.task_id, ...common(fake), "--download", out, "--json"]);
    expect(refused.code).toBe(2);
    const doc = JSON.parse(refused.stdout);
    expect(doc.task.task_status).toBe("succeed");
    expect(doc.error.message).toContain("--force");
    expect(readFileSync(join(out, `${task.task_id}.mp3`), "utf8")).toBe("mine");
    expect(refused.stderr.match(/kling-v2a: /g)).toHaveLength(1);
    const forced = await kling(["wait", task.task_id, ...common(fake), "--download", out, "--force", "--json"]);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(out, `${task.task_id}.mp3`)).length).toBe(4096);
    await fake.close();
  });

  it("a stalled download is given up within --timeout (exit 4), and the task is still printed", async () => {
    const fake = await startFakeKling({ taskDurationMs: 40, resultBaseUrl: `${filesUrl}/stall` });
    const before = stalls;
    const run = await kling([
      "run",
      ...common(fake),
      "--video-url",
      "https://example.com/s.mp4",
      "--download",
      join(dir, "stalled"),
      "--timeout",
      "3",
    ]);
    expect(stalls).toBeGreaterThan(before);
    expect(run.code).toBe(4);
    expect(run.stdout).toMatch(/task \d+ succeed/);
    expect(run.stderr).toMatch(/download/i);
    await fake.close();
  });

  it("a connection failure is printed once", async () => {
    const run = await kling(["get", "866889456698785798", "--base-url", "http://127.0.0.1:9", "--api-key", KEY]);
    expect(run.code).toBe(3);
    expect(run.stderr.match(/could not reach the server/g)).toHaveLength(1);
  });
});
