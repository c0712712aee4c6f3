// The configured credentials never reach an error, a log line or a task's message, whatever their length.
import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { createClient, KlingTaskFailedError, KlingValidationError } from "../../src/index.js";
import { type FakeKling, startFakeKling } from "../support/fake-kling.js";

let fake: FakeKling | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const SHORT_KEY = "sk-q7";

describe("redaction", () => {
  it("a short key quoted back by the server is redacted from the error and the log", async () => {
    fake = await startFakeKling({
      fault: () => ({ kind: "error", status: 401, code: 1002, message: `key ${SHORT_KEY} is invalid` }),
    });
    const lines: string[] = [];
    const logger = {
      debug: (m: string) => lines.push(m),
      info: (m: string) => lines.push(m),
      warn: (m: string) => lines.push(m),
      error: (m: string) => lines.push(m),
    };
    const kling = createClient({ baseUrl: fake.url, apiKey: SHORT_KEY, logger, logLevel: "debug" });
    const error = await kling.getTask("1").catch((e: unknown) => e);
    const everything = [String(error), JSON.stringify(error), inspect(error, { depth: 5 }), ...lines].join("\n");
    expect(everything).toContain("[redacted]");
    expect(everything).not.toContain(SHORT_KEY);
  });

  it("a failed task whose task_status_msg quotes the key: the error, its task and the message are clean", async () => {
    fake = await startFakeKling({ taskDurationMs: 30 });
    const kling = createClient({ baseUrl: fake.url, apiKey: SHORT_KEY, logLevel: "off" });
    const task = await kling.createTask({ video_url: "https://example.com/fail.mp4" });
    // The fake reports a fixed reason; make it quote the key, as a real gateway did ("quota of key sk-... exceeded").
    const original = fake.tasks.find((t) => t.task_id === task.task_id)!;
    original.reason = `quota of key ${SHORT_KEY} exceeded`;
    const error = await kling.waitForTask(task.task_id, { pollIntervalMs: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KlingTaskFailedError);
    const failed = error as KlingTaskFailedError;
    expect(failed.task.task_status_msg).toBe("quota of key [redacted] exceeded");
    expect([failed.message, JSON.stringify(failed), inspect(failed, { depth: 5 })].join("\n")).not.toContain(SHORT_KEY);
  });
});

describe("a key given where an option goes", () => {
  // A careless swap (`baseUrl: process.env.DEERAPI_KEY`): the refusal names the option, and does not print the key.
  it.each(["sk-live-0123456789abcdef", "0123456789abcdef0123456789abcdef"])(
    "baseUrl %s is refused without being quoted",
    (key) => {
      let message = "";
      try {
        createClient({ baseUrl: key });
      } catch (error) {
        expect(error).toBeInstanceOf(KlingValidationError);
        expect((error as KlingValidationError).field).toBe("baseUrl");
        message = `${(error as Error).message} ${(error as Error).stack}`;
      }
      expect(message).toContain("baseUrl");
      expect(message).not.toContain(key);
    },
  );

  it("a URL-like baseUrl is still quoted, so the mistake can be seen", () => {
    expect(() => createClient({ baseUrl: "127.0.0.1:4010" })).toThrow(/"127\.0\.0\.1:4010"/);
  });
});
