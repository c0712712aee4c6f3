// The batch results file: taken under a lock file (one run at a time), repaired after a crash, appended line by line.
import { closeSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from "node:fs";
import { KlingValidationError } from "../errors.js";
import type { ResultRecord } from "../types.js";
import { takeBatchLock } from "./batch-lock.js";

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
