// The batch's own files: its results file (one line per finished item) and its lock (pid, host, heartbeat).

import { randomUUID } from "node:crypto";
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { KlingValidationError } from "../errors.js";
import type { ResultRecord } from "../types.js";

export interface ResultsFile {
  /** External ids that succeeded in an earlier run: their items are skipped. */
  readonly succeeded: ReadonlySet<string>;
  /**
   * Appends one JSON line and flushes it to the OS before resolving, so a crash loses at most the line being written.
   */
  append(record: ResultRecord): void;
  /** Closes the file and removes the lock. Safe to call twice. */
  close(): void;
}

/**
 * Opens `path` for a batch run: refuses (KlingValidationError naming `--results`) when it cannot be written or
 * another live process holds its lock (a lock whose holder is gone is taken over, `notice` saying so); then keeps
 * only the lines of items that succeeded (a line cut short by a crash, and failures that this run retries, are
 * dropped), so the file holds exactly one line per finished item.
 */
export function openResultsFile(path: string, notice: (line: string) => void = () => {}): ResultsFile {
  const lock = takeBatchLock(path, `${path}.lock`, notice);
  let fd: number;
  try {
    fd = openSync(path, "a");
  } catch (error) {
    lock.release();
    throw new KlingValidationError("--results", `cannot write the results file ${path}: ${(error as Error).message}`);
  }
  let succeeded: Set<string>;
  try {
    succeeded = repair(path);
  } catch (error) {
    closeSync(fd);
    lock.release();
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
      lock.release();
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

/** How often a running batch refreshes its lock's heartbeat. */
export const LOCK_HEARTBEAT_MS = 15_000;
/**
 * A lock whose heartbeat is older than this belongs to a process that is gone (on another host, e.g. a container
 * that was removed, its pid cannot be checked; on this host, its pid may have been reused by another program).
 */
const LOCK_STALE_MS = 2 * 60_000;
/** How long a lock file without readable contents counts as being written by a process that is starting. */
const LOCK_WRITE_GRACE_MS = 10_000;

/** What a lock file records. `heartbeat` is epoch ms, refreshed every LOCK_HEARTBEAT_MS while the batch runs. */
interface Holder {
  pid: number;
  host: string;
  heartbeat?: number | undefined;
  /** Tells this run's lock from a later one at the same path. */
  token?: string | undefined;
}

export interface BatchLock {
  /** Stops the heartbeat and removes the lock file if it is still this run's. Safe to call twice. */
  release(): void;
}

/**
 * Takes `lockPath` for `path`'s batch run, refusing (KlingValidationError naming `--results`) while a live process
 * holds it. A lock whose holder is gone is taken over, and `notice` says so. The lock's heartbeat is refreshed until
 * `release()`, which also runs if the process exits without it (a second Ctrl-C).
 */
export function takeBatchLock(path: string, lockPath: string, notice: (line: string) => void): BatchLock {
  const mine: Holder = { pid: process.pid, host: hostname(), heartbeat: Date.now(), token: randomUUID() };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (create(path, lockPath, mine)) return hold(lockPath, mine);
    const holder = readHolder(lockPath);
    if (holder === "starting") {
      throw new KlingValidationError(
        "--results",
        `${path} is locked by another kling-v2a batch that is starting (${lockPath}); try again in a moment.`,
      );
    }
    const gone = holder && goneBecause(holder);
    if (holder && !gone) {
      throw new KlingValidationError(
        "--results",
        `another kling-v2a batch (pid ${holder.pid} on ${holder.host}) is writing ${path}; wait for it to finish, ` +
          `or delete ${lockPath} if that process is gone.`,
      );
    }
    if (removeIfStill(lockPath, holder)) {
      const who = holder ? `the batch that held it (pid ${holder.pid} on ${holder.host}) ${gone}` : "it was unreadable";
      notice(`took over ${lockPath}: ${who}`);
    }
  }
  throw new KlingValidationError(
    "--results",
    `could not take the lock ${lockPath}; delete it if no other kling-v2a batch is running.`,
  );
}

/** Creates the lock file exclusively; false when one exists. */
function create(path: string, lockPath: string, mine: Holder): boolean {
  try {
    writeFileSync(lockPath, JSON.stringify(mine), { flag: "wx" });
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === "EEXIST") return false;
    throw new KlingValidationError("--results", `cannot write the results file ${path}: ${(error as Error).message}`);
  }
}

/** Keeps the heartbeat fresh while the lock is ours, and removes it on release or at exit. */
function hold(lockPath: string, mine: Holder): BatchLock {
  const stillMine = () => {
    const holder = readHolder(lockPath);
    return typeof holder === "object" && holder.token === mine.token;
  };
  const beat = setInterval(() => {
    if (!stillMine()) return;
    const temporary = `${lockPath}.${mine.token}.tmp`;
    try {
      writeFileSync(temporary, JSON.stringify({ ...mine, heartbeat: Date.now() }));
      renameSync(temporary, lockPath);
    } catch {
      rmSync(temporary, { force: true }); // a full disk: the next beat tries again
    }
  }, LOCK_HEARTBEAT_MS);
  beat.unref();
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    clearInterval(beat);
    process.off("exit", release);
    if (stillMine()) rmSync(lockPath, { force: true });
  };
  process.on("exit", release);
  return { release };
}

/** The lock's holder; "starting" while a fresh lock is still being written; undefined for a broken, old one. */
function readHolder(lockPath: string): Holder | "starting" | undefined {
  try {
    const value = JSON.parse(readFileSync(lockPath, "utf8")) as Partial<Holder>;
    if (typeof value.pid === "number" && typeof value.host === "string") {
      // A lock written before heartbeats existed: its file's last change stands in for one.
      const heartbeat = typeof value.heartbeat === "number" ? value.heartbeat : statSync(lockPath).mtimeMs;
      return { pid: value.pid, host: value.host, heartbeat, token: value.token };
    }
  } catch {
    // Empty, cut short or gone: judged by its age below.
  }
  try {
    return Date.now() - statSync(lockPath).mtimeMs < LOCK_WRITE_GRACE_MS ? "starting" : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why the holder is gone, or undefined while it may still run. On this host its pid tells; on another host only its
 * heartbeat can. On this host a stale heartbeat next to a live pid means the pid now belongs to another program.
 */
function goneBecause(holder: Holder): string | undefined {
  const silentFor = Date.now() - (holder.heartbeat ?? 0);
  const stale = silentFor > LOCK_STALE_MS ? `has not refreshed it for ${Math.round(silentFor / 1000)} s` : undefined;
  if (holder.host !== hostname()) return stale;
  if (!pidAlive(holder.pid)) return "is no longer running";
  return stale;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}

/**
 * Removes the lock only if it still holds what was judged (so two runs taking over the same dead lock cannot remove
 * the one the first of them just wrote): it is moved aside atomically, compared, and put back if it changed.
 */
function removeIfStill(lockPath: string, judged: Holder | undefined): boolean {
  const aside = `${lockPath}.${randomUUID()}.stale`;
  try {
    renameSync(lockPath, aside);
  } catch {
    return false; // someone else removed it: try to create ours again
  }
  const moved = readHolder(aside);
  const same =
    judged === undefined
      ? moved === undefined
      : typeof moved === "object" &&
        moved.pid === judged.pid &&
        moved.host === judged.host &&
        moved.token === judged.token;
  if (!same) {
    try {
      linkSync(aside, lockPath); // put the newer lock back (unless yet another was made meanwhile)
    } catch {
      // a third run holds the path now: it stays the holder
    }
  }
  rmSync(aside, { force: true });
  return same;
}
