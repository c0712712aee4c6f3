#!/usr/bin/env node
// The `kling-v2a` command line: run, create, get, wait, list, batch and mock, over the SDK.
import { readFileSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { createClient, type VideoToAudioClient } from "./client.js";
import { BATCH_OPTIONS, parseBatchFlags, runBatchFile } from "./cli-batch.js";
import { downloadTask, type DownloadedFile } from "./cli-download.js";
import { KlingTaskFailedError, KlingTimeoutError, KlingValidationError } from "./errors.js";
import { BASE_URLS, readEnv } from "./options.js";
import type { CreateTaskInput, Task } from "./types.js";

/** Exit codes, as documented in `--help` and the README. */
export const EXIT = { ok: 0, taskFailed: 1, usage: 2, api: 3, timeout: 4 } as const;

const HELP = `kling-v2a: generate sound effects and music for a short video with Kling's Video-to-Audio API

Usage:
  kling-v2a run    (--video-url URL | --video-id ID) [input flags] [--timeout SEC] [--download DIR] [--json]
  kling-v2a create (--video-url URL | --video-id ID) [input flags] [--json]
  kling-v2a get    TASK_ID [--json]
  kling-v2a wait   TASK_ID [--timeout SEC] [--download DIR] [--json]
  kling-v2a list   [--page N] [--page-size N] [--json]
  kling-v2a batch  FILE [--concurrency N] [--batch-id ID] [--download DIR] [--timeout SEC] [--results FILE] [--json]
  kling-v2a mock   [--port 4010] [--no-lifecycle]    (serves the spec with Prism; tasks progress over time)

Input flags (run, create):
  --video-url URL              an MP4/MOV, 3-20 s, at most 100 MB
  --video-id ID                a video Kling generated (at most 30 days old)
  --sound-effect-prompt TEXT   at most 200 characters
  --bgm-prompt TEXT            background music, at most 200 characters
  --asmr                       detail-enhanced sound effects
  --external-task-id ID        your own id (one is generated when omitted)
  --callback-url URL           Kling POSTs the task there on every status change

Global flags:
  --base-url URL    the server (env KLING_V2A_BASE_URL; default ${BASE_URLS.deerapi})
  --api-key KEY     the API key (env KLING_V2A_API_KEY or DEERAPI_KEY); Kling access/secret keys:
                    env KLING_V2A_ACCESS_KEY and KLING_V2A_SECRET_KEY. A local mock needs no key.
  --json            print exactly one JSON document on stdout
  --poll-interval SEC   steady interval between status polls (run, wait, batch; default 5, first polls sooner)
  --help, --version

Batch: FILE is .jsonl (one create body a line) or a list of video URLs (one a line). Results are
appended to FILE.results.jsonl as items finish; running the same command again skips what succeeded
and waits for tasks already created instead of creating (and paying for) them again.

Progress (status, elapsed time) goes to stderr when it is a terminal; results go to stdout.
Exit codes: 0 success, 1 task failed (batch: any item failed), 2 usage or validation error,
3 API or connection error, 4 timeout.

Examples:
  kling-v2a run --video-url https://example.com/clip.mp4 --bgm-prompt "slow ambient piano" --download ./audio
  kling-v2a create --video-id 866534912876544067 --json | jq -r .task_id
  kling-v2a wait 866889456698785798 --timeout 300
  kling-v2a batch clips.txt --concurrency 4 --download ./audio
  kling-v2a mock & kling-v2a run --base-url http://127.0.0.1:4010 --video-url https://example.com/clip.mp4
`;

const GLOBAL = {
  "base-url": { type: "string" },
  "api-key": { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
  version: { type: "boolean", short: "v", default: false },
} as const satisfies ParseArgsConfig["options"];

const INPUT = {
  "video-url": { type: "string" },
  "video-id": { type: "string" },
  "sound-effect-prompt": { type: "string" },
  "bgm-prompt": { type: "string" },
  asmr: { type: "boolean" },
  "external-task-id": { type: "string" },
  "callback-url": { type: "string" },
} as const satisfies ParseArgsConfig["options"];

const WAIT = { timeout: { type: "string" }, download: { type: "string" }, "poll-interval": { type: "string" } } as const satisfies ParseArgsConfig["options"];

class UsageError extends Error {}

export interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "mock") {
    const { runMockCommand } = await import("../mocks/command.js");
    return runMockCommand(rest);
  }
  const json = argv.includes("--json");
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error("interrupted (Ctrl-C)"));
  process.once("SIGINT", onSignal);
  try {
    return await dispatch(command, rest, io, controller.signal);
  } catch (error) {
    return report(error, io, json);
  } finally {
    process.off("SIGINT", onSignal);
  }
}

