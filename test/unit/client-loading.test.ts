// What createClient sets up when: none of the request code until the first call, then one set per client.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "../../src/index.js";

/** A client whose debug lines are kept: methods.ts logs one line when a client's request code is set up. */
function recordingClient(baseUrl: string, extra: Parameters<typeof createClient>[0] = {}) {
  const lines: string[] = [];
  const keep = (line: string) => lines.push(line);
  const kling = createClient({
    baseUrl,
    logLevel: "debug",
    logger: { debug: keep, info: keep, warn: keep, error: keep },
    ...extra,
  });
  const setUps = () => lines.filter((line) => line.startsWith("request code loaded")).length;
  return { kling, setUps };
}

const TASK = { task_id: "866889456698785798", task_status: "succeed", task_info: {} };
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const body = JSON.stringify({
      code: 0,
      message: "SUCCEED",
      request_id: "r",
      data: request.url?.split("?")[0] === "/v1/audio/video-to-audio" ? [TASK] : TASK,
    });
    response
      .writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
      .end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("createClient loads its request code with the first call", () => {
  it("making a client sets none of it up; a bad option still throws at once", () => {
    const { kling, setUps } = recordingClient(baseUrl);
    expect(kling.raw).toBeDefined();
    expect(setUps()).toBe(0);
    expect(() => createClient({ baseUrl, timeoutMs: Number.NaN })).toThrow(/timeoutMs/);
  });

  it("concurrent first calls of one client share one set of methods (one transport, one lookup memory)", async () => {
    const { kling, setUps } = recordingClient(baseUrl);
    const results = await Promise.all([
      kling.getTask(TASK.task_id),
      kling.getTask(TASK.task_id),
      kling.listTasks(),
      kling.raw.GET("/v1/audio/video-to-audio/{task_id}", { params: { path: { task_id: TASK.task_id } } }),
    ]);
    expect(results[0]).toMatchObject({ task_id: TASK.task_id });
    expect(results[2]).toHaveLength(1);
    expect(setUps()).toBe(1);
    await kling.getTask(TASK.task_id);
    expect(setUps()).toBe(1);
  });

  it(
    "a bad argument is refused by the loaded methods, as a rejection naming the field, with nothing " + "sent",
    async () => {
      let requests = 0;
      const kling = createClient({
        baseUrl,
        fetch: (r, init) => {
          requests++;
          return globalThis.fetch(r, init);
        },
      });
      await expect(kling.getTask("..")).rejects.toMatchObject({ name: "KlingValidationError", field: "taskId" });
      await expect(kling.createTask({ video_url: "not a url" })).rejects.toMatchObject({ field: "video_url" });
      expect(requests).toBe(0);
    },
  );
});
