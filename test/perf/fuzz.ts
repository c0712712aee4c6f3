// `npm run fuzz`: the property-based fuzz of test/unit/fuzz.test.ts with many more cases (default 100,000), outside
// `npm test`. Runs vitest on that one file (without the project config: no global setup), with
// FUZZ_RUNS / FUZZ_SEED set, then prints the case counts, the failures and the elapsed time.
//
//   npm run fuzz -- [--runs 100000] [--seed 42]
//
// A failing property prints fast-check's counterexample and the seed/path that replays it; exits 1 on failures.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startVitest } from "vitest/node";

const root = fileURLToPath(new URL("../..", import.meta.url));

function usage(message: string): never {
  console.error(`${message}\nUsage: npm run fuzz -- [--runs N (default 100000, at least 10)] [--seed S (default 42)]`);
  process.exit(2);
}

let values: { runs?: string; seed?: string };
try {
  ({ values } = parseArgs({ options: { runs: { type: "string" }, seed: { type: "string" } }, strict: true }));
} catch (error) {
  usage((error as Error).message);
}
const runs = Number(values.runs ?? 100_000);
const seed = Number(values.seed ?? 42);
if (!Number.isSafeInteger(runs) || runs < 10) usage(`--runs must be an integer of at least 10, not ${values.runs}`);
if (!Number.isSafeInteger(seed) || seed < 0) usage(`--seed must be a non-negative integer, not ${values.seed}`);

const dir = mkdtempSync(join(tmpdir(), "kling-fuzz-"));
const report = join(dir, "figures.json");
Object.assign(process.env, { FUZZ_RUNS: String(runs), FUZZ_SEED: String(seed), FUZZ_REPORT: report });

const started = performance.now();
const vitest = await startVitest("test", ["test/unit/fuzz.test.ts"], {
  root,
  config: false,
  run: true,
  watch: false,
  include: ["test/unit/fuzz.test.ts"],
  reporters: ["default"],
});
await vitest.close();
const elapsed = (performance.now() - started) / 1000;
const failedTests = vitest.state.getCountOfFailedTests();

interface Figures {
  seed: number;
  totalRuns: number;
  create: {
    cases: number;
    valid: number;
    invalid: number;
    nullVideoDropped: number;
    urlRuleDisagreements: number;
    urlKinds: Record<string, number>;
  };
  callbacks: {
    cases: number;
    parse: number;
    headers: number;
    signed: number;
    mutated: number;
    accepted: number;
    rejected: Record<string, number>;
  };
  responses: {
    cases: number;
    resolved: number;
    rejected: Record<string, number>;
    huge: number;
    multiAnswer: number;
    echoedSecrets: number;
  };
  failures: number;
}
let figures: Figures | undefined;
try {
  figures = JSON.parse(readFileSync(report, "utf8")) as Figures;
} catch {
  // The file did not run to its end (e.g. it failed to load): vitest's output above says why.
}
rmSync(dir, { recursive: true, force: true });

const n = (value: number) => value.toLocaleString("en-US");
const list = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([name, count]) => `${name} ${n(count)}`)
    .join(", ");

console.log("");
if (figures) {
  const { create: c, callbacks: cb, responses: r } = figures;
  const total = c.cases + cb.cases + r.cases;
  console.log(
    `fuzz: ${n(total)} cases, seed ${figures.seed}, ${figures.failures} property failures, ${failedTests} failed ` +
      `tests, ${elapsed.toFixed(1)} s`,
  );
  console.log(
    `  create inputs  ${n(c.cases)} (${n(c.valid)} accepted and sent, ${n(c.invalid)} rejected before sending)`,
  );
  console.log(
    `                 known divergences: URL rule ${n(c.urlRuleDisagreements)} (${list(c.urlKinds)}), null video ` +
      `field dropped ${n(c.nullVideoDropped)}`,
  );
  console.log(
    `  callbacks      ${n(cb.cases)} (${n(cb.parse)} parse, ${n(cb.headers)} header sets, ${n(cb.signed)} signed, ` +
      `${n(cb.mutated)} mutated; ${n(cb.accepted)} accepted)`,
  );
  console.log(`                 rejected: ${list(cb.rejected)}`);
  console.log(
    `  responses      ${n(r.cases)} (${n(r.resolved)} resolved, ${n(r.cases - r.resolved)} rejected, ${n(r.huge)} ` +
      `with 1-2 MB bodies, ${n(r.multiAnswer)} answered more than once, ${n(r.echoedSecrets)} echoing a secret)`,
  );
  console.log(`                 rejected: ${list(r.rejected)}`);
} else {
  console.log(`fuzz: no figures (the test file did not finish), ${failedTests} failed tests, ${elapsed.toFixed(1)} s`);
}
process.exit(failedTests > 0 || !figures || figures.failures > 0 ? 1 : 0);
