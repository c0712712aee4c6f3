// Journeys of the server-side pieces from the installed package, written as the README writes them: a node:http
// callback endpoint with verifyCallback tested with signCallback, and the key-safe proxy (createProxy + toNodeHandler)
// in front of `kling-v2a mock`, called as a browser would and by the SDK with no key.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type InstalledPackage,
  installedPackage,
  killChildren,
  mocksOf,
  nodeJson,
  type Program,
  startNode,
} from "../support/journey.js";

// Each journey runs whole programs (a loaded 2-core machine can make one take seconds): a generous bound, not a speed
// test.
vi.setConfig({ testTimeout: 120_000 });

const SERVER_KEY = "sk-journey-proxy-server-key-16180339";
const PATH = "/v1/audio/video-to-audio";
/** The API through the proxy, mounted at /api/kling as in the README. */
const API = `/api/kling${PATH}`;

let pkg: InstalledPackage;
/** The run's `kling-v2a mock`, started from the installed bin (test/support/journey-package.ts). */
const mock = {
  get url() {
    return mocksOf(pkg).fast;
  },
};

beforeAll(async () => {
  pkg = await installedPackage();
}, 300_000);

afterAll(killChildren);

describe("callbacks: the README's node:http endpoint, tested as 'Testing your endpoint' shows", () => {
  it(
    "accepts a signed delivery, refuses a changed byte, an old timestamp and a missing signature; parses both body " +
      "dialects",
    async () => {
      const result = await nodeJson(
        pkg,
        `import { createServer } from "node:http";
      import { KlingCallbackError, parseCallback, signCallback, verifyCallback } from "kling-video-to-audio";

      const secret = \`whsec_\${btoa("a-test-secret")}\`;
      const received = [];
      const server = createServer(async (req, res) => {
        const chunks = [];
        for await (const chunk of req) chunks.push(chunk); // the raw bytes, untouched
        try {
          const task = await verifyCallback({ headers: req.headers, body: Buffer.concat(chunks) }, { secret });
          received.push(task.task_id + " " + task.task_status);
          res.writeHead(200).end();
        } catch (error) {
          if (!(error instanceof KlingCallbackError)) throw error;
          res.writeHead(400).end(error.reason);
        }
      });
      await new Promise((r) => server.listen(0, "127.0.0.1", r));
      const url = \`http://127.0.0.1:\${server.address().port}/kling/hook\`;
      const post = async (headers, body) => {
        const res = await fetch(url, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body,
        });
        return res.status + " " + (await res.text());
      };

      const body = JSON.stringify({ task_id: "866889456698785798", task_status: "succeed" });
      const headers = await signCallback(body, { secret });
      const ok = await post(headers, body);
      const tampered = await post(headers, body.replace("succeed", "failed"));
      const old = await post(
        await signCallback(body, { secret, timestamp: Math.floor(Date.now() / 1000) - 3600 }),
        body,
      );
      const unsigned = await post({}, body);
      server.close();

      const reasonOf = (f) => {
        try { f(); return null; }
        catch (e) { return e instanceof KlingCallbackError ? e.reason : String(e); }
      };
      const console_ = parseCallback(JSON.stringify({ id: "866889456698785798", status: "succeeded" }));
      const later = parseCallback(JSON.stringify({ task_id: "1", task_status: "some_new_status" }));
      console.log(JSON.stringify({ ok, tampered, old, unsigned, received, headerNames: Object.keys(headers).sort(),
        console: [console_.task_id, console_.task_status], later: later.task_status,
        badJson: reasonOf(() => parseCallback("{nope")), parsed: reasonOf(() => parseCallback({ task_id: "1" })) }));`,
      );
      expect(result.headerNames).toEqual(["webhook-id", "webhook-signature", "webhook-timestamp"]);
      expect(result.ok).toBe("200 ");
      expect(result.received).toEqual(["866889456698785798 succeed"]);
      expect(result.tampered).toBe("400 invalid_signature");
      expect(result.old).toBe("400 timestamp_out_of_tolerance");
      expect(result.unsigned).toBe("400 missing_headers");
      expect(result.console).toEqual(["866889456698785798", "succeed"]);
      expect(result.later).toBe("some_new_status");
      expect(result.badJson).toBe("invalid_json");
      expect(result.parsed).toBe("parsed_body");
    },
  );
});

