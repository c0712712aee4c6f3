// The installed package's queue commands: `npm pack`, install into a folder outside the repo, then
// enqueue/worker/results.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { root, spawnWorker, stopAll, type WorkerProcess } from "../support/bullmq-cluster.js";
import { type FakeKling, startFakeKling } from "../support/fake-kling.js";
import { type RedisServer, startRedis } from "../support/redis.js";

const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8"));

function run(
  file: string,
  args: string[],
  cwd: string,
  timeout = 120_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd, timeout, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: "1", KLING_V2A_API_KEY: "" } },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}
const npm = (args: string[], cwd: string) => run("npm", args, cwd);

let work = "";
let consumer = "";
let redis: RedisServer;
let fake: FakeKling;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  const built = await run(process.execPath, ["--import", "tsx", "scripts/build.ts", "--skip-docs"], root);
  if (built.code !== 0) throw new Error(`build failed:\n${built.stdout}${built.stderr}`);
  work = await mkdtemp(join(tmpdir(), "kling-bullmq-journey-"));
  const packed = await npm(["pack", "--json", "--ignore-scripts", "--pack-destination", work], root);
  if (packed.code !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
  const tarball = join(work, JSON.parse(packed.stdout)[0].filename);
  consumer = join(work, "consumer");
  await run("mkdir", ["-p", consumer], work);
  await writeFile(
    join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", private: true, version: "1.0.0", type: "module" }),
  );
  // --prefer-offline, not --offline: a fresh resolution reads packuments that `npm ci` never cached (see
  // test/support/journey-package.ts), so --offline passes only on a machine whose cache some other install warmed.
  const installed = await npm(
    ["install", tarball, "--prefer-offline", "--no-audit", "--no-fund", "--no-package-lock"],
    consumer,
  );
  if (installed.code !== 0) throw new Error(`npm install of the tarball failed:\n${installed.stderr}`);
  redis = await startRedis();
  fake = await startFakeKling({ taskDurationMs: 300, concurrencyLimit: 3 });
}, 240_000);

afterAll(async () => {
  await stopAll(workers);
  await fake?.close();
  await redis?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const bin = () => join(consumer, "node_modules/.bin/kling-v2a");
const installedCli = () => join(consumer, "node_modules/kling-video-to-audio/dist/src/cli/bin.js");

const commands = [
  ["node_modules/.bin/kling-v2a (the symlink npx runs)", "journey-bin", () => [bin()]],
  ["node on the installed dist/src/cli/bin.js", "journey-dist", () => [process.execPath, installedCli()]],
] as const;

describe("without bullmq installed", () => {
  it("the core entry imports", async () => {
    const core = await run(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        'const k = await import("kling-video-to-audio"); console.log(typeof k.createClient)',
      ],
      consumer,
    );
    expect(core.stdout.trim()).toBe("function");
  });

  it.each(commands)("%s worker says how to install bullmq (exit 2)", async (_label, _queue, command) => {
    const [cmd, ...pre] = command();
    const result = await run(cmd!, [...pre, "worker", "--redis", redis.url], consumer);
    expect(result.stderr).toMatch(/npm install bullmq/);
    expect(result.code).toBe(2);
  });
});

describe.each(commands)("installed with bullmq, through %s", (_label, queue, command) => {
  beforeAll(async () => {
    const added = await npm(
      [
        "install",
        `bullmq@${pkg.devDependencies.bullmq}`,
        `ioredis@${pkg.devDependencies.ioredis}`,
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        "--no-package-lock",
      ],
      consumer,
    );
    if (added.code !== 0) throw new Error(`npm install bullmq failed:\n${added.stderr}`);
  }, 120_000);

  it("enqueue, worker and results run a file's items end to end", async () => {
    const file = join(consumer, `${queue}.txt`);
    await writeFile(
      file,
      [
        "# clips",
        "https://example.com/j/1.mp4",
        "https://example.com/j/2.mp4",
        "",
        "https://example.com/j/3.mp4",
        "https://example.com/j/1.mp4",
      ].join("\n"),
    );
    const [cmd, ...pre] = command();
    const enqueued = await run(
      cmd!,
      [...pre, "enqueue", file, "--redis", redis.url, "--queue", queue, "--batch-id", queue, "--json"],
      consumer,
    );
    expect(enqueued.stderr).toBe("");
    expect(enqueued.code).toBe(0);
    expect(JSON.parse(enqueued.stdout)).toMatchObject({
      queue,
      batchId: queue,
      items: 4,
      jobs: 3,
      added: 3,
      alreadyQueued: 0,
    });
    const again = await run(
      cmd!,
      [...pre, "enqueue", file, "--redis", redis.url, "--queue", queue, "--batch-id", queue],
      consumer,
    );
    expect(again.stdout).toContain("0 added, 3 already queued");
    const worker = spawnWorker({
      command: command(),
      cwd: consumer,
      redisUrl: redis.url,
      baseUrl: fake.url,
      queue,
      accountConcurrency: 3,
      pollInterval: 0.05,
    });
    workers.push(worker);
    await expect.poll(() => worker.lines.filter((l) => l.startsWith("done ")).length, { timeout: 60_000 }).toBe(3);
    const results = await run(
      cmd!,
      [...pre, "results", "--redis", redis.url, "--queue", queue, "--batch-id", queue],
      consumer,
    );
    expect(results.code).toBe(0);
    const lines = results.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines.every((l) => l.ok && l.task_status === "succeed" && l.audios[0].url_mp3)).toBe(true);
    // Each item's 0-based line in the file, as in `kling-v2a batch` results (the comment and the blank line skipped).
    expect(lines.map((l) => l.index).sort()).toEqual([1, 2, 4]);
    expect(results.stderr).toMatch(/3 succeeded, 0 failed, 0 not finished/);
    worker.kill("SIGINT");
    expect((await worker.exited).code).toBe(130);
  }, 180_000);
});

describe("the ./bullmq subpath, installed", () => {
  it("imports and exposes enqueueVideos and createVideoToAudioWorker", async () => {
    const script =
      'const m = await import("kling-video-to-audio/bullmq"); console.log(typeof m.enqueueVideos, typeof ' +
      "m.createVideoToAudioWorker, typeof m.batchResults)";
    const result = await run(process.execPath, ["--input-type=module", "-e", script], consumer);
    expect(result.stderr).toBe("");
    expect(result.stdout.trim()).toBe("function function function");
  });
});
