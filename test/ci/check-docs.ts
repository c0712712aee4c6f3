// Opens the built HTML API reference (dist/docs/index.html, from `npm run build`) in headless Chromium with every
// non-file request blocked, and checks what a reader must find on it: the three operations, the status callback and
// every Kling business error code. Saves a full-page screenshot to artifacts/reference.png. One PASS/FAIL line per
// check, then "N passed, N failed"; exits 1 on any failure. Not part of `npm test` (it needs Debian's chromium:
// `apt-get install -y chromium`).
//
//   tsx test/ci/check-docs.ts [--chromium /path/to/chromium]     (or CHROMIUM_PATH=...)
import { existsSync, mkdirSync, statSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium, type Page } from "playwright-core";
import { CHROMIUM, CHROMIUM_FLAGS, checkRecorder } from "../support/ci-checks.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const docsPath = `${root}dist/docs/index.html`;
const screenshotPath = `${root}artifacts/reference.png`;
const argIndex = process.argv.indexOf("--chromium");
const executablePath = (argIndex > 0 ? process.argv[argIndex + 1] : undefined) ?? CHROMIUM;

const OPERATIONS = [
  {
    operationId: "createTask",
    method: "POST",
    path: "/v1/audio/video-to-audio",
    summary: "Create a video-to-audio task",
  },
  {
    operationId: "listTasks",
    method: "GET",
    path: "/v1/audio/video-to-audio",
    summary: "List video-to-audio tasks, one page at a time",
  },
  {
    operationId: "getTask",
    method: "GET",
    path: "/v1/audio/video-to-audio/{task_id}",
    summary: "Get one video-to-audio task",
  },
] as const;
const CALLBACK_SUMMARY = "Task status change (sent by Kling to your callback_url)";
const ERROR_STATUSES = ["400", "401", "403", "404", "429", "500", "503", "504"];
const ERROR_CODES = [
  1000, 1001, 1002, 1003, 1004, 1100, 1101, 1102, 1103, 1200, 1201, 1202, 1203, 1300, 1301, 1302, 1303, 1304, 5000,
  5001, 5002,
];

/** One `PASS name (detail)` line per check, then the closing "N passed, N failed" line. */
const { record, finish } = checkRecorder(
  ({ name, ok, detail }) => `${ok ? "PASS" : "FAIL"} ${name}${detail ? ` (${detail})` : ""}`,
);

async function attempt<T>(name: string, body: () => Promise<T>): Promise<T | undefined> {
  try {
    return await body();
  } catch (error) {
    record(name, false, (error instanceof Error ? error.message : String(error)).split("\n")[0]);
    return undefined;
  }
}

/** Loads the reference fresh at a route (the router ignores a hash change on an already loaded page). */
async function open(page: Page, url: string, heading: string): Promise<void> {
  await page.goto("about:blank");
  await page.goto(url, { waitUntil: "load" });
  // (a heading's accessible name also holds its deep-link anchor's label, so match the element's text)
  await page.locator("h1, h2", { hasText: heading }).first().waitFor();
}

/**
 * The business codes shown under one response status of the last operation on the page (its right-hand panel): the
 * names in the example dropdown when there are several examples, else the `code` of the one example shown.
 */
async function examplesUnder(page: Page, status: string): Promise<{ code: number; label: string }[]> {
  await page.getByRole("tab", { name: status, exact: true }).last().click();
  const panel = page.locator('[data-testid="panel-body"]').last();
  const found: { code: number; label: string }[] = [];
  // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is the rendered text a reader sees
  const shown = (await panel.innerText()).match(/"code": (\d{4})/);
  if (shown?.[1]) found.push({ code: Number(shown[1]), label: `shown example, "code": ${shown[1]}` });
  const dropdown = panel.getByRole("button", { name: "Example" });
  if ((await dropdown.count()) > 0) {
    await dropdown.first().click();
    for (const name of await page.getByRole("menuitem").allInnerTexts()) {
      const code = Number(name.trim().slice(0, 4));
      if (code) found.push({ code, label: `example "${name.trim()}"` });
    }
    await page.keyboard.press("Escape");
  }
  return found;
}

if (!existsSync(docsPath)) {
  record("dist/docs/index.html exists", false, "run `npm run build` first");
  finish();
}
if (!existsSync(executablePath)) {
  record(
    `Chromium at ${executablePath}`,
    false,
    "install it with `apt-get install -y chromium` or pass --chromium <path>",
  );
  finish();
}