describe("the proxy: browsers without keys", () => {
  /** Between the proxy and the mock: records what the proxy sends upstream. */
  let upstream: Server;
  let upstreamUrl = "";
  const seen: { method: string; url: string; authorization?: string; cookie?: string }[] = [];
  let proxy: Program;

  beforeAll(async () => {
    upstream = createServer(async (req, res) => {
      seen.push({
        method: req.method!,
        url: req.url!,
        authorization: req.headers.authorization,
        cookie: req.headers.cookie,
      });
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk);
      const answer = await fetch(`${mock.url}${req.url}`, {
        method: req.method,
        headers: {
          authorization: req.headers.authorization ?? "",
          "content-type": req.headers["content-type"] ?? "application/json",
        },
        ...(req.method === "POST" ? { body: Buffer.concat(chunks) } : {}),
      });
      res
        .writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" })
        .end(Buffer.from(await answer.arrayBuffer()));
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    // The README's Node example, with the server's key, an authorize that lets everyone in (the README's "your own
    // auth"), and a second mount whose authorize refuses.
    proxy = await startNode(
      pkg,
      `import { createServer } from "node:http";
      import { createProxy, toNodeHandler } from "kling-video-to-audio/proxy";
      const open = toNodeHandler(createProxy({
        apiKey: ${JSON.stringify(SERVER_KEY)},
        baseUrl: ${JSON.stringify(upstreamUrl)},
        authorize: async () => ({ owner: "journey-user" }),
      }));
      const closed = toNodeHandler(createProxy({
        apiKey: ${JSON.stringify(SERVER_KEY)},
        baseUrl: ${JSON.stringify(upstreamUrl)},
        authorize: async () => false,
      }));
      const server = createServer((req, res) =>
        req.url?.startsWith("/api/kling/")
          ? open(req, res)
          : req.url?.startsWith("/api/closed/")
            ? closed(req, res)
            : res.writeHead(404).end());
      server.listen(0, "127.0.0.1", () => console.log("proxy on http://127.0.0.1:" + server.address().port));`,
      /proxy on (http:\/\/\S+)/,
    );
  }, 120_000);

  afterAll(() => new Promise<void>((r) => upstream?.close(() => r())));

  /** A browser-like call to the proxy: its own origin, its own cookie and Authorization (which must not travel). */
  async function browser(path: string, init: RequestInit = {}) {
    const response = await fetch(`${proxy.url}${path}`, {
      ...init,
      headers: {
        Cookie: "session=browser-session",
        Authorization: "Bearer browser-token",
        "Content-Type": "application/json",
        ...(init.headers as Record<string, string>),
      },
    });
    const text = await response.text();
    return { status: response.status, text, body: JSON.parse(text), headers: [...response.headers].join("\n") };
  }

  it("the SDK with no key, through the proxy, runs a task to success", async () => {
    const result = await nodeJson(
      pkg,
      `import { createClient } from "kling-video-to-audio";
      // the browser's client: no key
      const kling = createClient({ baseUrl: ${JSON.stringify(`${proxy.url}/api/kling`)} });
      const task = await kling.run({ video_url: "https://example.com/clip.mp4" }, { pollIntervalMs: 100 });
      const again = await kling.getTask(task.task_id);
      console.log(JSON.stringify({ status: task.task_status, again: again.task_status }));`,
    );
    expect(result).toEqual({ status: "succeed", again: "succeed" });
  });

  it(
    "sends the server's key upstream, never the browser's Authorization or cookies, and never shows the " + "key",
    async () => {
      const before = seen.length;
      const created = await browser(API, {
        method: "POST",
        body: JSON.stringify({ video_url: "https://example.com/clip.mp4" }),
      });
      expect(created.status).toBe(200);
      const got = await browser(`${API}/${created.body.data.task_id}`);
      expect(got.status).toBe(200);
      const listed = await browser(`${API}?pageNum=1&pageSize=10`);
      expect(listed.status).toBe(200);
      const calls = seen.slice(before);
      expect(calls.length).toBeGreaterThanOrEqual(3);
      for (const call of calls) {
        expect(call.authorization).toBe(`Bearer ${SERVER_KEY}`);
        expect(call.cookie).toBeUndefined();
      }
      for (const answer of [created, got, listed]) expect(answer.text + answer.headers).not.toContain(SERVER_KEY);
    },
  );

  it("a bad create body gets a Kling-shaped 400 (code 1201) and is not forwarded", async () => {
    const before = seen.length;
    const answer = await browser(API, { method: "POST", body: JSON.stringify({ video_url: "not-a-url" }) });
    expect(answer.status).toBe(400);
    expect(answer.body.code).toBe(1201);
    expect(seen.length).toBe(before);
  });

  it(
    "any other path answers 404 (code 1202); a refused authorize answers 401 (code 1000); neither is " + "forwarded",
    async () => {
      const before = seen.length;
      const other = await browser("/api/kling/v1/videos/text2video");
      expect(other.status).toBe(404);
      expect(other.body.code).toBe(1202);
      const refused = await browser(`/api/closed${PATH}?pageNum=1&pageSize=10`);
      expect(refused.status).toBe(401);
      expect(refused.body.code).toBe(1000);
      expect(seen.length).toBe(before);
    },
  );
});
