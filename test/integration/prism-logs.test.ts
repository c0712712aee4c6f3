// startPrism's verbose log: Prism's own lines go to stderr, never stdout (which carries the mock's banner and URL).
import { afterEach, describe, expect, it, vi } from "vitest";
import { startPrism } from "../../mocks/prism.js";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("startPrism({ verbose: true })", () => {
  it("writes Prism's log lines on stderr and nothing on stdout", async () => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
    const prism = await startPrism({ verbose: true });
    try {
      const response = await fetch(`${prism.url}/v1/audio/video-to-audio/866889456698785798`, {
        headers: { Authorization: "Bearer any" },
      });
      expect(response.status).toBe(200);
      await response.text();
    } finally {
      await prism.close();
    }
    vi.restoreAllMocks();
    expect(stderr.join("")).toContain('"name":"prism"');
    expect(stdout.join("")).not.toContain('"name":"prism"');
  });
});
