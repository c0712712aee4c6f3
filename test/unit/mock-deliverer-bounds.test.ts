// The mock's deliverer is bounded: at most maxPending deliveries waiting or in flight (the rest dropped and recorded),
// at most maxRecords kept.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createDeliverer } from "../../mocks/callbacks.js";

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A receiver that takes every request and never answers: each delivery stays in flight until the deliverer closes. */
async function hangingReceiver(): Promise<{ url: string; received: () => number }> {
  let received = 0;
  const server = http.createServer(() => {
    received++;
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received: () => received };
}

describe("the mock's deliverer bounds", () => {
  it("drops, and records as dropped, what comes past maxPending; close() settles the rest", async () => {
    const receiver = await hangingReceiver();
    const lines: string[] = [];
    const deliverer = createDeliverer({
      maxPending: 2,
      timeoutMs: 30_000,
      retryDelaysMs: [],
      log: (line) => lines.push(line),
    });
    for (const taskId of ["t1", "t2", "t3", "t4"])
      deliverer.send(taskId, "submitted", receiver.url, `{"task_id":"${taskId}"}`);
    expect(deliverer.records.map((d) => [d.taskId, d.outcome])).toEqual([
      ["t1", "pending"],
      ["t2", "pending"],
      ["t3", "dropped"],
      ["t4", "dropped"],
    ]);
    expect(lines.filter((line) => line.includes("dropped: 2 deliveries already pending"))).toHaveLength(2);
    await expect.poll(receiver.received, { timeout: 10_000 }).toBe(2);
    await deliverer.close();
    expect(deliverer.records.some((d) => d.outcome === "pending")).toBe(false);
    // A slot freed by close() takes nothing new: the deliverer is closed.
    deliverer.send("t5", "submitted", receiver.url, "{}");
    expect(deliverer.records.at(-1)).toMatchObject({ taskId: "t5", outcome: "dropped" });
    expect(receiver.received()).toBe(2);
  });

  it("keeps only the latest maxRecords records", async () => {
    const receiver = await hangingReceiver();
    const deliverer = createDeliverer({ maxPending: 1, maxRecords: 3, timeoutMs: 30_000, retryDelaysMs: [] });
    for (const taskId of ["a", "b", "c", "d", "e"]) deliverer.send(taskId, "submitted", receiver.url, "{}");
    expect(deliverer.records.map((d) => d.taskId)).toEqual(["c", "d", "e"]);
    await deliverer.close();
  });
});
