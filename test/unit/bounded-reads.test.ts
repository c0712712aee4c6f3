// Every answer body is read with a byte limit: an over-long or endless body is a KlingConnectionError, memory bounded.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createClient, KlingConnectionError } from "../../src/index.js";
import { MAX_ANSWER_BYTES } from "../../src/read-limited.js";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const chunk = Buffer.alloc(256 * 1024, 0x61);

describe("answer bodies are bounded", () => {
  it("a 200 that declares 400 MB is refused before its body is read", async () => {
    let written = 0;
    const url = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": String(400 * 1024 * 1024) });
      const pump = () => {
        while (written < 400 * 1024 * 1024 && res.write(chunk)) written += chunk.length;
      };
      res.on("drain", pump);
      pump();
    });
    const kling = createClient({ baseUrl: url, apiKey: "k-bounded", logLevel: "off", maxRetries: 0 });
    const error = await kling.getTask("866889456698785798").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KlingConnectionError);
    expect((error as Error).message).toMatch(/declares 419430400 bytes, more than 4194304/);
  });

  it("an endless chunked body is cut at the limit with bounded memory (RSS printed)", async () => {
    let written = 0;
    const url = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"code":0,"data":{"task_id":"1","x":"');
      const pump = () => {
        for (let more = true; more; ) {
          more = res.write(chunk);
          written += chunk.length;
        }
      };
      res.on("drain", pump);
      pump();
    });
    const before = process.memoryUsage().rss;
    const kling = createClient({ baseUrl: url, apiKey: "k-bounded", logLevel: "off", maxRetries: 0 });
    const error = await kling.getTask("866889456698785798").catch((e: unknown) => e);
    const grown = process.memoryUsage().rss - before;
    console.log(
      `endless body: cut after reading; server had written ${(written / 1048576).toFixed(1)} MB; RSS grew ` +
        `${(grown / 1048576).toFixed(1)} MB`,
    );
    expect(error).toBeInstanceOf(KlingConnectionError);
    expect((error as Error).message).toMatch(/larger than 4194304 bytes/);
    // Generous: the limit is 4 MiB; reading the whole stream would grow without bound (it reached 4 GB in 15 s).
    expect(grown).toBeLessThan(200 * 1024 * 1024);
  });

  it("a body just under the limit is still read", async () => {
    const task = { task_id: "1", task_status: "submitted", task_status_msg: "x".repeat(MAX_ANSWER_BYTES - 200) };
    const url = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: 0, message: "SUCCEED", request_id: "r", data: task }));
    });
    const kling = createClient({ baseUrl: url, apiKey: "k-bounded", logLevel: "off", maxRetries: 0 });
    expect((await kling.getTask("1")).task_status).toBe("submitted");
  });
});
