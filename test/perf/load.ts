// `npm run load`: 500 items through runBatch against a server that runs 5 tasks at once and answers 1303 beyond; prints
// the figures.
import { parseArgs } from "node:util";
import { createClient } from "../../src/index.js";
import { startFakeKling } from "../support/fake-kling.js";

export interface LoadOptions {
  /** @default 500 */
  items?: number;
  /** Tasks the server runs at once; beyond it a create gets 429 + 1303. @default 5 */
  serverLimit?: number;
  /** The batch's concurrency (its ceiling). @default 10, twice the server's limit, to show it adapting */
  concurrency?: number;
  /** How long each task runs on the server, in ms. @default 300 */
  taskDurationMs?: number;
}

export interface LoadFigures {
  items: number;
  succeeded: number;
  duplicates: number;
  rejected1303: number;
  creates: number;
  peakRunning: number;
  seconds: number;
  /** The time with `serverLimit` tasks always running: ceil(items / limit) × task duration. */
  idealSeconds: number;
  /** idealSeconds / seconds. */
  efficiency: number;
  peakRssMb: number;
  peakHeapMb: number;
}

export async function runLoad(options: LoadOptions = {}): Promise<LoadFigures> {
  const items = options.items ?? 500;
  const serverLimit = options.serverLimit ?? 5;
  const taskDurationMs = options.taskDurationMs ?? 300;
  const fake = await startFakeKling({ concurrencyLimit: serverLimit, taskDurationMs });
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const { rss, heapUsed } = process.memoryUsage();
    peakRss = Math.max(peakRss, rss);
    peakHeap = Math.max(peakHeap, heapUsed);
  };
  const sampler = setInterval(sample, 50);
  const started = Date.now();
  let succeeded = 0;
  try {
    const kling = createClient({ baseUrl: fake.url, apiKey: "load-test-key-0123456789", logLevel: "off" });
    function* inputs() {
      for (let i = 0; i < items; i++) yield { video_url: `https://example.com/load/${i}.mp4` };
    }
    for await (const result of kling.runBatch(inputs(), {
      concurrency: options.concurrency ?? 10,
      pollIntervalMs: Math.max(5, taskDurationMs / 15),
    })) {
      if (result.ok) succeeded++;
    }
  } finally {
    clearInterval(sampler);
    sample();
    await fake.close();
  }
  const seconds = (Date.now() - started) / 1000;
  const idealSeconds = (Math.ceil(items / serverLimit) * taskDurationMs) / 1000;
  return {
    items,
    succeeded,
    duplicates: fake.duplicates(),
    rejected1303: fake.rejected1303,
    creates: fake.requests.filter((r) => r.method === "POST").length,
    peakRunning: fake.peakRunning,
    seconds,
    idealSeconds,
    efficiency: idealSeconds / seconds,
    peakRssMb: peakRss / 1_048_576,
    peakHeapMb: peakHeap / 1_048_576,
  };
}

export function printLoad(f: LoadFigures, options: Required<Pick<LoadOptions, "serverLimit" | "concurrency">>): void {
  console.log(
    `load: ${f.items} items, server runs ${options.serverLimit} at once (1303 beyond), batch concurrency ` +
      `${options.concurrency}`,
  );
  console.log(
    `  succeeded              ${f.succeeded}/${f.items}${f.succeeded === f.items ? " (ok)" : " (MUST BE ALL)"}`,
  );
  console.log(`  duplicates             ${f.duplicates}${f.duplicates === 0 ? " (ok)" : " (MUST BE 0)"}`);
  console.log(`  1303 answers           ${f.rejected1303} of ${f.creates} creates`);
  console.log(`  peak tasks running     ${f.peakRunning}`);
  console.log(
    `  time                   ${f.seconds.toFixed(1)} s; ideal ${f.idealSeconds.toFixed(1)} s ` +
      `(${options.serverLimit} always running): ${(f.efficiency * 100).toFixed(0)}% of ideal throughput`,
  );
  console.log(
    `  peak memory            rss ${f.peakRssMb.toFixed(0)} MB, heap ${f.peakHeapMb.toFixed(0)} MB ` +
      `(client and server in one process)`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      items: { type: "string", default: "500" },
      limit: { type: "string", default: "5" },
      concurrency: { type: "string", default: "10" },
      "task-ms": { type: "string", default: "300" },
    },
  });
  const options = {
    items: Number(values.items),
    serverLimit: Number(values.limit),
    concurrency: Number(values.concurrency),
    taskDurationMs: Number(values["task-ms"]),
  };
  const figures = await runLoad(options);
  printLoad(figures, options);
  process.exitCode = figures.succeeded === figures.items && figures.duplicates === 0 ? 0 : 1;
}