async function dispatch(command: string | undefined, rest: string[], io: Io, signal: AbortSignal): Promise<number> {
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    io.stdout.write(HELP);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (command === "--version" || command === "-v") {
    io.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  const options = {
    run: { ...GLOBAL, ...INPUT, ...WAIT },
    create: { ...GLOBAL, ...INPUT },
    get: GLOBAL,
    wait: { ...GLOBAL, ...WAIT },
    list: { ...GLOBAL, page: { type: "string" }, "page-size": { type: "string" } } as const,
    batch: { ...GLOBAL, ...BATCH_OPTIONS },
  }[command];
  if (!options) throw new UsageError(`unknown command "${command}"; see kling-v2a --help`);
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  const kling = clientFrom(values);
  const json = values.json === true;
  const progress = io.stderr.isTTY && (command === "run" || command === "wait") ? startProgress(io.stderr) : undefined;
  try {
    switch (command) {
      case "create": {
        noPositionals(positionals);
        const task = await kling.createTask(inputFrom(values), { signal });
        print(io, json, task, `task ${task.task_id} ${task.task_status}${externalOf(task)}\nwait for it: kling-v2a wait ${task.task_id}\n`);
        return EXIT.ok;
      }
      case "get": {
        const task = await kling.getTask(onePositional(positionals, "TASK_ID"), { signal });
        print(io, json, task, describeTask(task));
        return EXIT.ok;
      }
      case "list": {
        noPositionals(positionals);
        const tasks = await kling.listTasks(
          { pageNum: integerFlag(values.page, "--page"), pageSize: integerFlag(values["page-size"], "--page-size") },
          { signal },
        );
        print(io, json, tasks, tasks.length === 0 ? "no tasks on this page\n" : tasks.map(listLine).join(""));
        return EXIT.ok;
      }
      case "run":
      case "wait": {
        const waitOptions = {
          signal,
          timeoutMs: secondsFlag(values.timeout, "--timeout"),
          pollIntervalMs: secondsFlag(values["poll-interval"], "--poll-interval"),
          onProgress: progress?.update,
        };
        const task =
          command === "run"
            ? (noPositionals(positionals), await kling.run(inputFrom(values), waitOptions))
            : await kling.waitForTask(onePositional(positionals, "TASK_ID"), waitOptions);
        progress?.stop();
        const files = typeof values.download === "string" ? await downloadTask(task, values.download, { progress: io.stderr.isTTY ? io.stderr : undefined, signal }) : undefined;
        print(io, json, files ? { task, files } : task, describeTask(task) + (files ? describeFiles(files) : ""));
        return EXIT.ok;
      }
      case "batch":
        return await runBatchFile(kling, onePositional(positionals, "FILE"), parseBatchFlags(values), io, signal);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } finally {
    progress?.stop();
  }
}

function clientFrom(values: Record<string, string | boolean | undefined>): VideoToAudioClient {
  const baseUrl = str(values["base-url"]) ?? readEnv("KLING_V2A_BASE_URL");
  let apiKey = str(values["api-key"]) ?? readEnv("KLING_V2A_API_KEY") ?? readEnv("DEERAPI_KEY");
  const accessKey = readEnv("KLING_V2A_ACCESS_KEY");
  const secretKey = readEnv("KLING_V2A_SECRET_KEY");
  // A local mock accepts any bearer token, so trying the CLI against it needs no key.
  if (!apiKey && !accessKey && baseUrl && isLoopback(baseUrl)) apiKey = "mock";
  if (!apiKey && !accessKey) {
    throw new UsageError("no API key: pass --api-key, or set KLING_V2A_API_KEY (or DEERAPI_KEY, or KLING_V2A_ACCESS_KEY and KLING_V2A_SECRET_KEY)");
  }
  return createClient({ apiKey, accessKey, secretKey, baseUrl });
}

function inputFrom(values: Record<string, string | boolean | undefined>): CreateTaskInput {
  const input: Record<string, unknown> = {
    video_url: values["video-url"],
    video_id: values["video-id"],
    sound_effect_prompt: values["sound-effect-prompt"],
    bgm_prompt: values["bgm-prompt"],
    asmr_mode: values.asmr,
    external_task_id: values["external-task-id"],
    callback_url: values["callback-url"],
  };
  // The SDK checks the input and names the field; flags are only renamed here.
  return input as CreateTaskInput;
}

function print(io: Io, json: boolean, value: unknown, text: string): void {
  io.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : text);
}

function describeTask(task: Task): string {
  const lines = [`task ${task.task_id} ${task.task_status}${externalOf(task)}`];
  if (task.task_status_msg) lines.push(`reason: ${task.task_status_msg}`);
  (task.task_result?.audios ?? []).forEach((audio, i) => {
    const duration = audio.duration_mp3 ?? audio.duration_wav;
    lines.push(`audio ${i + 1}${duration ? ` (${duration} s)` : ""}:`);
    if (audio.url_mp3) lines.push(`  mp3 ${audio.url_mp3}`);
    if (audio.url_wav) lines.push(`  wav ${audio.url_wav}`);
  });
  (task.task_result?.videos ?? []).forEach((video, i) => lines.push(`video ${i + 1} with audio: ${video.url}`));
  if (task.task_status === "succeed") lines.push("result files are deleted 30 days after the task was created");
  return `${lines.join("\n")}\n`;
}

function describeFiles(files: DownloadedFile[]): string {
  if (files.length === 0) return "nothing to download: the task has no audio files\n";
  return files.map((f) => `saved ${f.path} (${f.bytes} bytes)\n`).join("");
}

function listLine(task: Task): string {
  const created = task.created_at ? new Date(task.created_at).toISOString() : "-";
  return `${task.task_id}\t${task.task_status}\t${created}\t${task.task_info?.external_task_id ?? "-"}\n`;
}

function externalOf(task: Task): string {
  const id = task.task_info?.external_task_id;
  return id ? ` (external_task_id ${id})` : "";
}

/** A one-line status display on a terminal: status and elapsed time, redrawn in place. */
function startProgress(stream: NodeJS.WriteStream) {
  const started = Date.now();
  let status = "starting";
  let taskId = "";
  const draw = () => stream.write(`\r\x1b[2K${taskId ? `task ${taskId} ` : ""}${status} · ${((Date.now() - started) / 1000).toFixed(1)}s`);
  const timer = setInterval(draw, 200);
  timer.unref();
  let stopped = false;
  return {
    update(task: Task) {
      status = task.task_status;
      taskId = task.task_id;
      draw();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      draw();
      stream.write("\n");
    },
  };
}

/** Prints an error (never a secret: SDK errors hold none) and picks the exit code. */
function report(error: unknown, io: Io, json: boolean): number {
  const code = exitCodeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (json) {
    const e = error as Record<string, unknown>;
    const fields = ["name", "code", "status", "requestId", "field", "taskId", "lastStatus", "externalTaskId", "task"] as const;
    const detail: Record<string, unknown> = { message };
    for (const field of fields) if (e && e[field] !== undefined) detail[field] = e[field];
    if (error instanceof UsageError) detail.name = "UsageError";
    io.stdout.write(`${JSON.stringify({ error: detail }, null, 2)}\n`);
  }
  io.stderr.write(`kling-v2a: ${message}\n`);
  if (error instanceof KlingTimeoutError && error.taskId) io.stderr.write(`keep waiting: kling-v2a wait ${error.taskId}\n`);
  if (error instanceof UsageError) io.stderr.write("see kling-v2a --help\n");
  return code;
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError || error instanceof KlingValidationError) return EXIT.usage;
  if (error instanceof KlingTaskFailedError) return EXIT.taskFailed;
  if (error instanceof KlingTimeoutError) return EXIT.timeout;
  // API and connection errors, and anything unexpected: the exit code for "the service did not do it".
  return EXIT.api;
}

function onePositional(positionals: string[], name: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected one ${name}, got ${positionals.length}`);
  return positionals[0]!;
}

function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
}

function integerFlag(value: string | boolean | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`${flag} must be an integer, not "${value}"`);
  return n;
}

function secondsFlag(value: string | boolean | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number of seconds, not "${value}"`);
  return n * 1000;
}

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function isLoopback(url: string): boolean {
  try {
    return ["127.0.0.1", "localhost", "[::1]"].includes(new URL(url).hostname);
  } catch {
    return false;
  }
}

function version(): string {
  for (const path of ["../../package.json", "../package.json"]) {
    try {
      return JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")).version;
    } catch {
      // dist/src/cli.js sits two levels below package.json, src/cli.ts one.
    }
  }
  return "unknown";
}

/**
 * True for `node dist/src/cli.js ...` (run by path, as this repo's tests do; the installed bin is bin.js). Compared by
 * real path, so a symlink to this file counts too; modules fetched here keep this block the file's only change.
 */
function invokedDirectly(): boolean {
  if (!process.argv[1]) return false;
  const { realpathSync } = process.getBuiltinModule("node:fs");
  const { fileURLToPath } = process.getBuiltinModule("node:url");
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
