// The `kling-v2a` commands run, create, get, wait, list and batch over the SDK, and the way to mock and queue commands.
import { readFileSync } from "node:fs";
import type { ParseArgsConfig } from "node:util";
import type { VideoToAudioClient } from "../client.js";
import { KlingTimeoutError } from "../errors.js";
import { BASE_URLS } from "../options.js";
import type { CreateTaskInput, Task } from "../types.js";
import { BATCH_OPTIONS, parseBatchFlags, runBatchFile } from "./batch.js";
import { CHECK_FLAG, checkBeforeRun, runCheckCommand } from "./check.js";
import {
  clientFrom,
  EXIT,
  exitCodeOf,
  Interrupted,
  type Io,
  inCliTerms,
  integerFlag,
  onStopSignals,
  parseFlags,
  positiveNumberFlag,
  redactingIo,
  UsageError,
} from "./common.js";
import { checkDownloadDir, type DownloadedFile, downloadTask } from "./download.js";

const HELP = `kling-v2a: generate sound effects and music for a short video with Kling's Video-to-Audio API

Usage:
  kling-v2a run    (--video-url URL | --video-id ID) [input flags] [--timeout SEC] [--download DIR ...] [--json]
  kling-v2a create (--video-url URL | --video-id ID) [input flags] [--json]
  kling-v2a get    TASK_ID [--json]
  kling-v2a wait   TASK_ID [--timeout SEC] [--download DIR [--force] [--max-download-mb N]] [--json]
  kling-v2a list   [--page N] [--page-size N] [--json]
  kling-v2a batch  FILE [--concurrency N] [--batch-id ID] [--download DIR ...] [--timeout SEC] [--results FILE] [--json]
  kling-v2a mock   [--port 4010] [--webhook-secret whsec_...] [--require-auth] [...]   (a local Kling: tasks progress,
                   media play, callbacks arrive; no key needed; all flags: kling-v2a mock --help)

Many machines, one account (a BullMQ queue on Redis; npm i bullmq):
  kling-v2a enqueue FILE --redis URL [--batch-id ID]     add a batch file's items (adds nothing twice)
  kling-v2a worker  --redis URL [--account-concurrency N] [--concurrency N]   run jobs under the account's limit
  kling-v2a results --redis URL --batch-id ID            the finished items, as JSONL

Preflight (needs the optional parser: npm i mediabunny):
  kling-v2a check  URL|FILE... [--timeout SEC] [--json]   would Kling take these videos? (kling-v2a check --help)
  --check on run and batch checks each video first: a video Kling would refuse is not created
                   (run: exit 2; batch: a failed item with the problem, and the batch goes on)

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

Batch: FILE is .jsonl (one create body a line) or a list of video URLs (one a line; a line starting
with { is a create body in any file); text only (UTF-8, or UTF-16 with a BOM): anything else is refused
before anything is written. Results are appended to FILE.results.jsonl as items finish (index = the
item's 0-based line in FILE); running the same command again skips what succeeded and waits for tasks
already created instead of creating (and paying for) them again. One run at a time per results file (a
.lock file beside it; a lock left by a process that is gone, on any host, is taken over).

Downloads: --download DIR saves <task_id>.mp3/.wav; an existing file is not overwritten without
--force; a transfer that sends nothing for 30 s, or runs past --timeout, is given up; a file larger than
--max-download-mb (default 512) is cut off and removed (exit 3).

Progress (status, elapsed time) goes to stderr: redrawn on a terminal, a line per status change otherwise;
results go to stdout.
Exit codes: 0 success, 1 task failed (batch: any item failed), 2 usage or validation error,
3 API or connection error, 4 timeout, 130 interrupted (Ctrl-C: the task keeps running; the task id is
printed); SIGTERM and SIGHUP do the same, exit 143 and 129.

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

const WAIT = {
  timeout: { type: "string" },
  download: { type: "string" },
  force: { type: "boolean" },
  "max-download-mb": { type: "string" },
  "poll-interval": { type: "string" },
} as const satisfies ParseArgsConfig["options"];

/** What the running command knows of its task, so an interruption can say how to pick it up again. */
interface Session {
  taskId?: string | undefined;
  /** The task the command asked about (wait's TASK_ID) or created (run): the only one whose files it saves. */
  askedTaskId?: string | undefined;
  /** For a command without one task (batch): how to carry on after an interruption. */
  resume?: string | undefined;
}

export async function main(
  argv: string[],
  given: Io = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const io = redactingIo(given, argv);
  const [command, ...rest] = argv;
  if (command === "mock") {
    const { runMockCommand } = await import("../../mocks/command.js");
    return runMockCommand(rest);
  }
  if (command === "worker" || command === "enqueue" || command === "results") {
    const { runQueueCommand } = await import("./queue.js");
    return runQueueCommand(command, rest, io);
  }
  const json = argv.includes("--json");
  const controller = new AbortController();
  const session: Session = {};
  // The first Ctrl-C (or SIGTERM, SIGHUP) stops the command cleanly: the task keeps running on the server, its id is
  // printed, a batch releases its lock. A second signal exits at once.
  const removeHandlers = onStopSignals((signal) => controller.abort(new Interrupted(signal)));
  try {
    return await dispatch(command, rest, io, controller.signal, session);
  } catch (error) {
    return report(controller.signal.aborted ? controller.signal.reason : error, io, json, session);
  } finally {
    removeHandlers();
  }
}

async function dispatch(
  command: string | undefined,
  rest: string[],
  io: Io,
  signal: AbortSignal,
  session: Session,
): Promise<number> {
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    io.stdout.write(HELP);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (command === "--version" || command === "-v") {
    io.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  if (command === "check") return runCheckCommand(rest, io, signal);
  const options = {
    run: { ...GLOBAL, ...INPUT, ...WAIT, ...CHECK_FLAG },
    create: { ...GLOBAL, ...INPUT },
    get: GLOBAL,
    wait: { ...GLOBAL, ...WAIT },
    list: { ...GLOBAL, page: { type: "string" }, "page-size": { type: "string" } } as const,
    batch: { ...GLOBAL, ...BATCH_OPTIONS },
  }[command];
  if (!options) throw new UsageError(`unknown command "${command}"; see kling-v2a --help`);
  const { values, positionals } = parseFlags(rest, options);
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  const kling = clientFrom(values);
  const json = values.json === true;
  const startedAt = Date.now();
  const progress = command === "run" || command === "wait" ? startProgress(io.stderr, session) : undefined;
  try {
    switch (command) {
      case "create": {
        noPositionals(positionals);
        const task = await kling.createTask(inputFrom(values), { signal });
        session.taskId = task.task_id;
        print(
          io,
          json,
          task,
          `task ${task.task_id} ${task.task_status}${externalOf(task)}\nwait for it: kling-v2a wait ${task.task_id}\n`,
        );
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
      case "wait":
        return await runOrWait(command, kling, values, positionals, { io, signal, session, progress, json, startedAt });
      case "batch":
        session.resume =
          "run the same command again to resume: tasks already created are waited for, not created again";
        return await runBatchFile(kling, onePositional(positionals, "FILE"), parseBatchFlags(values), io, signal);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } finally {
    progress?.stop();
  }
}

/** What `run` and `wait` share with the command around them. */
interface WaitContext {
  io: Io;
  signal: AbortSignal;
  session: Session;
  progress: ReturnType<typeof startProgress> | undefined;
  json: boolean;
  startedAt: number;
}

/** `run` (create, then wait) and `wait TASK_ID`, then the result printed and, with `--download`, its files saved. */
async function runOrWait(
  command: "run" | "wait",
  kling: VideoToAudioClient,
  values: Record<string, string | boolean | undefined>,
  positionals: string[],
  { io, signal, session, progress, json, startedAt }: WaitContext,
): Promise<number> {
  const timeoutMs = secondsFlag(values.timeout, "--timeout");
  const waitOptions = {
    signal,
    timeoutMs,
    pollIntervalMs: secondsFlag(values["poll-interval"], "--poll-interval"),
    onProgress: progress?.update,
  };
  const maxMb = positiveNumberFlag(values["max-download-mb"], "--max-download-mb", { unit: "number of MB" });
  // A --download path that cannot be a folder is refused before a task is created (and paid for).
  if (typeof values.download === "string") checkDownloadDir(values.download);
  let task: Task;
  if (command === "wait") {
    const taskId = onePositional(positionals, "TASK_ID");
    session.taskId = session.askedTaskId = taskId;
    task = await kling.waitForTask(taskId, waitOptions);
  } else {
    noPositionals(positionals);
    if (values.check === true) await checkBeforeRun(values["video-url"], io, signal);
    task = await kling.run(inputFrom(values), waitOptions);
  }
  progress?.stop();
  if (typeof values.download !== "string") {
    print(io, json, task, describeTask(task));
    return EXIT.ok;
  }
  const download = {
    force: values.force === true,
    maxMb,
    // The task this command created or was asked about (the first progress report of run is its create).
    taskId: session.askedTaskId,
    deadline: timeoutMs === undefined ? undefined : startedAt + timeoutMs,
    progress: io.stderr.isTTY ? io.stderr : undefined,
    signal,
  };
  try {
    const files = await downloadTask(task, values.download, download);
    print(io, json, { task, files }, describeTask(task) + describeFiles(files));
    return EXIT.ok;
  } catch (error) {
    if (signal.aborted) throw error;
    // The task succeeded and was paid for: its result is printed whatever happened to the files.
    print(io, json, { task, files: [], error: errorJson(error) }, describeTask(task));
    return report(error, io, false, session);
  }
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
  for (const [i, video] of (task.task_result?.videos ?? []).entries())
    lines.push(`video ${i + 1} with audio: ${video.url}`);
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

/**
 * Progress on stderr: on a terminal a status line redrawn in place; elsewhere (logs, CI) one line per status change,
 * so the task id is on record as soon as the task exists. Either way the session learns the task id.
 */
function startProgress(stream: NodeJS.WriteStream, session: Session) {
  const started = Date.now();
  const tty = stream.isTTY === true;
  let status = "starting";
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const draw = () =>
    stream.write(`\r\x1b[2K${session.taskId ? `task ${session.taskId} ` : ""}${status} · ${elapsed()}`);
  const timer = tty ? setInterval(draw, 200) : undefined;
  timer?.unref();
  let stopped = false;
  return {
    update(task: Task) {
      status = task.task_status;
      session.taskId = task.task_id;
      session.askedTaskId ??= task.task_id;
      if (tty) draw();
      else stream.write(`task ${task.task_id} ${status} · ${elapsed()}\n`);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (!tty) return;
      clearInterval(timer);
      draw();
      stream.write("\n");
    },
  };
}

/** The fields of an error worth printing as JSON (SDK errors hold no secret). */
function errorJson(error: unknown): Record<string, unknown> {
  const e = error as Record<string, unknown>;
  const fields = [
    "name",
    "code",
    "status",
    "requestId",
    "field",
    "taskId",
    "lastStatus",
    "externalTaskId",
    "task",
  ] as const;
  const detail: Record<string, unknown> = {
    message: inCliTerms(error instanceof Error ? error.message : String(error)),
  };
  for (const field of fields) if (e && e[field] !== undefined) detail[field] = e[field];
  if (error instanceof UsageError) detail.name = "UsageError";
  return detail;
}

/** Prints an error once (never a secret: SDK errors hold none) and picks the exit code. */
function report(error: unknown, io: Io, json: boolean, session: Session): number {
  const code = exitCodeOf(error);
  const message = inCliTerms(error instanceof Error ? error.message : String(error));
  if (json) {
    const detail = errorJson(error);
    if (error instanceof Interrupted && session.taskId) detail.taskId = session.taskId;
    io.stdout.write(`${JSON.stringify({ error: detail }, null, 2)}\n`);
  }
  io.stderr.write(`kling-v2a: ${message}\n`);
  if (error instanceof Interrupted && session.taskId) {
    io.stderr.write(
      `task ${session.taskId} keeps running on the server; pick it up with: kling-v2a wait ${session.taskId}\n`,
    );
  }
  if (error instanceof Interrupted && session.resume) io.stderr.write(`${session.resume}\n`);
  if (error instanceof KlingTimeoutError && error.taskId)
    io.stderr.write(`keep waiting: kling-v2a wait ${error.taskId}\n`);
  if (error instanceof UsageError) io.stderr.write("see kling-v2a --help\n");
  return code;
}

function onePositional(positionals: string[], name: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected one ${name}, got ${positionals.length}`);
  return positionals[0]!;
}

function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
}

function secondsFlag(value: string | boolean | undefined, flag: string): number | undefined {
  return positiveNumberFlag(value, flag, { scale: 1000, unit: "number of seconds" });
}

function version(): string {
  // The package.json this module ships in, wherever the build put the module (src/cli/, dist/src/cli/ or dist/chunks/).
  for (const path of ["../../package.json", "../../../package.json", "../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "kling-video-to-audio" && pkg.version) return pkg.version;
    } catch {
      // not at this depth
    }
  }
  return "unknown";
}
