// Finding a task by external_task_id: one GET where the server takes either id on the query path, the scan elsewhere.
import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "../../src/index.js";
import { type FakeKling, startFakeKling } from "../support/fake-kling.js";

let fake: FakeKling | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const quiet = { apiKey: "k-lookup", logLevel: "off" as const };
const lists = (f: FakeKling) =>
  f.requests.filter((r) => r.method === "GET" && r.path === "/v1/audio/video-to-audio").length;

describe("findTaskByExternalId", () => {
  it("asks the query path directly (Kling: 'use one of the two'): one GET, no list scan", async () => {
    fake = await startFakeKling({ taskDurationMs: 30 });
    const kling = createClient({ ...quiet, baseUrl: fake.url });
    const made = await kling.createTask({ video_url: "https://example.com/a.mp4", external_task_id: "mine-1" });
    const before = fake.requests.length;
    const found = await kling.findTaskByExternalId("mine-1");
    expect(found?.task_id).toBe(made.task_id);
    expect(fake.requests.length - before).toBe(1);
    expect(lists(fake)).toBe(0);
    // Once the server has shown it takes external ids there, its 404 is trusted: no scan for an unknown id either.
    expect(await kling.findTaskByExternalId("nobody")).toBeUndefined();
    expect(lists(fake)).toBe(0);
  });

  it(
    "falls back to the list scan on a gateway that answers 404 for external ids, then goes straight to the " + "scan",
    async () => {
      fake = await startFakeKling({ taskDurationMs: 30, queryByExternalId: false });
      const kling = createClient({ ...quiet, baseUrl: fake.url });
      const made = await kling.createTask({ video_url: "https://example.com/a.mp4", external_task_id: "mine-2" });
      expect((await kling.findTaskByExternalId("mine-2"))?.task_id).toBe(made.task_id);
      expect(lists(fake)).toBe(1);
      const gets = fake.requests.filter((r) => r.method === "GET" && r.path !== "/v1/audio/video-to-audio").length;
      await kling.findTaskByExternalId("mine-2");
      expect(fake.requests.filter((r) => r.method === "GET" && r.path !== "/v1/audio/video-to-audio").length).toBe(
        gets,
      );
      expect(lists(fake)).toBe(2);
    },
  );

  it("an external id that is not a plain path segment is found by the scan alone", async () => {
    fake = await startFakeKling({ taskDurationMs: 30 });
    const kling = createClient({ ...quiet, baseUrl: fake.url });
    const made = await kling.createTask({ video_url: "https://example.com/a.mp4", external_task_id: "order 7/2" });
    expect((await kling.findTaskByExternalId("order 7/2"))?.task_id).toBe(made.task_id);
    expect(lists(fake)).toBe(1);
  });

  it("a task id that happens to match is not taken for the external id", async () => {
    fake = await startFakeKling({ taskDurationMs: 30 });
    const kling = createClient({ ...quiet, baseUrl: fake.url });
    const other = await kling.createTask({ video_url: "https://example.com/b.mp4" });
    expect(await kling.findTaskByExternalId(other.task_id)).toBeUndefined();
  });
});
