// `tsx test/ci/test-mock-browser.ts`: the packed package's mock, installed into a fresh folder, checked from Node and
// from a page in headless Chromium on another origin that creates a task, polls and plays its media.
//
// It also runs the mock's vitest suites (media, callbacks, errors, every documented Prefer recipe) with
// KLING_MOCK_ENTRY pointing at the installed package's `kling-video-to-audio/mock`, one line per suite.
// One PASS/FAIL line per check, then "N passed, N failed" as the last line; exits 1 if any failed. Run by .ci/run
// beside the runtime matrix (too slow for npm test: it builds, packs, installs and starts a browser).
//
//   tsx test/ci/test-mock-browser.ts [--timeout=120]        (CHROMIUM_PATH=... to pick a browser)
//
// Everything goes under .runtimes/mock-browser/ (git-ignored): pack/ (npm pack of this checkout) and app/ (a fresh
// `npm install <tarball>` plus Prism, the mock's optional peers, at the versions package.json names).
import { readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import {
  assert,
  CHROMIUM,
  CHROMIUM_FLAGS,
  type CheckResult,
  checkRecorder,
  chromiumMissing,
  freshPack,
  runCaptured,
} from "../support/ci-checks.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const base = join(root, ".runtimes", "mock-browser");
const packDir = join(base, "pack");
const appDir = join(base, "app");
const PACKAGE = "kling-video-to-audio";
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const timeoutArg = process.argv.find((arg) => arg.startsWith("--timeout="));
const TIMEOUT_MS = Number(timeoutArg?.slice("--timeout=".length) ?? 120) * 1000;
const TOLERANCE_S = 0.1;

const { record, check, finish } = checkRecorder();

/** Builds, packs and installs the package with its Prism peers into a fresh folder; returns the tarball's name. */
async function install(): Promise<string> {
  const tarball = await freshPack(root, { base, packDir, appDir });
  const manifest = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
    peerDependencies: Record<string, string>;
  };
  const peers = Object.entries(manifest.peerDependencies).map(([name, version]) => `${name}@${version}`);
  await writeFile(
    join(appDir, "package.json"),
    `${JSON.stringify({ name: "mock-browser-app", private: true, type: "module" }, null, 2)}\n`,
  );
  const installed = await runCaptured(
    "npm",
    ["install", join(packDir, tarball), ...peers, "--no-audit", "--no-fund", "--prefer-offline"],
    appDir,
  );
  if (installed.code !== 0) throw new Error(`npm install failed: ${installed.output.slice(-500)}`);
  return tarball;
}

/** A module of the installed package, by its export name (`kling-video-to-audio/mock`). */
async function installed<T>(specifier: string): Promise<T> {
  const file = createRequire(join(appDir, "package.json")).resolve(specifier);
  assert(
    file.startsWith(join(appDir, "node_modules", PACKAGE)),
    `${specifier} resolved outside the installed package: ${file}`,
  );
  return (await import(pathToFileURL(file).href)) as T;
}

interface Hook {
  url: string;
  bodies: Array<{ headers: http.IncomingHttpHeaders; body: string }>;
  close(): void;
}

