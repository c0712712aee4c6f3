// checkVideo in this process: each rule's verdict on ffmpeg-made videos over a local Range server, the bytes each check
// costs (counted by the server), hostile servers that must end in a problem or warning, local files, bad options.
import { copyFileSync, mkdtempSync, rmSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { VIDEO_LIMITS } from "../../generated/video-limits.js";
import { KlingValidationError } from "../../src/errors.js";
import { checkVideo, RANGE_WINDOW_BYTES, READ_BUDGET_BYTES, type VideoCheck } from "../../src/preflight/index.js";
import { type PreflightMedia, preflightMedia } from "../support/preflight-media.js";
import { HOSTILE, startVideoServer, type VideoServer } from "../support/video-server.js";

let media: PreflightMedia;
let server: VideoServer;

beforeAll(async () => {
  media = await preflightMedia();
  server = await startVideoServer(media.dir);
}, 120_000);

afterAll(() => server?.close());

/** Checks a path of the server; returns the verdict and the body bytes the server sent for it. */
async function check(path: string, options: Parameters<typeof checkVideo>[1] = {}) {
  server.reset();
  const result = await checkVideo(`${server.url}${path}`, options);
  return { result, sent: server.sent(path), requests: server.requests(path) };
}

const passing = (facts: Partial<VideoCheck["facts"]>) => ({
  ok: true,
  problems: [],
  warnings: [],
  facts: expect.objectContaining({ hasVideo: true, ...facts }),
});

describe("checkVideo: the rules", () => {
  it("passes a 720p MP4 and a 1080p MOV, reading each in one request", async () => {
    const mp4 = await check("/media/pass-720p.mp4");
    expect(mp4.result).toEqual(passing({ container: "mp4", width: 1280, height: 720, durationSec: 5 }));
    const mov = await check("/media/pass-1080p.mov");
    expect(mov.result).toEqual(passing({ container: "mov", width: 1920, height: 1080, durationSec: 5 }));
    expect(mov.result.facts.sizeBytes).toBeGreaterThan(0);
    expect(mov.requests).toBe(1);
  });

  it("refuses 2 s and 25 s, naming the rule, the limit and the value found", async () => {
    expect((await check("/media/short-2s.mp4")).result).toMatchObject({
      ok: false,
      problems: [
        { rule: "duration", message: "the video is 2 s; Kling takes 3 to 20 s", limit: "3-20 s", actual: "2 s" },
      ],
    });
    const long = (await check("/media/long-25s.mp4")).result;
    expect(long.problems).toEqual([expect.objectContaining({ rule: "duration", actual: "25 s" })]);
    expect(long.facts.durationSec).toBe(25);
  });

  it("only warns about 4K, which Kling takes and gateways may not", async () => {
    const { result } = await check("/media/uhd-4k.mp4");
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([
      {
        rule: "resolution",
        message: "the video is 3840x2160; some gateways (DeerAPI) take only 720p or 1080p",
        limit: "720p or 1080p",
        actual: "3840x2160",
      },
    ]);
  });

  it("refuses a WebM, an HTML page served as video/mp4, and a file cut off before its header", async () => {
    expect((await check("/media/clip.webm")).result).toMatchObject({
      ok: false,
      problems: [{ rule: "format", limit: "MP4 or MOV", actual: "WEBM" }],
      facts: { container: "webm" },
    });
    expect((await check(HOSTILE.html)).result.problems).toEqual([
      expect.objectContaining({ rule: "format", actual: "an HTML page" }),
    ]);
    const cut = (await check("/media/truncated.mp4")).result;
    expect(cut.problems).toEqual([expect.objectContaining({ rule: "format", actual: "a truncated or damaged MP4" })]);
  });

  it("refuses an MP4 with no video track", async () => {
    const { result } = await check("/media/audio-only.mp4");
    expect(result).toMatchObject({ ok: false, facts: { hasVideo: false, container: "mp4" } });
    expect(result.problems).toEqual([
      expect.objectContaining({ rule: "video", limit: "a video track", actual: "none" }),
    ]);
  });

  it("refuses a file over 100 MB by its Content-Range, reading one window of it", async () => {
    const { result, sent } = await check("/media/over-100mb.mp4");
    expect(result.problems).toEqual([
      { rule: "size", message: "the file is 101 MB; Kling takes at most 100 MB", limit: "100 MB", actual: "101 MB" },
    ]);
    expect(sent).toBeLessThanOrEqual(RANGE_WINDOW_BYTES);
  });
});

describe("checkVideo: bounded reads", () => {
  it("reads a 20 MB MP4 whose header is at the end with a Range request for the tail, not a download", async () => {
    const { result, sent, requests } = await check("/media/moov-end-20mb.mp4");
    expect(result).toEqual(passing({ sizeBytes: 20 * 1024 * 1024, durationSec: 5 }));
    expect(requests).toBe(2);
    expect(sent).toBeLessThanOrEqual(2 * RANGE_WINDOW_BYTES);
  });

  it("asks for closed ranges and identity encoding through the given fetch", async () => {
    const seen: Headers[] = [];
    const spy: typeof fetch = (input, init) => {
      seen.push(new Headers(init?.headers));
      return fetch(input, init);
    };
    await check("/media/pass-720p.mp4", { fetch: spy });
    expect(seen.map((h) => [h.get("range"), h.get("accept-encoding")])).toEqual([
      [`bytes=0-${RANGE_WINDOW_BYTES - 1}`, "identity"],
    ]);
  });

  it("gives up on a server that ignores Range at the budget: a warning, as Kling may still read it", async () => {
    const { result, sent } = await check("/no-range/moov-end-20mb.mp4");
    expect(result.ok).toBeUndefined();
    expect(result.warnings).toEqual([
      expect.objectContaining({ rule: "unreachable", message: expect.stringContaining("Range requests") }),
    ]);
    // The budget, plus what the loopback socket's buffers held when the read was cancelled.
    expect(sent).toBeLessThan(READ_BUDGET_BYTES + 8 * 1024 * 1024);
    // Without Range, a small file is simply read whole.
    expect((await check("/no-range/pass-720p.mp4")).result.ok).toBe(true);
  });

  it("hands a server that ignores Range to the parser as ranges: the parser neither streams nor logs", async () => {
    const fresh = await startVideoServer(media.dir); // a new origin: the parser warns once per origin
    const { Logging } = await import("mediabunny");
    const warnings: unknown[] = [];
    const stop = Logging.on("warn", (args) => warnings.push(args[0]));
    try {
      expect((await checkVideo(`${fresh.url}/no-range/pass-1080p.mov`)).ok).toBe(true);
    } finally {
      stop();
      await fresh.close();
    }
    expect(warnings).toEqual([]);
  });

  it("ends an endless body, a hanging server and a hanging body within the time given", async () => {
    const endless = await check(HOSTILE.endless);
    expect(endless.result.problems.length + endless.result.warnings.length).toBeGreaterThan(0);
    expect(endless.sent).toBeLessThan(READ_BUDGET_BYTES + 8 * 1024 * 1024);
    for (const path of [HOSTILE.hang, HOSTILE.hangBody]) {
      const { result } = await check(path, { timeoutMs: 300 });
      expect(result.ok, path).toBeUndefined();
      expect(result.warnings, path).toEqual([
        { rule: "unreachable", message: "cannot read the video from here: not read within 0.3 s" },
      ]);
    }
  });

  it("takes a lying Content-Length of 150 MB at its word: a size problem, not a long read", async () => {
    const { result, sent } = await check(HOSTILE.lying);
    expect(result.problems).toEqual([expect.objectContaining({ rule: "size", actual: "150 MB" })]);
    expect(sent).toBeLessThanOrEqual(RANGE_WINDOW_BYTES);
  });

  it("a 403 or a closed port is a warning with ok undefined, not a verdict", async () => {
    const forbidden = (await check(HOSTILE.forbidden)).result;
    expect(forbidden).toEqual({
      ok: undefined,
      problems: [],
      warnings: [{ rule: "unreachable", message: "cannot read the video from here: the server answered HTTP 403" }],
      facts: {},
    });
    const gone = await startVideoServer(media.dir);
    await gone.close();
    const closed = await checkVideo(`${gone.url}/media/pass-720p.mp4`);
    expect(closed.ok).toBeUndefined();
    expect(closed.warnings[0]?.message).toMatch(/ECONNREFUSED/);
  });
});

describe("checkVideo: local files, signals, options", () => {
  it("checks a local file by path: its size, header and duration", async () => {
    expect(await checkVideo(media.path("pass-1080p.mov"))).toEqual(passing({ container: "mov", height: 1080 }));
    expect((await checkVideo(media.path("over-100mb.mp4"))).problems).toEqual([
      expect.objectContaining({ rule: "size" }),
    ]);
    expect((await checkVideo(media.path("moov-end-20mb.mp4"))).ok).toBe(true);
    const missing = await checkVideo(`${media.dir}/no-such-file.mp4`);
    expect(missing).toMatchObject({ ok: undefined, warnings: [{ rule: "unreachable" }] });
    expect(missing.warnings[0]?.message).toContain("ENOENT");
  });

  it("takes exactly 100 MB; one byte more is a problem that names the bytes, not a rounded 100 MB", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kling-preflight-size-"));
    const sizes = { limit: VIDEO_LIMITS.maxBytes, over: VIDEO_LIMITS.maxBytes + 1 };
    for (const [name, size] of Object.entries(sizes)) {
      copyFileSync(media.path("pass-720p.mp4"), join(dir, `${name}.mp4`));
      truncateSync(join(dir, `${name}.mp4`), size); // sparse zeros after the media: no disk used
    }
    expect((await checkVideo(join(dir, "limit.mp4"))).problems.filter((p) => p.rule === "size")).toEqual([]);
    expect((await checkVideo(join(dir, "over.mp4"))).problems.filter((p) => p.rule === "size")).toEqual([
      {
        rule: "size",
        message: "the file is 104857601 bytes; Kling takes at most 100 MB",
        limit: "100 MB",
        actual: "104857601 bytes",
      },
    ]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("rejects with the signal's reason when aborted, before or during the check", async () => {
    const reason = new Error("stop");
    await expect(checkVideo(`${server.url}/media/pass-720p.mp4`, { signal: AbortSignal.abort(reason) })).rejects.toBe(
      reason,
    );
    const controller = new AbortController();
    const pending = checkVideo(`${server.url}${HOSTILE.hang}`, { signal: controller.signal });
    await vi.waitFor(() => expect(server.requests(HOSTILE.hang)).toBeGreaterThan(0));
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it("refuses a bad source or option with a KlingValidationError naming it", async () => {
    const field = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (error: unknown) => (error instanceof KlingValidationError ? error.field : error),
      );
    expect(await field(checkVideo(42 as unknown as string))).toBe("source");
    expect(await field(checkVideo(""))).toBe("source");
    expect(await field(checkVideo("ftp://example.com/clip.mp4"))).toBe("source");
    expect(await field(checkVideo("https://example.com/a.mp4", { timeoutMs: -1 }))).toBe("timeoutMs");
    expect(await field(checkVideo("https://example.com/a.mp4", { fetch: "no" as unknown as typeof fetch }))).toBe(
      "fetch",
    );
  });
});
