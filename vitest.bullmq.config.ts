// Vitest for the heavy BullMQ suite (`npm run test:bullmq`, run by .ci/run): a real redis-server, worker processes.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/ci/bullmq-*.heavy.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The files share the machine's two cores with worker processes: one file at a time keeps timings sane.
    fileParallelism: false,
  },
});