async function startHook(): Promise<Hook> {
  const bodies: Hook["bodies"] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    bodies.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
    res.writeHead(200).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    close: () => server.close(),
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const CREATE = "/v1/audio/video-to-audio";

/** The Node-side checks, all against the installed package's mock. */
async function nodeChecks(
  mockUrl: string,
  hook: Hook,
  verifyCallback: (req: unknown, options: { secret: string }) => Promise<{ task_status: string; task_id: string }>,
): Promise<void> {
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${mockUrl}${CREATE}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });

  let taskId = "";
  await check(
    "installed mock: a create with callback_url gets 3 signed deliveries that the installed verifyCallback accepts",
    async () => {
      const created = await (await post({ video_url: "https://example.com/clip.mp4", callback_url: hook.url })).json();
      taskId = created.data.task_id;
      await until("3 deliveries", () => (hook.bodies.length >= 3 ? true : undefined));
      const statuses = [];
      for (const delivery of hook.bodies)
        statuses.push(
          (await verifyCallback({ headers: delivery.headers, body: delivery.body }, { secret: SECRET })).task_status,
        );
      assert(statuses.join(",") === "submitted,processing,succeed", `statuses ${statuses.join(",")}`);
      return statuses.join(" → ");
    },
  );

  await check("installed mock: MP3, WAV and MP4 served with their types, Range 206 and 416", async () => {
    const task = (await (await fetch(`${mockUrl}${CREATE}/${taskId}`)).json()).data;
    const audio = task.task_result.audios[0];
    const sizes: string[] = [];
    for (const [url, type] of [
      [audio.url_mp3, "audio/mpeg"],
      [audio.url_wav, "audio/wav"],
      [task.task_result.videos[0].url, "video/mp4"],
    ]) {
      const whole = await fetch(url);
      assert(whole.headers.get("content-type") === type, `${url}: ${whole.headers.get("content-type")}`);
      const size = (await whole.arrayBuffer()).byteLength;
      const part = await fetch(url, { headers: { Range: "bytes=0-99" } });
      assert(
        part.status === 206 && part.headers.get("content-range") === `bytes 0-99/${size}`,
        `${url}: Range gave ${part.status} ${part.headers.get("content-range")}`,
      );
      const past = await fetch(url, { headers: { Range: `bytes=${size}-` } });
      assert(past.status === 416, `${url}: past the end gave ${past.status}`);
      sizes.push(`${type} ${size} B`);
    }
    return sizes.join(", ");
  });

  await check("installed mock: a typo'd field gets 1201 naming it and the closest field", async () => {
    const answer = await (await post({ video_url: "https://example.com/a.mp4", bgm_promt: "x" })).json();
    assert(
      answer.code === 1201 && /unknown field "bgm_promt" \(did you mean "bgm_prompt"\?\)/.test(answer.message),
      JSON.stringify(answer),
    );
    return answer.message.slice(0, 80);
  });

  await check("installed mock: Prefer example=failed on create makes a task that ends failed", async () => {
    const created = await (await post({ video_url: "https://example.com/a.mp4" }, { Prefer: "example=failed" })).json();
    const end = await until("the end", async () => {
      const task = (await (await fetch(`${mockUrl}${CREATE}/${created.data.task_id}`)).json()).data;
      return task.task_status === "failed" || task.task_status === "succeed" ? task : undefined;
    });
    assert(end.task_status === "failed", `ended ${end.task_status}`);
    return `ended failed: ${end.task_status_msg}`;
  });
}

