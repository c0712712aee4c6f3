// `tsx test/ci/msw-browser.ts`: kling-video-to-audio/msw from the packed, installed package (msw 2 beside it), in Node
// (setupServer) and in a page in Debian's headless Chromium (setupWorker) that runs createClient().run() to succeed
// and plays the returned MP3 in an <audio> element.
//
// One PASS/FAIL line per check, then "N passed, N failed" as the last line; exits 1 if any failed. Run by .ci/run with
// the other Chromium suites (too slow for npm test: it builds, packs, installs and starts a browser).
//
//   tsx test/ci/msw-browser.ts        (CHROMIUM_PATH=... to pick a browser)
//
// Everything goes under .runtimes/msw-browser/ (git-ignored): pack/ (npm pack of this checkout), app/ (a fresh
// `npm install <tarball> msw@<the tested 2.x>`) and app/public/ (the page, its bundle and mockServiceWorker.js).
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import {
  assert,
  CHROMIUM,
  CHROMIUM_FLAGS,
  checkRecorder,
  chromiumMissing,
  freshPack,
  runCaptured,
} from "../support/ci-checks.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const base = join(root, ".runtimes", "msw-browser");
const packDir = join(base, "pack");
const appDir = join(base, "app");
const publicDir = join(appDir, "public");
/** The fixture's length (mocks/media/media.json) and how far a player's reading of it may be off. */
const TOLERANCE_S = 0.1;

const { record, check, finish } = checkRecorder();

/** Builds, packs, and installs the tarball with the msw version this checkout tests against. */
async function install(): Promise<string> {
  const tarball = await freshPack(root, { base, packDir, appDir });
  await mkdir(publicDir, { recursive: true });
  const manifest = JSON.parse(await readFile(join(root, "package.json"), "utf8"));
  const msw = `msw@${manifest.devDependencies.msw}`;
  await writeFile(
    join(appDir, "package.json"),
    `${JSON.stringify({ name: "msw-app", private: true, type: "module" })}\n`,
  );
  const args = ["install", join(packDir, tarball), msw, "--no-audit", "--no-fund", "--prefer-offline"];
  const installed = await runCaptured("npm", args, appDir);
  if (installed.code !== 0) throw new Error(`npm install failed: ${installed.output.slice(-500)}`);
  return `${tarball} with ${msw}`;
}

/** The Node journey, as a user's test file runs it: setupServer from msw/node, the SDK against the handlers. */
const NODE_JOURNEY = `
import { setupServer } from "msw/node";
import { createMockHandlers } from "kling-video-to-audio/msw";
import { createClient } from "kling-video-to-audio";
const mock = createMockHandlers({ submittedMs: 50, processingMs: 50 });
const server = setupServer(...mock.handlers);
server.listen({ onUnhandledRequest: "error" });
const kling = createClient({ baseUrl: "https://api.deerapi.com/kling", apiKey: "any" });
const task = await kling.run({ video_url: "https://example.com/clip.mp4" });
const mp3 = await fetch(task.task_result.audios[0].url_mp3);
const bytes = (await mp3.arrayBuffer()).byteLength;
mock.reset();
const gone = (await fetch("https://api.deerapi.com/kling/v1/audio/video-to-audio/" + task.task_id)).status;
server.close();
console.log(JSON.stringify({ status: task.task_status, type: mp3.headers.get("content-type"), bytes, gone }));
`;

/** The page's journey: the worker, the SDK run to succeed, the MP3 played. Results go to `window.results`. */
const PAGE_SCRIPT = `
import { setupWorker } from "msw/browser";
import { createMockHandlers } from "kling-video-to-audio/msw";
import { createClient } from "kling-video-to-audio";
const results = [];
async function step(name, fn) {
  try { results.push({ name, ok: true, detail: String(await fn()) }); }
  catch (error) { results.push({ name, ok: false, detail: String((error && error.message) || error) }); }
}
function played(audio) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no playback within 20 s, at " + audio.currentTime)), 20000);
    const done = (why) => { clearTimeout(timer); resolve(why + " at " + audio.currentTime.toFixed(2) + " s"); };
    audio.addEventListener("ended", () => done("ended"));
    audio.addEventListener("timeupdate", () => { if (audio.currentTime > 0.5) done("playing"); });
    audio.addEventListener("error", () => reject(new Error("media error " + (audio.error && audio.error.code))));
  });
}
const mock = createMockHandlers({ baseUrl: "/api/kling", submittedMs: 300, processingMs: 600 });
let task;
await step("setupWorker(...handlers).start()", async () => {
  await setupWorker(...mock.handlers).start({ onUnhandledRequest: "bypass", quiet: true });
  return "mockServiceWorker.js active";
});
await step("createClient({ baseUrl: '/api/kling' }).run() ends succeed", async () => {
  task = await createClient({ baseUrl: "/api/kling" }).run({ video_url: "https://example.com/clip.mp4" });
  if (task.task_status !== "succeed") throw new Error("ended " + task.task_status);
  return task.task_id + ": " + task.task_result.audios[0].url_mp3;
});
await step("the returned MP3 plays in an <audio> element, its duration the task's", async () => {
  const entry = task.task_result.audios[0];
  const audio = document.createElement("audio");
  audio.src = entry.url_mp3;
  document.body.append(audio);
  await new Promise((resolve, reject) => {
    audio.addEventListener("loadedmetadata", resolve, { once: true });
    audio.addEventListener("error", () => reject(new Error("media error " + (audio.error && audio.error.code))));
  });
  const off = Math.abs(audio.duration - Number(entry.duration_mp3));
  if (!(off <= ${TOLERANCE_S})) throw new Error("duration " + audio.duration + " vs " + entry.duration_mp3);
  const playing = played(audio);
  await audio.play();
  return (await playing) + ", duration " + audio.duration.toFixed(3) + " s (task says " + entry.duration_mp3 + ")";
});
await step("an invalid create is refused with 400, code 1201, naming the field", async () => {
  const response = await fetch("/api/kling/v1/audio/video-to-audio", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ video_url: "ftp://x" }),
  });
  const body = await response.json();
  const named = response.status === 400 && body.code === 1201 && /video_url/.test(body.message);
  if (!named) throw new Error(JSON.stringify(body));
  return body.message;
});
window.results = results;
`;

