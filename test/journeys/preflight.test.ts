// Journeys of `kling-video-to-audio/preflight` and `kling-v2a check` from the installed package: with the optional
// mediabunny peer every case gives its documented verdict within its byte bounds; without it, the import still works
// and checking says the one install line.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { binOf, type InstalledPackage, installedPackage, killChildren, nodeJson, run } from "../support/journey.js";
import { type PreflightMedia, preflightMedia } from "../support/preflight-media.js";
import { HOSTILE, startVideoServer, type VideoServer } from "../support/video-server.js";

// Each journey runs whole programs (a loaded machine can make one take seconds): a generous bound, not a speed test.
vi.setConfig({ testTimeout: 120_000 });

let pkg: InstalledPackage;
let media: PreflightMedia;
let videos: VideoServer;

beforeAll(async () => {
  [pkg, media] = await Promise.all([installedPackage(), preflightMedia()]);
  videos = await startVideoServer(media.dir);
}, 300_000);

afterAll(async () => {
  await videos?.close();
  await killChildren();
});

/** A program that checks each source with the installed entry and prints `{ source: result }` (errors as text). */
function checker(sources: string[], options = "{ timeoutMs: 2000 }"): string {
  return `import { checkVideo } from "kling-video-to-audio/preflight";
    const out = {};
    for (const source of ${JSON.stringify(sources)}) {
      try {
        out[source] = await checkVideo(source, ${options});
      } catch (error) {
        out[source] = { error: error.message, code: error.code };
      }
    }
    console.log(JSON.stringify(out));`;
}

describe("kling-video-to-audio/preflight, with mediabunny installed", () => {
  it("gives each case its verdict, reading a few hundred KB at most", async () => {
    const cases: Record<string, object> = {
      "/media/pass-720p.mp4": { ok: true, problems: [], warnings: [] },
      "/media/pass-1080p.mov": { ok: true, facts: { container: "mov", width: 1920, height: 1080 } },
      "/media/short-2s.mp4": { ok: false, problems: [{ rule: "duration", limit: "3-20 s", actual: "2 s" }] },
      "/media/long-25s.mp4": { ok: false, problems: [{ rule: "duration", actual: "25 s" }] },
      "/media/uhd-4k.mp4": { ok: true, warnings: [{ rule: "resolution", actual: "3840x2160" }] },
      "/media/clip.webm": { ok: false, problems: [{ rule: "format", actual: "WEBM" }] },
      "/media/audio-only.mp4": { ok: false, problems: [{ rule: "video" }] },
      "/media/moov-end-20mb.mp4": { ok: true, facts: { sizeBytes: 20 * 1024 * 1024 } },
      "/media/over-100mb.mp4": { ok: false, problems: [{ rule: "size", actual: "101 MB" }] },
      "/media/truncated.mp4": { ok: false, problems: [{ rule: "format", actual: "a truncated or damaged MP4" }] },
      [HOSTILE.html]: { ok: false, problems: [{ rule: "format", actual: "an HTML page" }] },
      [HOSTILE.lying]: { ok: false, problems: [{ rule: "size", actual: "150 MB" }] },
      [HOSTILE.forbidden]: { problems: [], warnings: [{ rule: "unreachable" }] },
      [HOSTILE.hang]: { problems: [], warnings: [{ rule: "unreachable", message: expect.stringContaining("2 s") }] },
    };
    videos.reset();
    const urls = Object.keys(cases).map((path) => `${videos.url}${path}`);
    const results = await nodeJson<Record<string, { ok?: boolean }>>(pkg, checker(urls));
    for (const [path, expected] of Object.entries(cases)) {
      expect(results[`${videos.url}${path}`], path).toMatchObject(expected);
      expect(videos.sent(path), path).toBeLessThanOrEqual(1024 * 1024);
    }
    expect(results[`${videos.url}${HOSTILE.forbidden}`]?.ok).toBeUndefined();
    const file = await nodeJson(pkg, checker([media.path("pass-1080p.mov")]));
    expect(file[media.path("pass-1080p.mov")]).toMatchObject({ ok: true, facts: { container: "mov" } });
  });

  it("kling-v2a check prints a line per video and exits 1 when any is refused", async () => {
    const result = await run(binOf(pkg.consumer), [
      "check",
      `${videos.url}/media/pass-720p.mp4`,
      media.path("clip.webm"),
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^ok\t.*pass-720p\.mp4 \(mp4 1280x720 5 s/m);
    expect(result.stdout).toMatch(/^refused\t.*clip\.webm\tformat: the video is WEBM; Kling takes MP4 or MOV$/m);
    expect(result.stderr).toBe("");
  });
});

describe("kling-video-to-audio/preflight, without mediabunny (a bare install)", () => {
  it("imports, and checkVideo rejects with the one install line", async () => {
    const results = await nodeJson(pkg, checker([`${videos.url}/media/pass-720p.mp4`]), { dir: pkg.bare });
    expect(results[`${videos.url}/media/pass-720p.mp4`]).toEqual({
      error: "kling-video-to-audio/preflight needs mediabunny: npm i mediabunny@^1.61.0",
      code: "ERR_MEDIABUNNY_MISSING",
    });
  });

  it("kling-v2a check says what to install and exits 2", async () => {
    const result = await run(binOf(pkg.bare), ["check", join(media.dir, "pass-720p.mp4")], { cwd: pkg.bare });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "kling-v2a: kling-video-to-audio/preflight needs mediabunny: npm i mediabunny@^1.61.0",
    );
    expect(result.stdout).toBe("");
  });
});