/** The page's journey, run in Chromium on an origin other than the mock's. Results go to `window.results`. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>mock journey</title><body><script type="module">
const mock = new URL(location.href).searchParams.get("mock");
const base = mock + "/v1/audio/video-to-audio";
const TOLERANCE = ${TOLERANCE_S};
const results = [];
async function check(name, fn) {
  try { results.push({ name, ok: true, detail: String(await fn()) }); }
  catch (error) { results.push({ name, ok: false, detail: String(error && error.message || error) }); }
}
function assert(condition, why) { if (!condition) throw new Error(why); }
async function runTask(headers, body) {
  const created = await fetch(base, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  }).then((r) => r.json());
  if (created.code !== 0) throw new Error(created.code + " " + created.message);
  let task = created.data;
  while (task.task_status === "submitted" || task.task_status === "processing") {
    await new Promise((r) => setTimeout(r, 100));
    const answer = await fetch(base + "/" + task.task_id, { headers }).then((r) => r.json());
    if (answer.code !== 0) throw new Error(answer.code + " " + answer.message);
    task = answer.data;
  }
  return task;
}
function metadata(element, url) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no loadedmetadata within 10 s for " + url)), 10000);
    element.addEventListener("loadedmetadata", () => { clearTimeout(timer); resolve(element); }, { once: true });
    element.addEventListener("error", () => {
      clearTimeout(timer);
      reject(new Error("media error " + (element.error && element.error.code) + " for " + url));
    }, { once: true });
    element.crossOrigin = "anonymous";
    element.preload = "metadata";
    element.src = url;
    document.body.append(element);
  });
}
let task;
await check("page on another origin: create with no key, poll until succeed", async () => {
  task = await runTask({}, { video_url: "https://example.com/clip.mp4", bgm_prompt: "slow ambient piano" });
  assert(task.task_status === "succeed", "ended " + task.task_status);
  return task.task_id + " " + task.task_status;
});
await check("page: create with an Authorization header (the preflight must name it)", async () => {
  const other = await runTask({ Authorization: "Bearer any-token" }, { video_url: "https://example.com/clip.mp4" });
  return other.task_status;
});
const audio0 = () => task.task_result.audios[0];
await check("<audio crossOrigin> MP3: loadedmetadata, duration matches duration_mp3", async () => {
  const el = await metadata(new Audio(), audio0().url_mp3);
  assert(Math.abs(el.duration - Number(audio0().duration_mp3)) <= TOLERANCE,
    "duration " + el.duration + " vs " + audio0().duration_mp3);
  return "duration " + el.duration + " s, task " + audio0().duration_mp3;
});
await check("<audio crossOrigin> WAV: loadedmetadata, duration matches duration_wav", async () => {
  const el = await metadata(new Audio(), audio0().url_wav);
  assert(Math.abs(el.duration - Number(audio0().duration_wav)) <= TOLERANCE,
    "duration " + el.duration + " vs " + audio0().duration_wav);
  return "duration " + el.duration + " s, task " + audio0().duration_wav;
});
await check("<video crossOrigin> MP4: loadedmetadata, duration matches videos[0].duration, frames and an audio " +
  "track", async () => {
  const video = task.task_result.videos[0];
  const el = await metadata(document.createElement("video"), video.url);
  assert(Math.abs(el.duration - Number(video.duration)) <= TOLERANCE,
    "duration " + el.duration + " vs " + video.duration);
  assert(el.videoWidth > 0, "no video frames");
  const bytes = await fetch(video.url).then((r) => r.arrayBuffer());
  const sound = await new OfflineAudioContext(1, 1, 22050).decodeAudioData(bytes);
  assert(Math.abs(sound.duration - Number(video.duration)) <= TOLERANCE, "audio track " + sound.duration + " s");
  return "duration " + el.duration + " s, " + el.videoWidth + "x" + el.videoHeight +
    ", audio track " + sound.duration.toFixed(3) + " s";
});
await check("the MP3 plays: currentTime advances", async () => {
  const el = await metadata(new Audio(), audio0().url_mp3);
  await el.play();
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("currentTime stuck at " + el.currentTime)), 10000);
    el.addEventListener("timeupdate", function onTime() {
      if (el.currentTime > 0.3) {
        clearTimeout(timer);
        el.removeEventListener("timeupdate", onTime);
        resolve();
      }
    });
  });
  el.pause();
  return "played to " + el.currentTime.toFixed(2) + " s";
});
await check("Web Audio decodes the WAV fetched cross-origin", async () => {
  const bytes = await fetch(audio0().url_wav).then((r) => r.arrayBuffer());
  const sound = await new OfflineAudioContext(1, 1, 8000).decodeAudioData(bytes);
  assert(Math.abs(sound.duration - Number(audio0().duration_wav)) <= TOLERANCE, "decoded " + sound.duration);
  return "decoded " + sound.duration + " s";
});
await check("a Range request from the page gets 206 with a readable Content-Range", async () => {
  const part = await fetch(audio0().url_mp3, { headers: { Range: "bytes=0-1023" } });
  assert(part.status === 206, "status " + part.status);
  assert(/^bytes 0-1023\\/\\d+$/.test(part.headers.get("content-range") || ""),
    "content-range " + part.headers.get("content-range"));
  return part.headers.get("content-range");
});
await check("Prefer: example=failed on create: the README's loop ends failed, no 404", async () => {
  const failed = await runTask({ Prefer: "example=failed" }, { video_url: "https://example.com/clip.mp4" });
  assert(failed.task_status === "failed", "ended " + failed.task_status);
  return failed.task_status + ": " + failed.task_status_msg;
});
await check("a bad body's 1201 message, read by the page, names the field", async () => {
  const answer = await fetch(base, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ video_url: "https://example.com/a.mp4", sound_effect_prompt: "x".repeat(201) }),
  }).then((r) => r.json());
  assert(answer.code === 1201 && /sound_effect_prompt must be at most 200/.test(answer.message),
    JSON.stringify(answer));
  return answer.message;
});
window.results = results;
</script>`;

async function browserChecks(mockUrl: string): Promise<void> {
  const missing = chromiumMissing();
  if (missing) {
    record("chromium", false, missing);
    return;
  }
  const pages = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE);
  });
  await new Promise<void>((resolve) => pages.listen(0, "127.0.0.1", resolve));
  const pageUrl = `http://127.0.0.1:${(pages.address() as AddressInfo).port}/?mock=${encodeURIComponent(mockUrl)}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // So a page can play() without a click.
    args: [...CHROMIUM_FLAGS, "--autoplay-policy=no-user-gesture-required"],
  });
  try {
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on("console", (message) => {
      // The one 400 the journey asks for on purpose is logged by Chromium as a failed resource load.
      if (message.type() === "error" && !/status of 400 \(Bad Request\)/.test(message.text()))
        consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => consoleErrors.push(error.message));
    await page.goto(pageUrl);
    assert(new URL(pageUrl).origin !== new URL(mockUrl).origin, "the page must be on another origin");
    const results = (await page
      .waitForFunction(() => (window as unknown as { results?: unknown }).results, undefined, { timeout: 60_000 })
      .then((handle) => handle.jsonValue())) as CheckResult[];
    for (const result of results) record(`chromium: ${result.name}`, result.ok, result.detail);
    record(
      "chromium: no console errors on the page",
      consoleErrors.length === 0,
      consoleErrors.join(" | ").slice(0, 300),
    );
  } catch (error) {
    record(
      "chromium: the journey page",
      false,
      error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error),
    );
  } finally {
    await browser.close();
    pages.close();
  }
}

/** The mock's vitest suites, run against the installed package's mock instead of the source (KLING_MOCK_ENTRY). */
const SUITES = [
  "test/integration/mock-media.test.ts",
  "test/integration/mock-callbacks.test.ts",
  "test/integration/mock-errors.test.ts",
  "test/integration/mock-prefer.test.ts",
];

