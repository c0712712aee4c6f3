// createProxy behind a real Node http server: browsers call the API with no key; the server's key goes upstream only.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createClient, KlingInvalidRequestError, KlingValidationError } from "../../src/index.js";
import { createProxy, type ProxyOptions, toNodeHandler } from "../../src/proxy/index.js";
import { type FakeKling, startFakeKling } from "../support/fake-kling.js";
import { prismUrl } from "../support/setup-jobs.js";
import { validatorAt } from "../support/spec.js";

const SERVER_KEY = "sk-server-only-0123456789";
let fake: FakeKling | undefined;
let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server?.closeAllConnections();
  await fake?.close();
  server = undefined;
  fake = undefined;
});

/** Every caller is the same logged-in user, as in a one-user app. */
const oneUser = () => ({ owner: "user-1" });

/** Mounts the proxy at /api/kling on a real loopback server, as an app would. */
async function serve(
  options: Omit<ProxyOptions, "authorize"> & Partial<Pick<ProxyOptions, "authorize">>,
): Promise<string> {
  const proxy = toNodeHandler(createProxy({ authorize: oneUser, ...options }));
  server = createServer((req, res) => {
    if (req.url?.startsWith("/api/kling/")) return proxy(req, res);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/api/kling`;
}

describe("createProxy", () => {
  it("lets a key-less client create, get, list and run through it; only the server's key goes upstream", async () => {
    fake = await startFakeKling({ taskDurationMs: 30 });
    const baseUrl = await serve({ apiKey: SERVER_KEY, baseUrl: fake.url });
    const browserLike = createClient({ baseUrl, apiKey: "caller-supplied-should-be-dropped", logLevel: "off" });
    const task = await browserLike.run({ video_url: "https://example.com/clip.mp4" }, { pollIntervalMs: 10 });
    expect(task.task_status).toBe("succeed");
    expect(await browserLike.listTasks({ pageSize: 10 })).toHaveLength(1);
    expect(fake.requests.length).toBeGreaterThanOrEqual(2);
    for (const request of fake.requests) expect(request.authorization).toBe(`Bearer ${SERVER_KEY}`);
  });

  it(
    "keeps the SDK's safe create safe through it: an answer lost after the commit is found again, never billed " +
      "twice",
    async () => {
      let posts = 0;
      fake = await startFakeKling({
        uniqueExternalIds: true,
        fault: (request) => (request.method === "POST" && ++posts === 1 ? { kind: "drop-after-commit" } : undefined),
      });
      const baseUrl = await serve({ apiKey: SERVER_KEY, baseUrl: fake.url });
      const browserLike = createClient({ baseUrl, logLevel: "off" });
      const task = await browserLike.createTask({
        video_url: "https://example.com/clip.mp4",
        external_task_id: "order-42",
      });
      expect(fake.tasks).toHaveLength(1);
      expect(task.task_id).toBe(fake.tasks[0]!.task_id);
      expect(task.task_info?.external_task_id).toBe("order-42");
      expect(fake.tasks[0]!.external_task_id).not.toBe("order-42");
    },
  );

  it("answers a bad body with a Kling-shaped 400 (1201) naming the field, and forwards nothing", async () => {
    fake = await startFakeKling();
    const baseUrl = await serve({ apiKey: SERVER_KEY, baseUrl: fake.url });
    for (const body of [
      '{"video_url":"https://example.com/a.mp4","video_id":"1"}',
      '{"video_url":"x"}',
      "not json",
      '{"video_url":"https://example.com/a.mp4","bgm_promt":"typo"}',
    ]) {
      const response = await fetch(`${baseUrl}/v1/audio/video-to-audio`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      expect(response.status).toBe(400);
      const error = await response.json();
      expect(error.code).toBe(1201);
      expect(validatorAt("#/components/schemas/ErrorEnvelope")(error)).toBe(true);
    }
    const pages = await fetch(`${baseUrl}/v1/audio/video-to-audio?pageSize=501`);
    expect(pages.status).toBe(400);
    expect(fake.requests).toHaveLength(0);
  });

  it("answers paths outside the spec with 404 (1202) and wrong methods too", async () => {
    fake = await startFakeKling();
    const baseUrl = await serve({ apiKey: SERVER_KEY, baseUrl: fake.url });
    for (const [method, path] of [
      ["GET", "/v1/videos/text2video"],
      ["DELETE", "/v1/audio/video-to-audio/1"],
      ["POST", "/v1/audio/video-to-audio/1"],
      ["GET", "/admin"],
    ]) {
      const response = await fetch(`${baseUrl}${path}`, { method: method! });
      expect(response.status, `${method} ${path}`).toBe(404);
      expect((await response.json()).code).toBe(1202);
    }
    expect(fake.requests).toHaveLength(0);
  });

  it("refuses with 401 (1000) when the app's authorize hook says no", async () => {
    fake = await startFakeKling();
    const baseUrl = await serve({
      apiKey: SERVER_KEY,
      baseUrl: fake.url,
      authorize: (request) => (request.headers.get("x-session") === "ok" ? { owner: "user-1" } : null),
    });
    const denied = await fetch(`${baseUrl}/v1/audio/video-to-audio/1`);
    expect(denied.status).toBe(401);
    expect((await denied.json()).code).toBe(1000);
    const allowed = await fetch(`${baseUrl}/v1/audio/video-to-audio`, { headers: { "x-session": "ok" } });
    expect(allowed.status).toBe(200);
  });

  it("passes upstream errors through and never shows the server's key", async () => {
    fake = await startFakeKling({
      fault: () => ({ kind: "error", status: 429, code: 1102, message: "Resource pack exhausted" }),
    });
    const baseUrl = await serve({ apiKey: SERVER_KEY, baseUrl: fake.url });
    const client = createClient({ baseUrl, logLevel: "off" });
    const error = await client.getTask("1").catch((e) => e);
    expect(error.code).toBe(1102);
    expect(JSON.stringify(error) + String(error)).not.toContain(SERVER_KEY);
    await expect(client.createTask({ video_url: "ftp://x" } as never)).rejects.toBeInstanceOf(KlingValidationError);
  });

  it(
    "in front of the Prism mock: the caller's Prefer does not steer the upstream, validation stays " + "Kling-shaped",
    async () => {
      const baseUrl = await serve({ apiKey: "mock", baseUrl: await prismUrl() });
      const client = createClient({ baseUrl, logLevel: "off" });
      const created = await client.createTask({
        video_url: "https://example.com/clip.mp4",
        external_task_id: "prism-1",
      });
      // Prism answers with its static example, whose external_task_id is not this caller's: the proxy shows none.
      expect(created.task_id).toBe("866889456698785798");
      expect(created.task_info?.external_task_id).toBeUndefined();
      // Prism's static example task carries someone else's external_task_id, so through the proxy it is nobody's task.
      const steered = await fetch(`${baseUrl}/v1/audio/video-to-audio/866889456698785798`, {
        headers: { Prefer: "example=failed" },
      });
      expect(steered.status).toBe(404);
      expect((await steered.json()).code).toBe(1203);
      await expect(client.getTask("866889456698785798")).rejects.toBeInstanceOf(KlingInvalidRequestError);
    },
  );
});
