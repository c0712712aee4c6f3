// `npm run test:bullmq`: the BullMQ suite on a real redis-server; ends with the plain line "N passed, N failed, N skipped".
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const report = `${root}reports/vitest-bullmq.json`;
mkdirSync(`${root}reports`, { recursive: true });
rmSync(report, { force: true });

const vitest = spawnSync(
  process.execPath,
  [`${root}node_modules/vitest/vitest.mjs`, "run", "--config", "vitest.bullmq.config.ts", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { cwd: root, stdio: "inherit" },
);

let summary = "0 passed, 1 failed";
try {
  const r = JSON.parse(readFileSync(report, "utf8"));
  summary = `${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`;
} catch {
  console.error("vitest wrote no report");
}
console.log(summary);
process.exit(vitest.status ?? 1);
