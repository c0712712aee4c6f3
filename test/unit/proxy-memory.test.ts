// Memory under oversized uploads: four 50 MB POSTs at once through each adapter, with authorize refusing and accepting;
// RSS printed.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProxy, type ProxyHandler, toNodeHandler } from "../../src/proxy/index.js";
import { type KlingUpstream, startKlingUpstream } from "../support/kling-upstream.js";

const MB = 1024 * 1024;
const UPLOAD_BYTES = 50 * MB;
const UPLOADS = 4;
/** Generous: buffering even one upload would pass it; the old proxy grew RSS by over 300 MB here. */
const MAX_GROWTH_BYTES = 100 * MB;
const PATH = "/api/kling/v1/audio/video-to-audio";

let upstream: KlingUpstream;
let server: Server | undefined;
beforeAll(async () => {
  upstream = await startKlingUpstream();
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await upstream.close();
});

/** A 50 MB JSON-looking body made lazily, 64 KB at a time, counting what was actually pulled from it. */
function hugeBody(pulled: { bytes: number }): ReadableStream<Uint8Array> {
  const chunk = 64 * 1024;
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= UPLOAD_BYTES) return controller.close();
      const bytes = new Uint8Array(chunk).fill(0x61);
      if (sent === 0) bytes.set(new TextEncoder().encode('{"video_url":"https://example.com/a.mp4","bgm_prompt":"'));
      sent += chunk;
      pulled.bytes += chunk;
      controller.enqueue(bytes);
    },
  });
}

const proxyFor = (refuse: boolean): ProxyHandler =>
  createProxy({
    apiKey: "sk-memory-test-key-0001",
    baseUrl: upstream.url,
    authorize: () => (refuse ? null : { owner: "alice" }),
  });

type Sender = (pulled: { bytes: number }) => Promise<number | string>;

async function viaFetch(handler: ProxyHandler): Promise<Sender> {
  return async (pulled) => {
    const request = new Request(`http://app.test${PATH}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: hugeBody(pulled),
      duplex: "half",
    } as RequestInit);
    return (await handler(request)).status;
  };
}

/** One real server per test, shared by its four uploads. */
async function viaNode(handler: ProxyHandler): Promise<Sender> {
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
  }
  const node = toNodeHandler(handler);
  server = createServer((req, res) => node(req, res));
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${PATH}`;
  return async (pulled) => {
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: hugeBody(pulled),
        duplex: "half",
      } as RequestInit);
      await response.arrayBuffer();
      return response.status;
    } catch (error) {
      // The proxy may close the connection while the upload is still being sent: the client then sees a reset, not the
      // answer.
      return `connection closed (${String((error as { cause?: { code?: string } }).cause?.code ?? "error")})`;
    }
  };
}

describe.each([
  ["fetch", viaFetch],
  ["node", viaNode],
] as const)("four 50 MB POSTs at once through the %s adapter", (adapter, open) => {
  it.each([
    ["authorize refuses", true, [401]],
    ["authorize accepts", false, [413]],
  ] as const)(
    "%s: bounded memory, nothing forwarded",
    async (label, refuse, statuses) => {
      const send = await open(proxyFor(refuse));
      const before = process.memoryUsage().rss;
      const counters = Array.from({ length: UPLOADS }, () => ({ bytes: 0 }));
      const results = await Promise.all(counters.map((pulled) => send(pulled)));
      const after = process.memoryUsage().rss;
      const pulledMb = counters.map((c) => (c.bytes / MB).toFixed(1));
      console.log(
        `[proxy memory] ${adapter}, ${label}: RSS ${(before / MB).toFixed(0)} MB -> ${(after / MB).toFixed(0)} MB ` +
          `(+${((after - before) / MB).toFixed(1)} MB) for ${UPLOADS} x ${UPLOAD_BYTES / MB} MB; answers ` +
          `${results.join(", ")}; MB pulled from each upload: ${pulledMb.join(", ")}`,
      );
      for (const result of results) {
        if (typeof result === "number") expect(statuses as readonly number[]).toContain(result);
        else expect(adapter).toBe("node");
      }
      expect(after - before).toBeLessThan(MAX_GROWTH_BYTES);
      for (const pulled of counters) expect(pulled.bytes).toBeLessThan(UPLOAD_BYTES);
      expect(upstream.requests).toHaveLength(0);
    },
    60_000,
  );
});
