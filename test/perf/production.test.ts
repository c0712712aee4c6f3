// Small seeded versions of `npm run soak` and `npm run load`: no duplicates, nothing lost, only KlingErrors, full
// success under 1303.
import { describe, expect, it } from "vitest";
import { printLoad, runLoad } from "./load.js";
import { printSoak, runSoak } from "./soak.js";

describe("proof under faults and load (small, seeded)", () => {
  it("soak: 80 items under seeded random faults; 0 duplicates, 0 lost, 0 non-KlingError errors", async () => {
    const figures = await runSoak({ items: 80, seed: 7, faultRate: 0.2, concurrency: 16 });
    printSoak(figures, 7);
    expect(Object.values(figures.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(20);
    expect(figures.duplicates).toBe(0);
    expect(figures.lost).toBe(0);
    expect(figures.nonKlingErrors).toBe(0);
    expect(figures.results).toBe(80);
  }, 30_000);

  it("load: 40 items against a server that runs 3 at once; all succeed, 0 duplicates, never more than 3 " +
    "running", async () => {
    const figures = await runLoad({ items: 40, serverLimit: 3, concurrency: 8, taskDurationMs: 100 });
    printLoad(figures, { serverLimit: 3, concurrency: 8 });
    expect(figures.succeeded).toBe(40);
    expect(figures.duplicates).toBe(0);
    expect(figures.peakRunning).toBeLessThanOrEqual(3);
    expect(figures.rejected1303).toBeGreaterThan(0);
  }, 30_000);
});