const browser = await chromium.launch({
  executablePath,
  args: [...CHROMIUM_FLAGS],
});
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const blocked: { type: string; url: string }[] = [];
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (/^(file|data|blob):/.test(url)) return route.continue();
    blocked.push({ type: route.request().resourceType(), url });
    return route.abort("blockedbyclient");
  });
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  const docsUrl = pathToFileURL(docsPath).href;
  const sidebar = page.getByText(OPERATIONS[0].summary).first();

  // Overview, then the first operation expanded with its callback open: the screenshot a reader would see first.
  await attempt("the reference renders", async () => {
    await page.goto(docsUrl, { waitUntil: "load" });
    await page.locator("h1", { hasText: "Kling Video-to-Audio API" }).first().waitFor();
    await page.getByText("+ Show").first().click();
    await sidebar.waitFor();
    record("the reference renders", true, `title "${await page.title()}"`);
  });

  // The three operations: each sidebar entry opens the operation (routed by operationId) with its method and path.
  for (const op of OPERATIONS) {
    const name = `operation ${op.operationId}: "${op.summary}", ${op.method} ${op.path}`;
    await attempt(name, async () => {
      await open(page, `${docsUrl}#/video-to-audio/${op.operationId.toLowerCase()}`, op.summary);
      // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is the rendered text a reader sees
      const text = await page.locator("body").innerText();
      const shown = text.includes(op.path) && text.includes(op.method);
      record(
        name,
        shown && page.url().toLowerCase().endsWith(op.operationId.toLowerCase()),
        shown ? "" : "path or method missing",
      );
    });
  }

  // The status callback of createTask, opened: its summary, its signature headers and its payload.
  await attempt("callback taskStatus", async () => {
    await open(page, `${docsUrl}#/video-to-audio/createtask`, OPERATIONS[0].summary);
    await page.locator("h2, h3, h4", { hasText: "Callbacks" }).first().waitFor();
    await page.getByText(CALLBACK_SUMMARY).first().click();
    await page.getByText("webhook-signature").first().waitFor();
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is the rendered text a reader sees
    const text = await page.locator("body").innerText();
    // The payload's own field, not the callback's key: that name shows only where some description happens to quote it.
    const ok = ["webhook-id", "webhook-timestamp", "webhook-signature", "task_status"].every((s) => text.includes(s));
    record(
      `callback taskStatus: "${CALLBACK_SUMMARY}"`,
      ok,
      ok ? "headers and payload shown" : "callback details missing",
    );
  });

  // A full-page screenshot of that view (overview above it is one click away in the sidebar).
  await attempt("screenshot", async () => {
    mkdirSync(`${root}artifacts`, { recursive: true });
    await page.screenshot({ path: screenshotPath, fullPage: true });
    record(
      `screenshot artifacts/reference.png`,
      statSync(screenshotPath).size > 10_000,
      `${(statSync(screenshotPath).size / 1024).toFixed(0)} KiB`,
    );
  });

  // Every business error code, as the named examples of the error responses (getTask declares them all).
  const found = new Map<number, string>();
  await attempt("error examples", async () => {
    await open(page, `${docsUrl}#/video-to-audio/gettask`, OPERATIONS[2].summary);
    for (const status of ERROR_STATUSES) {
      for (const { code, label } of await examplesUnder(page, status)) {
        if (!found.has(code)) found.set(code, `HTTP ${status}, ${label}`);
      }
    }
  });
  for (const code of ERROR_CODES)
    record(`error code ${code}`, found.has(code), found.get(code) ?? "not among the examples shown");

  record("no script errors on the page", pageErrors.length === 0, pageErrors.slice(0, 3).join("; "));
  // Redoc's "API docs by" badge loads a logo from Redocly's CDN and hides itself when that fails: decorative only.
  const needed = blocked.filter((b) => b.type !== "image");
  const images = blocked.filter((b) => b.type === "image").map((b) => b.url);
  record(
    "self-contained: no script, style, font or data request left the file",
    needed.length === 0,
    needed.length > 0
      ? needed.map((b) => `${b.type} ${b.url}`).join(", ")
      : images.length > 0
        ? `blocked decorative images: ${[...new Set(images)].join(", ")}`
        : "",
  );
} finally {
  await browser.close();
}

finish();
