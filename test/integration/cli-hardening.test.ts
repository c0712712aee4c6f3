// The built CLI against what a careless user or a hostile server tries (issue 18): signals, stale locks, oversized or
// foreign downloads, input files that are not text lists, unknown flags and SDK names in messages.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { constants, hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILT_CLI, type CliRun, runBuiltCli } from "../support/built-cli.js";
import { type FakeKling, startFakeKling } from "../support/fake-kling.js";
import { buildError as builtError } from "../support/setup-jobs.js";

const buildError = await builtError();
const KEY = "sk-hardening-1234567890";
const MB = 1_048_576;

type Run = CliRun;
const kling = (args: string[]): Promise<Run> => runBuiltCli(args);

/** A CLI process to signal: its stderr so far, and its exit code as a shell reports it (128 + n when killed). */
function started(args: string[]): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BUILT_CLI, ...args], { env: { PATH: process.env.PATH ?? "" } });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 + constants.signals[signal] : null))),
  );
  return { child, stderr: () => stderr, exited };
}

let dir: string;
let files: Server;
let filesUrl: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "kling-cli-signals-"));
  files = createServer((req, res) => {
    const chunk = Buffer.alloc(64 * 1024, 7);
    if (req.url?.includes("/big-chunked/") || req.url?.includes("/big-announced/")) {
      const size = 3 * MB;
      const headers = req.url.includes("/big-announced/") ? { "content-length": String(size) } : {};
      res.writeHead(200, { "content-type": "audio/mpeg", ...headers });
      let sent = 0;
      const more = () => {
        while (sent < size) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", more);
        }
        res.end();
      };
      res.on("error", () => {});
      return more();
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

const server = (fake: FakeKling) => ["--base-url", fake.url, "--api-key", KEY];
const common = (fake: FakeKling) => ["--poll-interval", "0.05", ...server(fake)];
const urlList = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `https://example.com/${tag}-${i}.mp4`);

describe.skipIf(buildError !== null)("SIGTERM and SIGHUP end a command as Ctrl-C does", () => {
  it.each([
    ["run", "SIGTERM", 143],
    ["wait", "SIGHUP", 129],
    ["run", "SIGINT", 130],
  ] as const)("%s ended by %s: exit %i and the kling-v2a wait line", async (command, signal, code) => {
    const fake = await startFakeKling({ taskDurationMs: 60_000 });
    let args = ["run", ...common(fake), "--video-url", "https://example.com/long.mp4"];
    if (command === "wait") {
      const created = await kling(["create", ...server(fake), "--video-url", "https://example.com/w.mp4", "--json"]);
      args = ["wait", JSON.parse(created.stdout).task_id, ...common(fake)];
    }
    const cmd = started(args);
    await expect.poll(() => /task \d+ submitted/.test(cmd.stderr()), { timeout: 10_000 }).toBe(true);
    cmd.child.kill(signal);
    expect(await cmd.exited).toBe(code);
    const taskId = fake.tasks[0]!.task_id;
    expect(cmd.stderr()).toContain(`pick it up with: kling-v2a wait ${taskId}`);
    await fake.close();
  });

  it("batch ended by SIGTERM: exit 143, how to resume, and its lock released", async () => {
    const fake = await startFakeKling({ taskDurationMs: 60_000 });
    const file = join(dir, "term.txt");
    writeFileSync(file, urlList("term", 2).join("\n"));
    const cmd = started(["batch", file, ...common(fake)]);
    await expect.poll(() => fake.tasks.length, { timeout: 10_000 }).toBe(2);
    expect(existsSync(`${file}.results.jsonl.lock`)).toBe(true);
    cmd.child.kill("SIGTERM");
    expect(await cmd.exited).toBe(143);
    expect(cmd.stderr()).toContain("interrupted (SIGTERM)");
    expect(cmd.stderr()).toContain("run the same command again to resume");
    expect(existsSync(`${file}.results.jsonl.lock`)).toBe(false);
    await fake.close();
  });

  it("batch ended by a second signal at once still releases its lock", async () => {
    const fake = await startFakeKling({ taskDurationMs: 60_000 });
    const file = join(dir, "twice.txt");
    writeFileSync(file, urlList("twice", 2).join("\n"));
    const cmd = started(["batch", file, ...common(fake)]);
    await expect.poll(() => fake.tasks.length, { timeout: 10_000 }).toBe(2);
    cmd.child.kill("SIGHUP");
    cmd.child.kill("SIGTERM");
    // Either signal's code: the second may come after the batch ended its run (the shell then reports the signal).
    expect([129, 143]).toContain(await cmd.exited);
    expect(existsSync(`${file}.results.jsonl.lock`)).toBe(false);
    await fake.close();
  });
});

describe.skipIf(buildError !== null)("the batch lock records pid, host and heartbeat", () => {
  const lockOf = (file: string) => `${file}.results.jsonl.lock`;
  const writeLock = (file: string, holder: Record<string, unknown>) =>
    writeFileSync(lockOf(file), JSON.stringify(holder));

  it("a lock from another host (a container gone) with a stale heartbeat is taken over, saying so", async () => {
    const fake = await startFakeKling({ taskDurationMs: 40 });
    const file = join(dir, "gone-host.txt");
    writeFileSync(file, "https://example.com/gone-host.mp4\n");
    writeLock(file, { pid: 1, host: "container-3f9a1c", heartbeat: Date.now() - 10 * 60_000 });
    const run = await kling(["batch", file, ...common(fake)]);
    expect(run.stderr).toMatch(/took over .*\.lock: the batch that held it \(pid 1 on container-3f9a1c\)/);
    expect(run.code).toBe(0);
    expect(fake.tasks).toHaveLength(1);
    expect(existsSync(lockOf(file))).toBe(false);
    await fake.close();
  });

  it("a lock from another host with a fresh heartbeat refuses a second run (exit 2), creating nothing", async () => {
    const fake = await startFakeKling({ taskDurationMs: 40 });
    const file = join(dir, "live-host.txt");
    writeFileSync(file, "https://example.com/live-host.mp4\n");
    writeLock(file, { pid: 1, host: "other-machine", heartbeat: Date.now() });
    const run = await kling(["batch", file, ...common(fake)]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("another kling-v2a batch (pid 1 on other-machine)");
    expect(fake.requests).toHaveLength(0);
    expect(existsSync(lockOf(file))).toBe(true);
    await fake.close();
  });

  it("a lock on this host whose process is gone is taken over, saying so", async () => {
    const fake = await startFakeKling({ taskDurationMs: 40 });
    const file = join(dir, "gone-pid.txt");
    writeFileSync(file, "https://example.com/gone-pid.mp4\n");
    writeLock(file, { pid: 2 ** 22 + 4321, host: hostname(), heartbeat: Date.now() });
    const run = await kling(["batch", file, ...common(fake)]);
    expect(run.stderr).toContain("is no longer running");
    expect(run.code).toBe(0);
    await fake.close();
  });
});

describe.skipIf(buildError !== null)("downloads are bounded in size and kept to the task asked for", () => {
  it.each(["big-chunked", "big-announced"])(
    "a file past --max-download-mb (%s) is cut off and removed: exit 3, the task still printed",
    async (kind) => {
      const fake = await startFakeKling({ taskDurationMs: 40, resultBaseUrl: `${filesUrl}/${kind}` });
      const out = join(dir, `max-${kind}`);
      const args = ["--video-url", `https://example.com/${kind}.mp4`, "--download", out, "--max-download-mb", "1"];
      const run = await kling(["run", ...common(fake), ...args]);
      expect(run.code).toBe(3);
      expect(run.stderr).toContain("is larger than --max-download-mb 1");
      expect(run.stdout).toMatch(/task \d+ succeed/);
      expect(readdirSync(out)).toEqual([]);
      await fake.close();
    },
  );

  it("an answer about another task than the one asked for saves nothing: exit 3", async () => {
    const server = createServer((_req, res) => {
      const task = {
        task_id: "222",
        task_status: "succeed",
        task_info: {},
        task_result: { audios: [{ id: "a", url_mp3: `${filesUrl}/v2a/222.mp3` }] },
      };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: 0, message: "SUCCEED", request_id: "r", data: task }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const out = join(dir, "foreign");
    const run = await kling(["wait", "111", "--base-url", base, "--api-key", KEY, "--download", out]);
    server.close();
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("answered about task 222 when asked about task 111");
    expect(existsSync(join(out, "222.mp3"))).toBe(false);
  });

  it("--download naming a file is refused with exit 2 and a clear line, before a task is created", async () => {
    const fake = await startFakeKling({ taskDurationMs: 40 });
    const notADir = join(dir, "a-file");
    writeFileSync(notADir, "x");
    const run = await kling([
      "run",
      ...common(fake),
      "--video-url",
      "https://example.com/f.mp4",
      "--download",
      notADir,
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`--download ${notADir} is a file, not a directory`);
    expect(run.stderr).not.toContain("EEXIST");
    expect(fake.tasks).toHaveLength(0);
    await fake.close();
  });
});

describe.skipIf(buildError !== null)("input files are text lists", () => {
  const video = Buffer.concat([
    Buffer.from([0, 0, 0, 0x20]),
    Buffer.from("ftypisom"),
    Buffer.alloc(4000, 0x41),
    Buffer.from("\nhttps://example.com/x.mp4\n"),
  ]);
  const binary = Buffer.from(Array.from({ length: 8192 }, (_, i) => 0x80 + ((i * 7919) % 0x7f)));

  it.each([
    ["a video given by mistake", "clip.mp4", video],
    ["a binary without NUL bytes", "blob.bin", binary],
    ["a directory", "adir", undefined],
  ] as const)("batch refuses %s with exit 2 before any task, results or lock file", async (_what, name, content) => {
    const fake = await startFakeKling({ taskDurationMs: 40 });
    const path = join(dir, name);
    if (content) writeFileSync(path, content);
    else mkdirSync(path);
    const run = await kling(["batch", path, ...common(fake)]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/is (not a text file|a directory)/);
    expect(run.stderr).not.toMatch(/EISDIR|\n\s+at /);
    expect(fake.requests).toHaveLength(0);
    expect(existsSync(`${path}.results.jsonl`)).toBe(false);
    expect(existsSync(`${path}.results.jsonl.lock`)).toBe(false);
    await fake.close();
  });

  it("enqueue refuses a directory with exit 2 before it connects to Redis", async () => {
    const path = join(dir, "qdir");
    mkdirSync(path);
    const run = await kling(["enqueue", path, "--redis", "redis://127.0.0.1:9"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("is a directory");
  });

  const encode = (text: string, encoding: string): Buffer => {
    if (encoding === "utf-8 with BOM") return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    const le = Buffer.from(`\ufeff${text}`, "utf16le");
    if (encoding === "utf-16le") return le;
    return Buffer.from(le).swap16(); // UTF-16BE, its BOM FE FF first
  };
  it.each(["utf-8 with BOM", "utf-16le", "utf-16be"])("a %s list is read", async (encoding) => {
    const fake = await startFakeKling({ taskDurationMs: 40 });
    const path = join(dir, `list-${encoding.replace(/\W/g, "")}.txt`);
    const urls = urlList(encoding.replace(/\W/g, ""), 2);
    writeFileSync(path, encode(`${urls.join("\r\n")}\r\n`, encoding));
    const run = await kling(["batch", path, ...common(fake), "--json"]);
    expect(run.code).toBe(0);
    expect(fake.tasks.map((t) => t.body.video_url).sort()).toEqual(urls);
    await fake.close();
  });

  it("a line that starts with { is a create body in a .txt file too", async () => {
    const fake = await startFakeKling({ taskDurationMs: 40 });
    const path = join(dir, "mixed.txt");
    const body = { video_url: "https://example.com/json-line.mp4", bgm_prompt: "rain" };
    writeFileSync(path, `https://example.com/url-line.mp4\n${JSON.stringify(body)}\n`);
    const run = await kling(["batch", path, ...common(fake), "--json"]);
    expect(run.code).toBe(0);
    expect(fake.tasks.map((t) => t.body.bgm_prompt)).toContain("rain");
    expect(fake.tasks.map((t) => t.body.video_url).sort()).toEqual([
      "https://example.com/json-line.mp4",
      "https://example.com/url-line.mp4",
    ]);
    await fake.close();
  });
});

describe.skipIf(buildError !== null)("messages name CLI flags", () => {
  it.each([
    [["run", "--bgm-promt", "rain", "--video-url", "https://example.com/a.mp4"], "--bgm-promt", "--bgm-prompt"],
    [["batch", "x.txt", "--concurency", "2"], "--concurency", "--concurrency"],
    [
      ["worker", "--redis", "redis://127.0.0.1:9", "--acount-concurrency", "2"],
      "--acount-concurrency",
      "--account-concurrency",
    ],
  ])("an unknown flag is refused with the nearest known one: %j", async (args, typo, meant) => {
    const run = await kling([...args, "--base-url", "http://127.0.0.1:9"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`unknown flag ${typo}: did you mean ${meant}?`);
  });

  it("a timeout's hint names --timeout and kling-v2a wait, not timeoutMs or waitForTask", async () => {
    const fake = await startFakeKling({ taskDurationMs: 60_000 });
    const created = await kling(["create", ...server(fake), "--video-url", "https://example.com/t.mp4", "--json"]);
    const id = JSON.parse(created.stdout).task_id;
    const run = await kling(["wait", id, ...common(fake), "--timeout", "0.3"]);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain(`keep waiting: kling-v2a wait ${id}\n`);
    expect(run.stderr).not.toContain(`kling-v2a wait ${id}.`); // a command to copy, not one ending a sentence
    expect(run.stderr).not.toMatch(/timeoutMs|waitForTask/);
    await fake.close();
  });

  it("batch's line for an item past --timeout names no SDK method", async () => {
    const fake = await startFakeKling({ taskDurationMs: 60_000 });
    const path = join(dir, "slow.txt");
    writeFileSync(path, "https://example.com/slow.mp4\n");
    const run = await kling(["batch", path, ...common(fake), "--timeout", "0.5"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/failed \S+ task \d+: Task \d+ did not finish/);
    expect(run.stderr).not.toMatch(/timeoutMs|waitForTask/);
    await fake.close();
  });

  it("an SDK range check is told with the flag: --page-size, not pageSize", async () => {
    const run = await kling(["list", "--base-url", "http://127.0.0.1:9", "--page-size", "1000"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--page-size must be");
    expect(run.stderr).not.toContain("pageSize");
  });

  it.each(["1e308", "NaN", "Infinity"])(
    "--timeout %s is refused naming the flag and the value given",
    async (value) => {
      const args = ["run", "--base-url", "http://127.0.0.1:9", "--video-url", "https://example.com/a.mp4"];
      const run = await kling([...args, "--timeout", value]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`--timeout must be a positive number of seconds, not "${value}"`);
      expect(run.stderr).not.toContain("null");
    },
  );
});
