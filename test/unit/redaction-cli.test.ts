// The CLI prints no key in any altered form, whatever the server echoes into the task it prints.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { ALTERED_FORMS, ALTERED_KEY, leaksKey } from "../support/altered-key.js";

let server: http.Server;
let baseUrl = "";
let form = "";

beforeAll(async () => {
  server = http.createServer((_req, res) => {
    const task = {
      task_id: "866889456698785798",
      task_status: "succeed",
      task_info: { external_task_id: `job-${form}` },
      task_result: { audios: [{ id: "1", url_mp3: `https://cdn.example/a.mp3?token=${form}`, duration_mp3: "3" }] },
    };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ code: 0, data: task }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

/** A stream that keeps what is written to it. */
function sink() {
  const chunks: string[] = [];
  const stream = { isTTY: false, columns: 80, write: (chunk: string) => chunks.push(String(chunk)) > 0 };
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => chunks.join("") };
}

describe("kling-v2a output", () => {
  it.each(ALTERED_FORMS.map((f) => [f]))("holds no form of the key echoed by the server: %s", async (echoed) => {
    form = echoed;
    const stdout = sink();
    const stderr = sink();
    const code = await main(["get", "866889456698785798", "--json", "--api-key", ALTERED_KEY, "--base-url", baseUrl], {
      stdout: stdout.stream,
      stderr: stderr.stream,
    });
    expect(code).toBe(0);
    expect(stdout.text()).toContain("866889456698785798");
    expect(leaksKey(stdout.text()), stdout.text()).toBe(false);
    expect(leaksKey(stderr.text()), stderr.text()).toBe(false);
  });
});
