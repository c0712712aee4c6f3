// Worker processes for the BullMQ suites and `npm run scale`: `kling-v2a worker` children, their stderr lines, and
// kills.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../..", import.meta.url));

export interface WorkerSpec {
  redisUrl: string;
  /** The Kling server the worker's jobs call (the fake). */
  baseUrl: string;
  queue?: string | undefined;
  accountConcurrency?: number | undefined;
  concurrency?: number | undefined;
  /** Seconds. */
  pollInterval?: number | undefined;
  /** Seconds: one attempt's wait. */
  timeout?: number | undefined;
  name?: string | undefined;
  /** The command to run: `[file, ...args]` before `worker`. @default this checkout's src/cli/bin.ts under tsx */
  command?: string[] | undefined;
  /** Working directory. @default the repository root */
  cwd?: string | undefined;
}

export interface WorkerProcess {
  name: string;
  child: ChildProcess;
  /** Every stderr line so far. */
  lines: string[];
  /** Job ids this worker has started and not yet finished (from its log lines). */
  active: Set<string>;
  /** Resolves with the first line (already seen or still to come) matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

/** The worker CLI of this checkout, run from source (no build needed). */
export const SOURCE_CLI = [process.execPath, "--import", "tsx", `${root}src/cli/bin.ts`];

export function spawnWorker(spec: WorkerSpec): WorkerProcess {
  const [file, ...pre] = spec.command ?? SOURCE_CLI;
  const name = spec.name ?? `worker-${Math.random().toString(36).slice(2, 8)}`;
  const args = [
    ...pre,
    "worker",
    "--redis",
    spec.redisUrl,
    "--base-url",
    spec.baseUrl,
    "--api-key",
    "bullmq-test-key-0123456789",
    "--name",
    name,
  ];
  if (spec.queue) args.push("--queue", spec.queue);
  if (spec.accountConcurrency !== undefined) args.push("--account-concurrency", String(spec.accountConcurrency));
  if (spec.concurrency !== undefined) args.push("--concurrency", String(spec.concurrency));
  if (spec.pollInterval !== undefined) args.push("--poll-interval", String(spec.pollInterval));
  if (spec.timeout !== undefined) args.push("--timeout", String(spec.timeout));
  const env: NodeJS.ProcessEnv = { ...process.env, KLING_V2A_LOG: "warn" };
  for (const key of [
    "KLING_V2A_API_KEY",
    "DEERAPI_KEY",
    "KLING_V2A_BASE_URL",
    "KLING_V2A_ACCESS_KEY",
    "KLING_V2A_SECRET_KEY",
  ])
    delete env[key];
  const child = spawn(file!, args, { cwd: spec.cwd ?? root, env, stdio: ["ignore", "pipe", "pipe"] });
  return watch(name, child);
}

function watch(name: string, child: ChildProcess): WorkerProcess {
  const lines: string[] = [];
  const active = new Set<string>();
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  let partial = "";
  const onLine = (line: string) => {
    lines.push(line);
    const [verb, raw] = line.split(" ");
    const id = raw?.replace(/:$/, "");
    if (verb === "started" && id) active.add(id);
    if ((verb === "done" || verb === "failed") && id) active.delete(id);
    for (const waiter of waiters) {
      if (waiter.pattern.test(line)) {
        waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  };
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    parts.forEach(onLine);
  });
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    name,
    child,
    lines,
    active,
    exited,
    kill: (signal = "SIGTERM") => void child.kill(signal),
    waitFor(pattern, timeoutMs = 60_000) {
      const seen = lines.find((line) => pattern.test(line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          pattern,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(
              `${name}: no line matching ${pattern} within ${timeoutMs} ms; its ` +
                `output:\n${lines.slice(-30).join("\n")}`,
            ),
          );
        }, timeoutMs);
        waiters.add(waiter);
        void exited.then(() => {
          if (!waiters.has(waiter)) return;
          waiters.delete(waiter);
          clearTimeout(timer);
          reject(
            new Error(`${name} exited before a line matching ${pattern}; its output:\n${lines.slice(-30).join("\n")}`),
          );
        });
      });
    },
  };
}

/** Stops every worker still running (SIGKILL after `graceMs`), so no test leaves a process behind. */
export async function stopAll(workers: WorkerProcess[], graceMs = 15_000): Promise<void> {
  await Promise.all(
    workers.map(async (worker) => {
      if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
      worker.kill("SIGTERM");
      const timer = setTimeout(() => worker.kill("SIGKILL"), graceMs);
      await worker.exited;
      clearTimeout(timer);
    }),
  );
}

/** Creates per external_task_id beyond the first: the figure that must be 0. */
export function duplicateCreates(tasks: Array<{ external_task_id: string | undefined }>): number {
  const seen = new Map<string, number>();
  for (const task of tasks) seen.set(task.external_task_id ?? "", (seen.get(task.external_task_id ?? "") ?? 0) + 1);
  let extra = 0;
  for (const count of seen.values()) extra += count - 1;
  return extra;
}
