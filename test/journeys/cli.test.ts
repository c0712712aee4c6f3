// Journeys of the installed `kling-v2a`: run through the node_modules/.bin symlink (and npx, and a global install)
// against `kling-v2a mock` started from the package, every command and exit code as the README states them.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  binOf,
  children,
  cleanEnv,
  type InstalledPackage,
  installedPackage,
  killChildren,
  kling,
  mocksOf,
  run,
} from "../support/journey.js";

// Each journey runs whole programs (a loaded 2-core machine can make one take seconds): a generous bound, not a speed
// test.
vi.setConfig({ testTimeout: 120_000 });

const CLIP = "https://example.com/clip.mp4";
const POLL = ["--poll-interval", "0.1"];
const SECRET = "sk-journey-cli-secret-31415926";
/** A loopback port nothing listens on: where a command that must not send anything is pointed. */
const NOWHERE = "http://127.0.0.1:9";

let pkg: InstalledPackage;
/** The run's `kling-v2a mock` servers, started from the installed bin (test/support/journey-package.ts). */
const mock = {
  get url() {
    return mocksOf(pkg).fast;
  },
};
/** Tasks stay `submitted` for 10 minutes there: only a timeout can end a wait. */
const slow = {
  get url() {
    return mocksOf(pkg).slow;
  },
};

beforeAll(async () => {
  pkg = await installedPackage();
}, 300_000);

afterAll(async () => {
  await killChildren();
});

const json = (stdout: string) => JSON.parse(stdout);

/** Waits (polling the mock's list, as a dashboard would) until the task with this external_task_id exists. */
async function findTask(base: string, external: string): Promise<{ task_id: string }> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    const page = (await (
      await fetch(`${base}/v1/audio/video-to-audio?pageSize=500`, { headers: { Authorization: "Bearer any" } })
    ).json()) as {
      data?: { task_id: string; task_info?: { external_task_id?: string } }[];
    };
    const task = page.data?.find((t) => t.task_info?.external_task_id === external);
    if (task) return task;
  }
  throw new Error(`no task with external_task_id ${external} within 60 s`);
}
const installedVersion = () =>
  JSON.parse(readFileSync(join(pkg.consumer, "node_modules/kling-video-to-audio/package.json"), "utf8"))
    .version as string;

