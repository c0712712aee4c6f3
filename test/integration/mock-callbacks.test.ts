// Callback deliveries from the mock: every status change POSTed to callback_url, signed so verifyCallback accepts it,
// retried keeping its webhook-id, bounded, and only ours.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Delivery, RunningMock } from "../../mocks/types.js";
import { parseCallback, verifyCallback } from "../../src/callbacks.js";
import { CREATE_PATH, loadMock, startReceiver } from "../support/mock.js";

const { startMock } = await loadMock();

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/** Generous: the machine is shared; nothing below asserts that anything is fast. */
const WAIT = { timeout: 20_000, interval: 20 };

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function mockWith(options: Parameters<typeof startMock>[0]): Promise<RunningMock> {
  const mock = await startMock(options);
  cleanups.push(() => mock.close());
  return mock;
}

async function receiver(reply?: Parameters<typeof startReceiver>[0]) {
  const r = await startReceiver(reply);
  cleanups.push(() => r.close());
  return r;
}

async function create(mock: RunningMock, body: object): Promise<string> {
  const response = await fetch(`${mock.url}${CREATE_PATH}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  expect(response.status, JSON.stringify(answer)).toBe(200);
  return answer.data.task_id;
}

describe("callbacks", () => {
  it(
    "POSTs the task on every status change, on time without polling, signed so verifyCallback accepts " + "it",
    async () => {
      const hook = await receiver();
      const mock = await mockWith({ submittedMs: 200, processingMs: 200, webhookSecret: SECRET });
      const id = await create(mock, {
        video_url: "https://example.com/clip.mp4",
        callback_url: hook.url,
        external_task_id: "job-cb-1",
      });
      // Nobody polls: the timers alone move the task along.
      await expect.poll(() => hook.received.length, WAIT).toBe(3);
      const tasks = [];
      for (const delivery of hook.received) {
        expect(delivery.headers["content-type"]).toBe("application/json");
        tasks.push(
          await verifyCallback(
            { headers: delivery.headers as Record<string, string>, body: delivery.body },
            { secret: SECRET },
          ),
        );
      }
      expect(tasks.map((task) => task.task_status)).toEqual(["submitted", "processing", "succeed"]);
      for (const task of tasks)
        expect(task).toMatchObject({ task_id: id, task_info: { external_task_id: "job-cb-1" } });
      // The last body is what getTask answers now (bar the envelope), media URLs included.
      const now = await (await fetch(`${mock.url}${CREATE_PATH}/${id}`)).json();
      expect(JSON.parse(hook.received[2]?.body ?? "")).toEqual(now.data);
      expect(now.data.task_result.audios[0].url_mp3).toBe(`${mock.url}/media/${id}.mp3`);
      // Each status change is its own delivery; the record on the handle says the same.
      expect(new Set(hook.received.map((d) => d.headers["webhook-id"])).size).toBe(3);
      expect(mock.deliveries.map((d) => [d.taskId, d.status, d.outcome, d.signed])).toEqual([
        [id, "submitted", "delivered", true],
        [id, "processing", "delivered", true],
        [id, "succeed", "delivered", true],
      ]);
      const listed = await (await fetch(`${mock.url}/__mock/deliveries`)).json();
      expect(listed.map((d: Delivery) => d.id)).toEqual(hook.received.map((d) => d.headers["webhook-id"]));
    },
  );

  it("sends a failed task's end, and unsigned bodies that parseCallback reads when no secret is set", async () => {
    const hook = await receiver();
    const mock = await mockWith({ submittedMs: 0, processingMs: 50 });
    const id = await create(mock, {
      video_url: "https://example.com/clip.mp4",
      bgm_prompt: "please fail",
      callback_url: hook.url,
    });
    await expect.poll(() => hook.received.length, WAIT).toBe(3);
    const last = parseCallback(hook.received[2]?.body ?? "");
    expect(last).toMatchObject({ task_id: id, task_status: "failed", task_status_msg: expect.stringMatching(/.+/) });
    expect(hook.received[0]?.headers["webhook-signature"]).toBeUndefined();
    expect(hook.received[0]?.headers["webhook-id"]).toMatch(/^msg_/);
    await expect(
      verifyCallback(
        { headers: hook.received[0]?.headers as Record<string, string>, body: hook.received[0]?.body ?? "" },
        { secret: SECRET },
      ),
    ).rejects.toMatchObject({
      reason: "missing_headers",
    });
  });

  it("retries a failing receiver with growing waits, keeping the webhook-id and re-signing each attempt", async () => {
    // The first two attempts of the first delivery fail (500, then a hang past the timeout); the third is accepted.
    const hook = await receiver((n) => (n === 1 ? 500 : n === 2 ? "hang" : 200));
    const settled: Delivery[] = [];
    const mock = await mockWith({
      submittedMs: 60_000,
      webhookSecret: SECRET,
      callbackTimeoutMs: 300,
      callbackRetryDelaysMs: [100, 400],
      onDelivery: (delivery) => settled.push(delivery),
    });
    await create(mock, { video_url: "https://example.com/clip.mp4", callback_url: hook.url });
    await expect.poll(() => settled.length, WAIT).toBe(1);
    const [delivery] = settled;
    expect(delivery?.outcome).toBe("delivered");
    expect(delivery?.attempts.map((a) => a.status ?? a.error)).toEqual([500, "no answer within 300 ms", 200]);
    expect(hook.received).toHaveLength(3);
    expect(new Set(hook.received.map((d) => d.headers["webhook-id"]))).toEqual(new Set([delivery?.id]));
    // Each attempt verifies on its own, and the waits between them are at least the configured backoff.
    for (const attempt of hook.received)
      await verifyCallback(
        { headers: attempt.headers as Record<string, string>, body: attempt.body },
        { secret: SECRET },
      );
    const [first, second, third] = delivery?.attempts ?? [];
    expect((second?.at ?? 0) - ((first?.at ?? 0) + (first?.ms ?? 0))).toBeGreaterThanOrEqual(95);
    expect((third?.at ?? 0) - ((second?.at ?? 0) + (second?.ms ?? 0))).toBeGreaterThanOrEqual(395);
  });

  it("gives up after the last attempt, and the next status change still goes out, in order", async () => {
    const hook = await receiver((n) => (n <= 3 ? 503 : 200));
    const settled: Delivery[] = [];
    const mock = await mockWith({
      submittedMs: 0,
      processingMs: 60_000,
      callbackRetryDelaysMs: [10, 10],
      onDelivery: (d) => settled.push(d),
    });
    // A port nothing listens on any more (fetch would refuse some ports outright; deliveries must not).
    const gone = await startReceiver();
    await gone.close();
    await create(mock, { video_url: "https://example.com/clip.mp4", callback_url: gone.url });
    await expect.poll(() => settled.length, WAIT).toBe(2);
    expect(settled.map((d) => [d.status, d.outcome, d.attempts.length])).toEqual([
      ["submitted", "failed", 3],
      ["processing", "failed", 3],
    ]);
    expect(settled[0]?.attempts[0]?.error).toMatch(/ECONNREFUSED/);
    // The receiver that answers 503 three times, then 200.
    await create(mock, { video_url: "https://example.com/clip.mp4", callback_url: hook.url });
    await expect.poll(() => settled.length, WAIT).toBe(4);
    expect(settled.slice(2).map((d) => [d.status, d.outcome, d.attempts.map((a) => a.status)])).toEqual([
      ["submitted", "failed", [503, 503, 503]],
      ["processing", "delivered", [200]],
    ]);
  });

  it("delivers only its own bodies: no Prism example or faker payload reaches the receiver", async () => {
    const hook = await receiver();
    const mock = await mockWith({ submittedMs: 0, processingMs: 0 });
    await create(mock, { video_url: "https://example.com/clip.mp4", callback_url: hook.url });
    // The same body through the plain (static) mode: no task, so no deliveries at all.
    const plain = await mockWith({ lifecycle: false });
    await create(plain, { video_url: "https://example.com/clip.mp4", callback_url: hook.url });
    await expect.poll(() => mock.deliveries.filter((d) => d.outcome !== "pending").length, WAIT).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hook.received).toHaveLength(3);
    for (const delivery of hook.received)
      expect(parseCallback(delivery.body).created_at).toBeGreaterThan(1_700_000_000_000);
  });

  it("with an injected clock, delivers the status changes a request reveals", async () => {
    const hook = await receiver();
    let clock = 1_800_000_000_000;
    const mock = await mockWith({ now: () => clock, submittedMs: 1000, processingMs: 1000 });
    const id = await create(mock, { video_url: "https://example.com/clip.mp4", callback_url: hook.url });
    await expect.poll(() => hook.received.length, WAIT).toBe(1);
    clock += 5000;
    await fetch(`${mock.url}${CREATE_PATH}/${id}`);
    await expect.poll(() => hook.received.length, WAIT).toBe(3);
    expect(hook.received.map((d) => JSON.parse(d.body).updated_at)).toEqual([
      1_800_000_000_000, 1_800_000_001_000, 1_800_000_002_000,
    ]);
  });

  it("with an injected clock, many requests at once still send each status change once, in order", async () => {
    const hook = await receiver();
    let clock = 1_800_000_000_000;
    const mock = await mockWith({ now: () => clock, submittedMs: 1000, processingMs: 1000 });
    const id = await create(mock, { video_url: "https://example.com/clip.mp4", callback_url: hook.url });
    await expect.poll(() => hook.received.length, WAIT).toBe(1);
    clock += 1500;
    await Promise.all(Array.from({ length: 10 }, () => fetch(`${mock.url}${CREATE_PATH}/${id}`)));
    clock += 1500;
    await Promise.all(Array.from({ length: 10 }, () => fetch(`${mock.url}${CREATE_PATH}/${id}`)));
    await expect.poll(() => mock.deliveries.filter((d) => d.outcome === "delivered").length, WAIT).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(hook.received.map((d) => JSON.parse(d.body).task_status)).toEqual(["submitted", "processing", "succeed"]);
  });

  it("stops delivering on close(): no timer fires afterwards, a hanging attempt is cut", async () => {
    const hook = await receiver(() => "hang");
    const mock = await startMock({ submittedMs: 100, processingMs: 100, callbackTimeoutMs: 60_000 });
    await create(mock, { video_url: "https://example.com/clip.mp4", callback_url: hook.url });
    await expect.poll(() => hook.received.length, WAIT).toBe(1);
    await mock.close();
    expect(mock.deliveries.map((d) => d.outcome)).toEqual(["dropped"]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(hook.received).toHaveLength(1);
  });

  it("is not held by a receiver that answers 200 and then streams an endless body", async () => {
    const endless = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      const chunk = Buffer.alloc(64 * 1024, 1);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once("drain", pump);
      };
      pump();
    });
    await new Promise<void>((resolve) => endless.listen(0, "127.0.0.1", resolve));
    cleanups.push(async () => {
      endless.closeAllConnections();
      await new Promise((resolve) => endless.close(resolve));
    });
    const settled: Delivery[] = [];
    const mock = await mockWith({
      submittedMs: 0,
      processingMs: 0,
      callbackTimeoutMs: 500,
      onDelivery: (d) => settled.push(d),
    });
    await create(mock, {
      video_url: "https://example.com/clip.mp4",
      callback_url: `http://127.0.0.1:${(endless.address() as AddressInfo).port}/`,
    });
    await expect.poll(() => settled.length, WAIT).toBe(3);
    expect(settled.map((d) => [d.status, d.outcome, d.attempts.length])).toEqual([
      ["submitted", "delivered", 1],
      ["processing", "delivered", 1],
      ["succeed", "delivered", 1],
    ]);
  });

  it("keeps a callback_url's query (it may hold a token) out of its log lines", async () => {
    const lines: string[] = [];
    const hook = await receiver();
    const mock = await mockWith({ submittedMs: 60_000, log: (line) => lines.push(line) });
    await create(mock, { video_url: "https://example.com/clip.mp4", callback_url: `${hook.url}?token=s3cr3t-value` });
    await expect.poll(() => lines.some((line) => line.startsWith("callback submitted")), WAIT).toBe(true);
    expect(lines.join("\n")).not.toContain("s3cr3t-value");
    expect(hook.received[0]?.body).toBeDefined();
  });
});
