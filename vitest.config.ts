// Vitest: one Prism server and the packed package for the whole run (globalSetup), unit, contract and journey tests
// (the installed package's last), and type tests (*.test-d.ts).
import { defineConfig } from "vitest/config";
import { PackageTestsLast } from "./test/sequencer.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 15_000,
    hookTimeout: 30_000,
    // Two files at a time on these 2-core machines: most tests wait on sockets and child processes, not on the CPU.
    maxWorkers: 2,
    sequence: { sequencer: PackageTestsLast },
    typecheck: {
      enabled: true,
      include: ["test/**/*.test-d.ts"],
      tsconfig: "./tsconfig.json",
    },
  },
});