describe.concurrent("the bin through node_modules/.bin (a symlink)", () => {
  it("--version prints the installed package's version", async () => {
    const result = await kling(pkg, ["--version"]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout.trim()).toBe(installedVersion());
  });

  it("--help lists the commands, the exit codes and examples", async () => {
    const result = await kling(pkg, ["--help"]);
    expect(result.code).toBe(0);
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
      "--base-url",
      "--api-key",
      "--json",
    ]) {
      expect(result.stdout).toContain(text);
    }
  });

  it("usage errors exit 2 with one line that says what is wrong", async () => {
    const [unknown, flag, typo, neither, both] = await Promise.all([
      kling(pkg, ["frobnicate"]),
      kling(pkg, ["list", "--base-url", NOWHERE, "--no-such-flag"]),
      kling(pkg, ["run", "--base-url", NOWHERE, "--video-url", CLIP, "--bgm-promt", "rain"]),
      kling(pkg, ["run", "--base-url", NOWHERE, "--json"]),
      kling(pkg, ["create", "--base-url", NOWHERE, "--video-url", CLIP, "--video-id", "866534912876544067"]),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("frobnicate");
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("--no-such-flag");
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("unknown flag --bgm-promt: did you mean --bgm-prompt?");
    expect(neither.code).toBe(2);
    expect(json(neither.stdout).error.field).toMatch(/video_(id|url)/);
    expect(both.code).toBe(2);
  });

  it("with no command, prints the help and exits 2", async () => {
    const result = await kling(pkg, []);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain("Usage");
  });

  it("a real server needs a key: without one it exits 2 before sending anything", async () => {
    const result = await kling(pkg, ["list", "--base-url", "https://api.example.invalid/kling"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no API key/i);
  });

  it("importing the CLI module runs nothing, even from a program that is itself named cli.js", async () => {
    const dir = join(pkg.consumer, "importer");
    await mkdir(dir, { recursive: true });
    const module = join(pkg.consumer, "node_modules/kling-video-to-audio/dist/src/cli/main.js");
    await writeFile(
      join(dir, "cli.js"),
      `import(${JSON.stringify(pathToFileURL(module).href)}).then((m) => console.log(typeof m.main));\n`,
    );
    const result = await run(process.execPath, [join(dir, "cli.js")], { cwd: dir });
    expect(result).toMatchObject({ code: 0, stdout: "function\n", stderr: "" });
  });

  it("npx kling-v2a runs the installed bin", async () => {
    // As the README types it; `npx --no kling-v2a --version` would print npm's own version instead.
    const result = await run("npx", ["kling-v2a", "--version"], { cwd: pkg.consumer });
    expect(result.stderr).toBe("");
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout.trim()).toBe(installedVersion());
  });

  it("a global install (npm i -g) runs the CLI from its bin folder", async () => {
    const prefix = join(pkg.consumer, "..", "global");
    const installed = await run(
      "npm",
      ["install", "-g", "--prefix", prefix, pkg.tarball, "--prefer-offline", "--no-audit", "--no-fund"],
      { timeoutMs: 180_000 },
    );
    expect(installed.code, installed.stderr).toBe(0);
    const result = await run(join(prefix, "bin", "kling-v2a"), ["--help"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("kling-v2a run");
  }, 180_000);
});

describe.concurrent("kling-v2a mock", () => {
  it("without the optional Prism peers, says which packages to install and exits 2", async () => {
    const result = await run(binOf(pkg.bare), ["mock", "--port", "0"], { cwd: pkg.bare });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "npm i -D @stoplight/prism-core@5.8.0 @stoplight/prism-http@5.12.0 @stoplight/prism-http-server@5.12.2",
    );
  });

  it("the other commands work without Prism installed (it is only the mock's)", async () => {
    const result = await run(binOf(pkg.bare), ["run", ...POLL, "--base-url", mock.url, "--video-url", CLIP, "--json"], {
      cwd: pkg.bare,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(json(result.stdout).task_status).toBe("succeed");
  });
});

describe.concurrent("commands against the mock", () => {
  it("run --json with no key: exit 0 and exactly one JSON document, the succeeded task", async () => {
    const result = await kling(pkg, [
      "run",
      ...POLL,
      "--base-url",
      mock.url,
      "--video-url",
      CLIP,
      "--bgm-prompt",
      "calm piano",
      "--json",
    ]);
    expect(result.code, result.stderr).toBe(0);
    const task = json(result.stdout);
    expect(task).toMatchObject({ task_status: "succeed", task_info: { parent_video: { url: CLIP } } });
    expect(task.task_id).toMatch(/\S/);
    expect(task.task_result.audios[0].url_mp3).toMatch(/^https?:\/\//);
  });

  it("run for people: the task line and the audio URLs", async () => {
    const result = await kling(pkg, ["run", ...POLL, "--base-url", mock.url, "--video-url", CLIP]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/task \S+ succeed/);
    expect(result.stdout).toMatch(/mp3 https?:\/\//);
  });

  it("create returns at once and prints the wait command; get, wait and list find the task", async () => {
    const created = await kling(pkg, [
      "create",
      "--base-url",
      mock.url,
      "--video-url",
      CLIP,
      "--external-task-id",
      "journey-cli-1",
      "--json",
    ]);
    expect(created.code, created.stderr).toBe(0);
    const task = json(created.stdout);
    expect(task.task_status).toBe("submitted");

    const [text, got, waited, listed, people] = await Promise.all([
      kling(pkg, ["create", "--base-url", mock.url, "--video-url", CLIP]),
      kling(pkg, ["get", task.task_id, "--base-url", mock.url, "--json"]),
      kling(pkg, ["wait", task.task_id, ...POLL, "--base-url", mock.url, "--json"]),
      kling(pkg, ["list", "--page", "1", "--page-size", "50", "--base-url", mock.url, "--json"]),
      kling(pkg, ["list", "--base-url", mock.url]),
    ]);
    expect(text.stdout).toMatch(/wait for it: kling-v2a wait \S+/);
    expect(got.code, got.stderr).toBe(0);
    expect(json(got.stdout)).toMatchObject({ task_id: task.task_id, task_info: { external_task_id: "journey-cli-1" } });
    expect(waited.code, waited.stderr).toBe(0);
    expect(json(waited.stdout)).toMatchObject({ task_id: task.task_id, task_status: "succeed" });
    expect(listed.code, listed.stderr).toBe(0);
    expect(json(listed.stdout).map((t: { task_id: string }) => t.task_id)).toContain(task.task_id);
    expect(people.stdout).toMatch(new RegExp(`^${task.task_id}\t(submitted|processing|succeed)\t`, "m"));
  });

  it("an unknown task id exits 3 with Kling's code 1203", async () => {
    const result = await kling(pkg, ["get", "123456789012345678", "--base-url", mock.url, "--json"]);
    expect(result.code).toBe(3);
    expect(json(result.stdout).error).toMatchObject({ code: 1203 });
    expect(result.stderr).toContain("1203");
  });

  it("a task that fails exits 1 and prints the reason", async () => {
    const fail = ["run", ...POLL, "--base-url", mock.url, "--video-url", "https://example.com/fail.mp4"];
    const [result, asJson] = await Promise.all([kling(pkg, fail), kling(pkg, [...fail, "--json"])]);
    expect(asJson.code).toBe(1);
    const { error } = json(asJson.stdout);
    expect(error.task.task_status).toBe("failed");
    expect(error.task.task_status_msg).toMatch(/\S/);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Task \S+ (\(external_task_id \S+\) )?failed: /);
    expect(result.stderr).toContain(error.task.task_status_msg.trim());
  });

  it("--timeout too short exits 4 and says how to keep waiting", async () => {
    const result = await kling(pkg, ["run", ...POLL, "--timeout", "3", "--base-url", slow.url, "--video-url", CLIP]);
    expect(result.code, result.stderr).toBe(4);
    const waitCommand = /kling-v2a wait (\S+)/.exec(result.stderr);
    expect(waitCommand, result.stderr).not.toBeNull();
    const again = await kling(pkg, [
      "wait",
      waitCommand![1]!,
      ...POLL,
      "--timeout",
      "0.5",
      "--base-url",
      slow.url,
      "--json",
    ]);
    expect(again.code).toBe(4);
    expect(json(again.stdout).error).toMatchObject({
      name: "KlingTimeoutError",
      taskId: waitCommand![1],
      lastStatus: "submitted",
    });
  });

  it("Ctrl-C stops waiting: exit 130 and the task id printed, so `kling-v2a wait` picks the task up", async () => {
    const external = `journey-ctrl-c-${process.pid}`;
    const child = spawn(
      binOf(pkg.consumer),
      ["run", ...POLL, "--base-url", slow.url, "--video-url", CLIP, "--external-task-id", external],
      {
        cwd: pkg.consumer,
        env: cleanEnv(),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    children.add(child);
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    const task = await findTask(slow.url, external); // created: now it is waiting
    child.kill("SIGINT");
    expect(await closed, output).toBe(130);
    expect(output).toContain(task.task_id);
    const resumed = await kling(pkg, [
      "wait",
      task.task_id,
      ...POLL,
      "--timeout",
      "0.5",
      "--base-url",
      slow.url,
      "--json",
    ]);
    expect(json(resumed.stdout).error).toMatchObject({
      name: "KlingTimeoutError",
      taskId: task.task_id,
      lastStatus: "submitted",
    });
  });

  it.each([
    ["SIGTERM", 143],
    ["SIGHUP", 129],
  ] as const)("%s stops waiting as Ctrl-C does: exit %i and the `kling-v2a wait` line", async (signal, code) => {
    const external = `journey-${signal}-${process.pid}`;
    const child = spawn(
      binOf(pkg.consumer),
      ["run", ...POLL, "--base-url", slow.url, "--video-url", CLIP, "--external-task-id", external],
      { cwd: pkg.consumer, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] },
    );
    children.add(child);
    let stderr = "";
    child.stdout.resume();
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const closed = new Promise<number | null>((resolve) => child.on("close", (exit) => resolve(exit)));
    const task = await findTask(slow.url, external);
    child.kill(signal);
    expect(await closed, stderr).toBe(code);
    expect(stderr).toContain(`pick it up with: kling-v2a wait ${task.task_id}`);
  });

  it("a server that is not there exits 3", async () => {
    const result = await kling(pkg, ["list", "--base-url", NOWHERE, "--json"]);
    expect(result.code).toBe(3);
    expect(json(result.stdout).error.name).toBe("KlingConnectionError");
  });

  it("the API key never appears in the output, even of a failed task", async () => {
    const [result, env] = await Promise.all([
      kling(pkg, [
        "run",
        ...POLL,
        "--api-key",
        SECRET,
        "--base-url",
        mock.url,
        "--video-url",
        "https://example.com/fail.mp4",
        "--json",
      ]),
      kling(pkg, ["get", "123456789012345678", "--base-url", mock.url], { env: { KLING_V2A_API_KEY: SECRET } }),
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
    expect(env.code).toBe(3);
    expect(env.stdout + env.stderr).not.toContain(SECRET);
  });

  it("--download DIR saves the task's MP3 and WAV as DIR/<task_id>.mp3 and .wav", async () => {
    const dir = join(pkg.consumer, "audio");
    const result = await kling(pkg, [
      "run",
      ...POLL,
      "--base-url",
      mock.url,
      "--video-url",
      CLIP,
      "--download",
      dir,
      "--json",
    ]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    const { task, files } = json(result.stdout);
    expect(files.length).toBeGreaterThan(0);
    for (const ext of ["mp3", "wav"]) {
      const path = join(dir, `${task.task_id}.${ext}`);
      expect(existsSync(path), path).toBe(true);
      expect(statSync(path).size).toBeGreaterThan(0);
    }
  });
});

describe.concurrent("kling-v2a batch", () => {
  it(
    "a URL list (with # comments): results appended as JSONL, exit 1 when an item failed; a rerun resumes without " +
      "creating again",
    async () => {
      const dir = join(pkg.consumer, "batch-urls");
      await mkdir(dir, { recursive: true });
      const file = join(dir, "clips.txt");
      await writeFile(
        file,
        [
          "# three clips",
          "https://example.com/a.mp4",
          "https://example.com/fail-b.mp4",
          "",
          "https://example.com/c.mp4",
          "",
        ].join("\n"),
      );
      const first = await kling(pkg, ["batch", file, "--concurrency", "2", ...POLL, "--base-url", mock.url, "--json"], {
        cwd: dir,
      });
      expect(first.code, first.stderr).toBe(1);
      json(first.stdout); // one JSON summary document
      const lines = readFileSync(`${file}.results.jsonl`, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(3);
      expect(lines.filter((l) => l.ok)).toHaveLength(2);
      for (const line of lines) expect(line.externalTaskId).toMatch(/\S/);

      // The batch's tasks on the server, found by their external_task_id (other journeys create tasks meanwhile).
      const ids = new Set(lines.map((l) => l.externalTaskId));
      const batchTasks = async () =>
        json((await kling(pkg, ["list", "--page-size", "500", "--base-url", mock.url, "--json"])).stdout).filter(
          (t: any) => ids.has(t.task_info?.external_task_id),
        ).length;
      expect(await batchTasks()).toBe(3);
      const again = await kling(pkg, ["batch", file, "--concurrency", "2", ...POLL, "--base-url", mock.url, "--json"], {
        cwd: dir,
      });
      expect(again.code, again.stderr).toBe(1); // the failed item stays failed
      expect(await batchTasks()).toBe(3); // nothing created (or billed) twice
    },
  );

  it("a JSONL file of create bodies: exit 0 when every item succeeded", async () => {
    const dir = join(pkg.consumer, "batch-jsonl");
    await mkdir(dir, { recursive: true });
    const file = join(dir, "clips.jsonl");
    const bodies = [
      { video_url: "https://example.com/x.mp4", bgm_prompt: "rain" },
      { video_url: "https://example.com/y.mp4", sound_effect_prompt: "steps" },
    ];
    await writeFile(file, `${bodies.map((b) => JSON.stringify(b)).join("\n")}\n`);
    const result = await kling(pkg, ["batch", file, ...POLL, "--base-url", mock.url], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    const lines = readFileSync(`${file}.results.jsonl`, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.ok)).toEqual([true, true]);
    expect(lines.map((l) => l.index).sort()).toEqual([0, 1]);
  });
});
