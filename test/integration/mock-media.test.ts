// The mock's media, through the built package (dist/mocks/index.js): real MP3/WAV/MP4 files whose lengths match the
// task, Range, CORS, and `kling-v2a run --download`.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningMock } from "../../mocks/types.js";
import { CREATE_PATH, EXAMPLE_ID, hasFfprobe, loadMock, manifest, probe, wavSeconds } from "../support/mock.js";
import { buildError as builtError } from "../support/setup-jobs.js";

const buildError = await builtError();
const cli = new URL("../../dist/src/cli/bin.js", import.meta.url).pathname;
const ORIGIN = "http://localhost:5173";

async function json(url: string, init: RequestInit = {}): Promise<any> {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, body: await response.json() };
}

describe.skipIf(buildError !== null)("mock media (built package)", () => {
  let mock: RunningMock;
  let task: any;

  beforeAll(async () => {
    // The built entry, as an installed package's `kling-video-to-audio/mock` resolves it.
    const { startMock } = await loadMock("dist");
    mock = await startMock({ submittedMs: 0, processingMs: 0 });
    const created = await json(`${mock.url}${CREATE_PATH}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ video_url: "https://example.com/clip.mp4" }),
    });
    task = (await json(`${mock.url}${CREATE_PATH}/${created.body.data.task_id}`)).body.data;
  });
  afterAll(() => mock?.close());

  it("points a succeeded task's files at the mock itself", () => {
    expect(task.task_status).toBe("succeed");
    const audio = task.task_result.audios[0];
    expect(audio.url_mp3).toBe(`${mock.url}/media/${task.task_id}.mp3`);
    expect(audio.url_wav).toBe(`${mock.url}/media/${task.task_id}.wav`);
    expect(task.task_result.videos[0].url).toBe(`${mock.url}/media/${task.task_id}.mp4`);
    expect(JSON.stringify(task)).not.toContain("cdn.klingai.example");
  });

  it.each([
    ["url_mp3", "duration_mp3", "audio/mpeg", "mp3"],
    ["url_wav", "duration_wav", "audio/wav", "wav"],
    ["url", "duration", "video/mp4", "mp4"],
  ] as const)(
    "serves %s as %s real %s whose length is the task's %s within 0.1 s",
    async (urlField, durationField, type, kind) => {
      const entry = kind === "mp4" ? task.task_result.videos[0] : task.task_result.audios[0];
      const response = await fetch(entry[urlField], { headers: { Origin: ORIGIN } });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe(type);
      expect(response.headers.get("access-control-allow-origin")).toBe(ORIGIN);
      expect(response.headers.get("accept-ranges")).toBe("bytes");
      const bytes = new Uint8Array(await response.arrayBuffer());
      expect(Number(response.headers.get("content-length"))).toBe(bytes.length);
      expect(bytes.length).toBeGreaterThan(5_000);
      expect(bytes.length).toBeLessThan(100_000);
      const declared = Number(entry[durationField]);
      expect(declared).toBeGreaterThanOrEqual(3);
      if (kind === "mp3")
        expect(Buffer.from(bytes.subarray(0, 3)).toString("latin1")).toMatch(/^(ID3|\xff[\xe0-\xff])/);
      if (kind === "mp4") expect(Buffer.from(bytes.subarray(4, 8)).toString("latin1")).toBe("ftyp");
      if (kind === "wav") expect(Math.abs(wavSeconds(bytes) - declared)).toBeLessThanOrEqual(0.1);
      if (hasFfprobe) {
        const measured = await probe(bytes);
        expect(Math.abs(measured.seconds - declared)).toBeLessThanOrEqual(0.1);
        const types = measured.streams.map((stream) => `${stream.codec_type}:${stream.codec_name}`).sort();
        expect(types).toEqual({ mp3: ["audio:mp3"], wav: ["audio:pcm_s16le"], mp4: ["audio:aac", "video:h264"] }[kind]);
      }
    },
  );

  it("answers Range with 206 and the bytes asked for, and an unsatisfiable one with 416", async () => {
    const url = task.task_result.audios[0].url_mp3;
    const whole = Buffer.from(await (await fetch(url)).arrayBuffer());
    const cases: Array<[string, number, number]> = [
      ["bytes=0-99", 0, 99],
      ["bytes=100-", 100, whole.length - 1],
      ["bytes=-10", whole.length - 10, whole.length - 1],
      [`bytes=5-${whole.length + 1000}`, 5, whole.length - 1],
    ];
    for (const [range, start, end] of cases) {
      const response = await fetch(url, { headers: { Range: range, Origin: ORIGIN } });
      expect(response.status, range).toBe(206);
      expect(response.headers.get("content-range")).toBe(`bytes ${start}-${end}/${whole.length}`);
      expect(response.headers.get("access-control-allow-origin")).toBe(ORIGIN);
      expect(Buffer.from(await response.arrayBuffer()).equals(whole.subarray(start, end + 1))).toBe(true);
    }
    for (const range of [`bytes=${whole.length}-`, "bytes=-0"]) {
      const response = await fetch(url, { headers: { Range: range } });
      expect(response.status, range).toBe(416);
      expect(response.headers.get("content-range")).toBe(`bytes */${whole.length}`);
    }
    // Not a byte range the server must honour: the whole file.
    expect((await fetch(url, { headers: { Range: "bytes=0-1,5-9" } })).status).toBe(200);
    const head = await fetch(url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("content-length"))).toBe(whole.length);
  });

  it("answers a preflight from any origin, naming Authorization (a * would not cover it)", async () => {
    for (const path of [`${CREATE_PATH}`, `/media/${task.task_id}.mp3`]) {
      const preflight = await fetch(`${mock.url}${path}`, {
        method: "OPTIONS",
        headers: {
          Origin: "https://app.example",
          "Access-Control-Request-Method": "POST",
          "Access-Control-Request-Headers": "authorization, content-type, prefer, x-custom",
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example");
      const allowed = (preflight.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/,\s*/);
      expect(allowed).toEqual(expect.arrayContaining(["authorization", "content-type", "prefer", "range", "x-custom"]));
      expect(allowed).not.toContain("*");
      expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    }
  });

  it("has no media for unknown tasks, tasks still running, or odd names", async () => {
    const { startMock } = await loadMock("dist");
    const slow = await startMock({ submittedMs: 60_000 });
    try {
      const created = await json(`${slow.url}${CREATE_PATH}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ video_url: "https://example.com/a.mp4" }),
      });
      for (const path of [
        `/media/${created.body.data.task_id}.mp3`,
        "/media/123456789012345678.mp3",
        "/media/../package.json",
        `/media/${EXAMPLE_ID}.exe`,
        "/media/",
      ]) {
        expect((await fetch(`${slow.url}${path}`)).status, path).toBe(404);
      }
      // The spec's example task (what a Prefer-chosen answer shows) always has its media.
      expect((await fetch(`${slow.url}/media/${EXAMPLE_ID}.wav`)).status).toBe(200);
      expect((await fetch(`${slow.url}/media/${EXAMPLE_ID}.wav`, { method: "POST" })).status).toBe(405);
    } finally {
      await slow.close();
    }
  });

  it("puts the host the client used into the URLs (a phone reaching a --host 0.0.0.0 mock)", async () => {
    const port = new URL(mock.url).port;
    const viaLocalhost = await json(`http://localhost:${port}${CREATE_PATH}/${task.task_id}`);
    expect(viaLocalhost.body.data.task_result.audios[0].url_mp3).toBe(
      `http://localhost:${port}/media/${task.task_id}.mp3`,
    );
  });

  it("never builds a URL from a hostile Host header", async () => {
    const { port } = new URL(mock.url);
    for (const host of ["evil.example/x?", "a b", "<script>", "example.com:80@evil", ""]) {
      const body = await new Promise<string>((resolve, reject) => {
        const req = http.request(
          { host: "127.0.0.1", port, path: `${CREATE_PATH}/${task.task_id}`, headers: { host } },
          (res) => {
            let text = "";
            res.on("data", (chunk) => (text += chunk));
            res.on("end", () => resolve(text));
          },
        );
        req.on("error", reject);
        req.end();
      });
      expect(JSON.parse(body).data.task_result.audios[0].url_mp3, host).toBe(`${mock.url}/media/${task.task_id}.mp3`);
    }
  });

  it("keeps the fixtures small and as the manifest says", () => {
    for (const entry of Object.values(manifest)) {
      const bytes = readFileSync(new URL(`../../mocks/media/${entry.file}`, import.meta.url));
      expect(bytes.length).toBe(entry.bytes);
      expect(bytes.length).toBeLessThan(64 * 1024);
    }
  });

  it("kling-v2a run --download saves real, playable files from the mock", async () => {
    const out = mkdtempSync(join(tmpdir(), "mock-download-"));
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [
          cli,
          "run",
          "--base-url",
          mock.url,
          "--poll-interval",
          "0.05",
          "--video-url",
          "https://example.com/clip.mp4",
          "--download",
          out,
          "--json",
        ],
        { env: { PATH: process.env.PATH ?? "" }, timeout: 30_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    );
    expect(run.code, run.stderr).toBe(0);
    const done = JSON.parse(run.stdout);
    const id = done.task?.task_id ?? done.task_id;
    expect(readdirSync(out).sort()).toEqual([`${id}.mp3`, `${id}.wav`]);
    const mp3 = readFileSync(join(out, `${id}.mp3`));
    const wav = readFileSync(join(out, `${id}.wav`));
    expect(mp3.length).toBe(manifest.mp3.bytes);
    expect(wav.length).toBe(manifest.wav.bytes);
    expect(Math.abs(wavSeconds(wav) - manifest.wav.seconds)).toBeLessThanOrEqual(0.1);
    if (hasFfprobe) {
      expect(Math.abs((await probe(join(out, `${id}.mp3`))).seconds - manifest.mp3.seconds)).toBeLessThanOrEqual(0.1);
      expect((await probe(join(out, `${id}.wav`))).streams[0]?.codec_type).toBe("audio");
    }
  });
});