const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript" };

/** Serves app/public/ on a free loopback port. */
async function servePublic(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const file = join(publicDir, path === "/" ? "index.html" : path.slice(1));
    if (!file.startsWith(publicDir) || !existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": `${TYPES[extname(file)] ?? "application/octet-stream"}; charset=utf-8` });
    res.end(await readFile(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function nodeJourney(): Promise<void> {
  await writeFile(join(appDir, "node-journey.mjs"), NODE_JOURNEY);
  await check("node: setupServer + createClient().run() through the installed package", async () => {
    const result = await runCaptured(process.execPath, ["node-journey.mjs"], appDir);
    assert(result.code === 0, `exit ${result.code}: ${result.output.slice(-800)}`);
    const outcome = JSON.parse(result.output.trim().split("\n").at(-1) ?? "{}");
    assert(outcome.status === "succeed", `ended ${outcome.status}`);
    assert(outcome.type === "audio/mpeg" && outcome.bytes > 5000, `mp3: ${outcome.type}, ${outcome.bytes} bytes`);
    assert(outcome.gone === 404, `after reset() the task answers ${outcome.gone}`);
    return `succeed, ${outcome.bytes}-byte MP3, 404 after reset()`;
  });
}

/** The page's bundle (as an app's bundler makes it, from the app's node_modules) and the worker script. */
async function preparePage(): Promise<void> {
  const init = await runCaptured(
    process.execPath,
    [join(appDir, "node_modules/msw/cli/index.js"), "init", publicDir],
    appDir,
  );
  if (init.code !== 0) throw new Error(`msw init failed: ${init.output.slice(-500)}`);
  const esbuild = await import("esbuild");
  await esbuild.build({
    stdin: { contents: PAGE_SCRIPT, resolveDir: appDir, sourcefile: "page.js", loader: "js" },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outfile: join(publicDir, "app.js"),
    logLevel: "warning",
  });
  await writeFile(
    join(publicDir, "index.html"),
    `<!doctype html><title>msw</title><link rel="icon" href="data:,"><script type="module" src="/app.js"></script>`,
  );
}

async function browserJourney(): Promise<void> {
  const missing = chromiumMissing();
  if (missing) {
    record("chromium", false, missing);
    return;
  }
  const site = await servePublic();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // So the page may play() without a click.
    args: [...CHROMIUM_FLAGS, "--autoplay-policy=no-user-gesture-required"],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("response", (response) => {
      if (response.status() === 404) errors.push(`404 for ${response.url()}`);
    });
    page.on("console", (message) => {
      // The 400 the journey asks for on purpose is logged by Chromium as a failed resource load.
      if (message.type() === "error" && !/status of (400|404)/.test(message.text())) errors.push(message.text());
    });
    await page.goto(site.url);
    const handle = await page.waitForFunction(() => (window as { results?: unknown }).results, undefined, {
      timeout: 60_000,
    });
    const results = (await handle.jsonValue()) as Array<{ name: string; ok: boolean; detail: string }>;
    for (const result of results) record(`chromium: ${result.name}`, result.ok, result.detail);
    record("chromium: no errors on the page", errors.length === 0, errors.join(" | "));
  } catch (error) {
    record("chromium: the journey page", false, error instanceof Error ? error.message : String(error));
  } finally {
    await browser.close();
    await site.close();
  }
}

async function main(): Promise<void> {
  let installedOk = false;
  await check("pack and install with msw 2 beside it", async () => {
    const what = await install();
    installedOk = true;
    return what;
  });
  if (installedOk) {
    await nodeJourney();
    await check("page bundle and mockServiceWorker.js (npx msw init)", async () => {
      await preparePage();
      return "app/public/";
    });
    await browserJourney();
  }
  finish();
}

await main();