async function suiteChecks(entry: string): Promise<void> {
  const report = join(base, "vitest.json");
  const vitest = join(root, "node_modules", "vitest", "vitest.mjs");
  const result = await runCaptured(
    process.execPath,
    [vitest, "run", "--reporter=json", `--outputFile.json=${report}`, ...SUITES],
    root,
    { KLING_MOCK_ENTRY: entry },
  );
  let files: Array<{ name: string; assertionResults: Array<{ status: string; fullName: string }> }> = [];
  try {
    files = JSON.parse(await readFile(report, "utf8")).testResults;
  } catch {
    record("installed mock: the vitest suites", false, `no report (exit ${result.code}): ${result.output.slice(-300)}`);
    return;
  }
  for (const suite of SUITES) {
    const file = files.find((f) => f.name.endsWith(suite));
    const tests = file?.assertionResults ?? [];
    const failed = tests.filter((t) => t.status !== "passed");
    const ok = tests.length > 0 && failed.length === 0;
    record(
      `installed mock: ${suite}`,
      ok,
      ok
        ? `${tests.length} tests passed`
        : `${failed.length} of ${tests.length} failed: ${failed
            .map((t) => t.fullName)
            .join("; ")
            .slice(0, 300)}`,
    );
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  let tarball: string;
  try {
    tarball = await install();
    record(
      "package",
      true,
      `${tarball} built, packed and installed with Prism in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  } catch (error) {
    record("package", false, error instanceof Error ? error.message : String(error));
    return;
  }
  const { startMock } = await installed<typeof import("../../mocks/index.js")>(`${PACKAGE}/mock`);
  const { verifyCallback } = await installed<typeof import("../../src/index.js")>(PACKAGE);
  const hook = await startHook();
  const mock = await startMock({ submittedMs: 300, processingMs: 600, webhookSecret: SECRET });
  try {
    await nodeChecks(mock.url, hook, verifyCallback as never);
    await browserChecks(mock.url);
  } finally {
    await mock.close();
    hook.close();
  }
  await suiteChecks(createRequire(join(appDir, "package.json")).resolve(`${PACKAGE}/mock`));
}

const watchdog = setTimeout(() => {
  record("whole run", false, `timed out after ${TIMEOUT_MS / 1000} s`);
  finish();
}, TIMEOUT_MS);

try {
  await main();
} catch (error) {
  record("harness", false, error instanceof Error ? (error.stack ?? error.message) : String(error));
}
clearTimeout(watchdog);
finish();
