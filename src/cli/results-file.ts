// The batch results file: taken under a lock file (one run at a time), repaired after a crash, appended line by line.
import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { KlingValidationError } from "../errors.js";
import type { ResultRecord } from "../types.js";

export interface ResultsFile {
  /** External ids that succeeded in an earlier run: their items are skipped. */
  readonly succeeded: ReadonlySet<string>;
  /** Appends one JSON line and flushes it to the OS before resolving, so a crash loses at most the line being written. */
  append(record: ResultRecord): void;
  /** Closes the file and removes the lock. Safe to call twice. */
  close(): void;
}

/**
 * Opens `path` for a batch run: refuses (KlingValidationError naming `--results`) when it cannot be written or
 * another live process holds its lock; then keeps only the lines of items that succeeded (a line cut short by a
 * crash, and failures that this run retries, are dropped), so the file holds exactly one line per finished item.
 */
export function openResultsFile(path: string): ResultsFile {
  const lockPath = `${path}.lock`;
  takeLock(path, lockPath);
  let fd: number;
  try {
    fd = openSync(path, "a");
  } catch (error) {
    rmSync(lockPath, { force: true });
    throw new KlingValidationError("--results", `cannot write the results file ${path}: ${(error as Error).message}`);
  }
  let succeeded: Set<string>;
  try {
    succeeded = repair(path);
  } catch (error) {
    closeSync(fd);
    rmSync(lockPath, { force: true });
    throw error;
  }
  // The file may have been replaced by the repair: append to the new one.
  closeSync(fd);
  fd = openSync(path, "a");
  let closed = false;
  return {
    succeeded,
    append(record) {
      writeSync(fd, `${JSON.stringify(record)}\n`);
    },
    close() {
      if (closed) return;
      closed = true;
      closeSync(fd);
      rmSync(lockPath, { force: true });
    },
  };
}

/** Rewrites the file with its succeeded lines only (one per external id, the last), when anything else is in it. */
function repair(path: string): Set<string> {
  const text = readFileSync(path, "utf8");
  const kept = new Map<string, string>();
  let dirty = text !== "" && !text.endsWith("\n");
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const record = parse(line);
    if (record?.ok) {
      if (kept.has(record.externalTaskId)) dirty = true;
      kept.set(record.externalTaskId, line);
    } else dirty = true;
  }
  if (dirty) {
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, [...kept.values()].map((line) => `${line}\n`).join(""));
    renameSync(temporary, path);
  }
  return new Set(kept.keys());
}

function parse(line: string): ResultRecord | undefined {
  try {
    const value = JSON.parse(line) as Partial<ResultRecord>;
    return typeof value === "object" &&
      value !== null &&
      typeof value.externalTaskId === "string" &&
      typeof value.ok === "boolean"
      ? (value as ResultRecord)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Creates the lock file exclusively; a lock whose process is gone (same host) is stale and taken over. */
function takeLock(path: string, lockPath: string): void {
  const mine = JSON.stringify({ pid: process.pid, host: hostname() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, mine, { flag: "wx" });
      return;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== "EEXIST")
        throw new KlingValidationError(
          "--results",
          `cannot write the results file ${path}: ${(error as Error).message}`,
        );
    }
    const holder = readHolder(lockPath);
    if (holder === "unreadable") {
      throw new KlingValidationError(
        "--results",
        `${path} is locked by another kling-v2a batch that is starting (${lockPath}); try again in a moment.`,
      );
    }
    if (holder && isAlive(holder)) {
      throw new KlingValidationError(
        "--results",
        `another kling-v2a batch (pid ${holder.pid} on ${holder.host}) is writing ${path}; wait for it to finish, or delete ${lockPath} if that process is gone.`,
      );
    }
    rmSync(lockPath, { force: true });
  }
  throw new KlingValidationError(
    "--results",
    `could not take the lock ${lockPath}; delete it if no other kling-v2a batch is running.`,
  );
}

/** How long a lock file without readable contents counts as being written by a process that is starting. */
const LOCK_WRITE_GRACE_MS = 10_000;

/** The lock's holder; "unreadable" while a fresh lock is still being written; undefined for a broken, old one. */
function readHolder(lockPath: string): { pid: number; host: string } | "unreadable" | undefined {
  try {
    const value = JSON.parse(readFileSync(lockPath, "utf8")) as { pid?: unknown; host?: unknown };
    if (typeof value.pid === "number" && typeof value.host === "string") return { pid: value.pid, host: value.host };
  } catch {
    // Empty or cut short: judged by its age below.
  }
  try {
    return Date.now() - statSync(lockPath).mtimeMs < LOCK_WRITE_GRACE_MS ? "unreadable" : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the lock's holder still runs. On another host it cannot be checked, so it counts as alive. */
function isAlive(holder: { pid: number; host: string }): boolean {
  if (holder.host !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}
