// `npm test` (and the heavier vitest suites of .ci/run): runs vitest and ends with the plain line "N passed, N failed,
// N skipped".
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";

/** The parts of vitest's JSON report read here. */
interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: { status: string; assertionResults: { status: string }[] }[];
}

const root = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
// Each config gets its own report, so a suite never reads another's numbers (nor an earlier run's: removed first).
const config = args[args.indexOf("--config") + 1];
const name = args.includes("--config") && config ? basename(config).replace(/^vitest\.|\.config\.ts$|\.ts$/g, "") : "";
const report = `${root}reports/vitest${name && name !== "config" ? `-${name}` : ""}.json`;
mkdirSync(`${root}reports`, { recursive: true });
rmSync(report, { force: true });

const vitest = spawnSync(
  process.execPath,
  [
    `${root}node_modules/vitest/vitest.mjs`,
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${report}`,
    ...args,
  ],
  { cwd: root, stdio: "inherit" },
);

let summary = "0 passed, 1 failed";
try {
  const r = JSON.parse(readFileSync(report, "utf8")) as VitestReport;
  // A file that fails before its tests run (its setup or import threw) fails no test of its own: count it as one
  // failure, so the line never says "0 failed" for a run that failed.
  const brokenFiles = r.testResults.filter(
    (file) => file.status === "failed" && !file.assertionResults.some((test) => test.status === "failed"),
  ).length;
  let failed = r.numFailedTests + brokenFiles;
  if (failed === 0 && vitest.status !== 0) failed = 1;
  summary = `${r.numPassedTests} passed, ${failed} failed, ${r.numPendingTests + r.numTodoTests} skipped`;
} catch {
  console.error("vitest wrote no report");
}
console.log(summary);
process.exit(vitest.status ?? 1);
