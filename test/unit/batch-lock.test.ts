// The batch lock's heartbeat: refreshed while the run holds it, and never written over a lock another run took over.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { LOCK_HEARTBEAT_MS, takeBatchLock } from "../../src/cli/batch-files.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kling-lock-"));
  vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "Date"] });
});
afterEach(() => vi.useRealTimers());

const read = (path: string) => JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;

it("records pid, host and a heartbeat it refreshes while held, and removes the lock on release", () => {
  const lockPath = join(dir, "r.jsonl.lock");
  const lock = takeBatchLock(join(dir, "r.jsonl"), lockPath, () => {});
  const first = read(lockPath);
  expect(first).toMatchObject({ pid: process.pid, host: expect.any(String), heartbeat: Date.now() });
  vi.advanceTimersByTime(LOCK_HEARTBEAT_MS);
  expect(read(lockPath).heartbeat).toBe((first.heartbeat as number) + LOCK_HEARTBEAT_MS);
  lock.release();
  expect(() => readFileSync(lockPath)).toThrow(/ENOENT/);
});

it("leaves alone a lock another run took over: no heartbeat written over it, not removed on release", () => {
  const lockPath = join(dir, "s.jsonl.lock");
  const lock = takeBatchLock(join(dir, "s.jsonl"), lockPath, () => {});
  const theirs = JSON.stringify({ pid: 1, host: "elsewhere", heartbeat: 5, token: "theirs" });
  writeFileSync(lockPath, theirs);
  vi.advanceTimersByTime(LOCK_HEARTBEAT_MS);
  lock.release();
  expect(readFileSync(lockPath, "utf8")).toBe(theirs);
});
