// A worker stores no form of the key in Redis (the job's failedReason and stack trace) whatever the error says.
import { Queue, type Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createVideoToAudioWorker, enqueueVideos } from "../../src/bullmq/index.js";
import type { VideoToAudioClient } from "../../src/index.js";
import { ALTERED_FORMS, ALTERED_KEY, leaksKey } from "../support/altered-key.js";
import { type RedisServer, startRedis } from "../support/redis.js";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await redis?.stop();
});

describe("a failed job in Redis", () => {
  it("holds no form of the key in its failedReason or stack trace", async () => {
    vi.stubEnv("KLING_V2A_API_KEY", ALTERED_KEY);
    const connection = { url: redis.url };
    const queue = new Queue("redaction", { connection });
    // A client of the user's (not createClient's), whose errors quote the key as a careless gateway would.
    let n = 0;
    const client = {
      findTaskByExternalId: async () => undefined,
      createTask: async () => {
        throw new TypeError(`upstream refused token ${ALTERED_FORMS[n++ % ALTERED_FORMS.length]}`);
      },
    } as unknown as VideoToAudioClient;
    let worker: Worker | undefined;
    try {
      const inputs = ALTERED_FORMS.map((_, i) => ({ video_url: `https://example.com/${i}.mp4` }));
      const ids = await enqueueVideos(queue, inputs, { jobOptions: { attempts: 1 } });
      worker = await createVideoToAudioWorker({ queueName: "redaction", connection, client, accountConcurrency: 2 });
      await vi.waitFor(async () => expect(await queue.getFailedCount()).toBe(ids.length), { timeout: 30_000 });
      const failed = await queue.getFailed();
      expect(failed).toHaveLength(ALTERED_FORMS.length);
      for (const job of failed) {
        expect(job.failedReason).toMatch(/upstream refused token/);
        const stored = [job.failedReason, ...(job.stacktrace ?? [])].join("\n");
        expect(leaksKey(stored), stored).toBe(false);
      }
    } finally {
      await worker?.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
