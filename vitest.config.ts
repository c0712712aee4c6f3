// Vitest: one project per folder of test/, each with only the global setup it needs (a project's setup runs only when
// the run includes one of its files), so `npx vitest run test/unit/<file>` starts nothing. The setups' jobs (Prism,
// the build, the pack) run in the background and the files that need them wait for them, so the unit files start at
// once; the installed package's journeys run last. Type tests: test/unit/*.test-d.ts.
import { defineConfig } from "vitest/config";
import { ByProject } from "./test/setup/sequencer.js";

/** What every project shares: generous timeouts for a loaded 2-core machine. */
const base = { testTimeout: 15_000, hookTimeout: 30_000 };

export default defineConfig({
  test: {
    // Four files at a time on these 2-core machines: most tests wait on sockets and child processes, not on the CPU
    // (three took about 2 s longer, five used more CPU for nothing).
    maxWorkers: 4,
    sequence: { sequencer: ByProject },
    projects: [
      {
        // The packed, installed package (and the pack itself): first here so its setup starts the pack first.
        test: {
          ...base,
          name: "journeys",
          include: ["test/journeys/**/*.test.ts"],
          globalSetup: ["test/setup/package.ts", "test/setup/build.ts"],
        },
      },
      {
        // Child processes of the built CLI, the mock with Prism in-process, the spec and docs checks.
        test: {
          ...base,
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          // One module graph per worker: Prism and the SDK are imported once, not once per file (each file starts
          // and stops its own servers and children).
          isolate: false,
          globalSetup: ["test/setup/build.ts"],
        },
      },
      {
        // The client against one real Prism server for the run (inject("prismUrl")).
        test: {
          ...base,
          name: "contract",
          include: ["test/contract/**/*.test.ts"],
          isolate: false,
          globalSetup: ["test/setup/prism.ts"],
        },
      },
      {
        // Small seeded soak and load runs in-process (test/perf/ also holds the full-size harnesses).
        test: { ...base, name: "perf", include: ["test/perf/**/*.test.ts"] },
      },
      {
        // Pure: no Prism, no build, no pack, no child process. The inner loop.
        test: {
          ...base,
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          // The files share one module graph per worker instead of importing the SDK afresh each (they stub and
          // unstub their own globals and environment).
          isolate: false,
          typecheck: { enabled: true, include: ["test/unit/**/*.test-d.ts"], tsconfig: "./tsconfig.typecheck.json" },
        },
      },
    ],
  },
});
