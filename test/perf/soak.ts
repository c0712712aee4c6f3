// `npm run soak`: at least 1,000 creates through runBatch against a loopback Kling injecting seeded random faults;
// prints the figures.
import { parseArgs } from "node:util";
import { createClient, KlingError } from "../../src/index.js";
import { type FakeRequest, type Fault, startFakeKling } from "../support/fake-kling.js";

export interface SoakOptions {
  /** Inputs to run. @default 1000 */
  items?: number;
  /** Seeds the fault dice, so a run can be repeated exactly. @default 1 */
  seed?: number;
  /** Share of requests that meet a fault. @default 0.2 */
  faultRate?: number;
  /** @default 16 */
  concurrency?: number;
  /** Called every few seconds with the items finished so far. @default none */
  onTick?: (finished: number) => void;
}

export interface SoakFigures {
  inputs: number;
  results: number;
  succeeded: number;
  failed: number;
  tasksCreated: number;
  duplicates: number;
  lost: number;
  nonKlingErrors: number;
  p50Ms: number;
  p99Ms: number;
  seconds: number;
  faults: Record<string, number>;
  failures: Record<string, number>;
}

/** mulberry32: a tiny seeded PRNG, so the same seed injects the same faults. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The faults of the issue, with their weights when a request meets one. */
const FAULTS: Array<[name: string, weight: number, make: (random: () => number) => Fault]> = [
  ["drop after commit", 14, () => ({ kind: "drop-after-commit" })],
  ["drop", 5, () => ({ kind: "drop" })],
  ["500", 8, () => ({ kind: "error", status: 500, code: 5000 })],
  ["502 html", 8, () => ({ kind: "html", status: 502 })],
  ["503", 8, () => ({ kind: "error", status: 503, code: 5001 })],
  ["504", 8, () => ({ kind: "error", status: 504, code: 5002 })],
  ["429 1302", 10, (r) => ({ kind: "error", status: 429, code: 1302, retryAfterMs: Math.round(r() * 200) })],
  ["429 1303", 10, (r) => ({ kind: "error", status: 429, code: 1303, retryAfterMs: Math.round(r() * 200) })],
  ["429 1102", 1, () => ({ kind: "error", status: 429, code: 1102, message: "Resource pack exhausted" })],
  ["hang", 4, () => ({ kind: "hang" })],
  ["truncated", 8, () => ({ kind: "truncated" })],
  ["200 with code 5000", 4, () => ({ kind: "code-in-200", code: 5000 })],
];

export async function runSoak(options: SoakOptions = {}): Promise<SoakFigures> {
  const items = options.items ?? 1000;
  const random = seeded(options.seed ?? 1);
  const faultRate = options.faultRate ?? 0.2;
  const faults: Record<string, number> = {};
  const totalWeight = FAULTS.reduce((n, [, w]) => n + w, 0);
  const pick = (_request: FakeRequest): Fault | undefined => {
    if (random() >= faultRate) return undefined;
    let roll = random() * totalWeight;
    for (const [name, weight, make] of FAULTS) {
      roll -= weight;
      if (roll < 0) {
        faults[name] = (faults[name] ?? 0) + 1;
        return make(random);
      }
    }
    return undefined;
  };
  const fake = await startFakeKling({ taskDurationMs: 40, fault: pick });
  const started = Date.now();
  const pulledAt = new Map<number, number>();
  const durations: number[] = [];
  const seen = new Set<number>();
  const failures: Record<string, number> = {};
  let succeeded = 0;
  let failed = 0;
  let nonKlingErrors = 0;
  const ticker = options.onTick ? setInterval(() => options.onTick?.(seen.size), 5000) : undefined;
  try {
    const kling = createClient({
      baseUrl: fake.url,
      apiKey: "soak-test-key-0123456789",
      timeoutMs: 300,
      maxRetries: 3,
      logLevel: "off",
    });
    function* inputs() {
      for (let i = 0; i < items; i++) {
        pulledAt.set(i, Date.now());
        yield { video_url: `https://example.com/soak/${i}.mp4` };
      }
    }
    for await (const result of kling.runBatch(inputs(), {
      concurrency: options.concurrency ?? 16,
      pollIntervalMs: 20,
      batchId: `soak-${options.seed ?? 1}`,
    })) {
      seen.add(result.index);
      durations.push(Date.now() - (pulledAt.get(result.index) ?? started));
      pulledAt.delete(result.index);
      if (result.ok) succeeded++;
      else {
        failed++;
        const error: unknown = result.error;
        // runBatch wraps anything that is not a KlingError; count those (and raw ones) as escapes.
        const wrapped =
          error instanceof KlingError &&
          error.constructor === KlingError &&
          error.cause !== undefined &&
          !(error.cause instanceof KlingError);
        if (!(error instanceof KlingError) || wrapped) nonKlingErrors++;
        const name = (error as Error).name;
        failures[name] = (failures[name] ?? 0) + 1;
      }
    }
  } finally {
    if (ticker) clearInterval(ticker);
    await fake.close();
  }
  durations.sort((a, b) => a - b);
  const quantile = (q: number) => durations[Math.min(durations.length - 1, Math.floor(q * durations.length))] ?? 0;
  return {
    inputs: items,
    results: seen.size,
    succeeded,
    failed,
    tasksCreated: fake.tasks.length,
    duplicates: fake.duplicates(),
    lost: items - seen.size,
    nonKlingErrors,
    p50Ms: quantile(0.5),
    p99Ms: quantile(0.99),
    seconds: (Date.now() - started) / 1000,
    faults,
    failures,
  };
}

export function printSoak(figures: SoakFigures, seed: number): void {
  const verdict = (value: number) => (value === 0 ? "0 (ok)" : `${value} (MUST BE 0)`);
  console.log(`soak, seed ${seed}: ${figures.inputs} inputs in ${figures.seconds.toFixed(1)} s`);
  console.log(
    `  results yielded        ${figures.results} (${figures.succeeded} succeeded, ${figures.failed} failed: ` +
      `${JSON.stringify(figures.failures)})`,
  );
  console.log(`  tasks created          ${figures.tasksCreated}`);
  console.log(`  duplicates             ${verdict(figures.duplicates)}`);
  console.log(`  lost items             ${verdict(figures.lost)}`);
  console.log(`  non-KlingError errors  ${verdict(figures.nonKlingErrors)}`);
  console.log(`  time per item          p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms`);
  console.log(
    `  faults injected        ${Object.values(figures.faults).reduce((a, b) => a + b, 0)}: ` +
      `${JSON.stringify(figures.faults)}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      items: { type: "string", default: "1000" },
      seed: { type: "string", default: "1" },
      "fault-rate": { type: "string", default: "0.2" },
    },
  });
  const seed = Number(values.seed);
  const started = Date.now();
  const figures = await runSoak({
    items: Number(values.items),
    seed,
    faultRate: Number(values["fault-rate"]),
    onTick: (finished) =>
      console.error(
        `  … ${finished}/${values.items} items finished after ${((Date.now() - started) / 1000).toFixed(0)} s`,
      ),
  });
  printSoak(figures, seed);
  process.exitCode = figures.duplicates === 0 && figures.lost === 0 && figures.nonKlingErrors === 0 ? 0 : 1;
}
