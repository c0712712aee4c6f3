// Journeys of `kling-v2a mock` from the installed package, called over HTTP as the README's mock section does with
// curl and a browser's fetch: the lifecycle, failures on demand, unknown ids, the list, Prefer, CORS and the flags.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type InstalledPackage,
  installedPackage,
  killChildren,
  mocksOf,
  type Program,
  startMock,
} from "../support/journey.js";

// Each journey runs whole programs (a loaded 2-core machine can make one take seconds): a generous bound, not a speed
// test.
vi.setConfig({ testTimeout: 120_000 });

const PATH = "/v1/audio/video-to-audio";
const EXAMPLE_ID = "866889456698785798";
const headers = { Authorization: "Bearer any", "Content-Type": "application/json" };

let pkg: InstalledPackage;
/** The run's lifecycle mock, started from the installed bin (test/support/journey-package.ts). */
const mock = {
  get url() {
    return mocksOf(pkg).fast;
  },
};
/** This file's own: lifecycle with --verbose, stopped with Ctrl-C at the end. */
let verbose: Program;
/** This file's own: plain Prism (--no-lifecycle). */
let plain: Program;

beforeAll(async () => {
  pkg = await installedPackage();
  [verbose, plain] = await Promise.all([
    startMock(pkg, ["--verbose", "--submitted-ms", "200", "--processing-ms", "400"]),
    startMock(pkg, ["--no-lifecycle"]),
  ]);
}, 300_000);

afterAll(killChildren);

async function call(
  base: string,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${base}${path}`, {
    ...init,
    headers: { ...headers, ...(init.headers as Record<string, string>) },
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: response.status, body, headers: response.headers };
}

const create = (body: Record<string, unknown>, init: RequestInit = {}) =>
  call(mock.url, PATH, { method: "POST", body: JSON.stringify(body), ...init });

/** Polls a task (as the README's browser loop does) until it leaves submitted/processing; records each status seen. */
async function follow(id: string): Promise<{ seen: string[]; task: any }> {
  const seen: string[] = [];
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    const { body } = await call(mock.url, `${PATH}/${id}`);
    const status = body.data.task_status;
    if (seen.at(-1) !== status) seen.push(status);
    if (status !== "submitted" && status !== "processing") return { seen, task: body.data };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`task ${id} did not end within 60 s: ${seen.join(" → ")}`);
}

describe("the lifecycle", () => {
  it(
    "a created task is yours (its own id, external_task_id, video, created_at) and moves submitted → processing → " +
      "succeed",
    async () => {
      const before = Date.now();
      const created = await create({
        video_url: "https://example.com/clip.mp4",
        bgm_prompt: "slow ambient piano",
        external_task_id: "job-1",
      });
      expect(created.status).toBe(200);
      expect(created.body.code).toBe(0);
      const task = created.body.data;
      expect(task.task_status).toBe("submitted");
      const again = await create({ video_url: "https://example.com/clip.mp4" });
      expect(again.body.data.task_id).not.toBe(task.task_id); // a new task_id every time

      const { seen, task: done } = await follow(task.task_id);
      expect(seen.at(-1)).toBe("succeed");
      expect(["submitted", "processing", "succeed"].filter((s) => seen.includes(s))).toEqual(seen);
      expect(done.task_id).toBe(task.task_id);
      expect(done.task_info).toMatchObject({
        external_task_id: "job-1",
        parent_video: { url: "https://example.com/clip.mp4" },
      });
      expect(done.created_at).toBeGreaterThanOrEqual(before - 5_000);
      expect(done.task_result.audios[0].url_mp3).toMatch(/^https?:\/\//);
    },
  );

  it("a task whose input says 'fail' ends failed, with the example's task_status_msg", async () => {
    const created = await create({ video_url: "https://example.com/clip.mp4", sound_effect_prompt: "please fail" });
    const { task } = await follow(created.body.data.task_id);
    expect(task.task_status).toBe("failed");
    expect(task.task_status_msg).toMatch(/\S/);
  });

  it("an unknown id, the spec's example id included, answers 404 with code 1203", async () => {
    for (const id of ["123456789012345678", EXAMPLE_ID]) {
      const answer = await call(mock.url, `${PATH}/${id}`);
      expect(answer.status).toBe(404);
      expect(answer.body.code).toBe(1203);
    }
  });

  it("the list returns the tasks created so far, newest first, paginated", async () => {
    const a = (await create({ video_url: "https://example.com/list-a.mp4" })).body.data.task_id;
    const b = (await create({ video_url: "https://example.com/list-b.mp4" })).body.data.task_id;
    const ids = async (query: string) =>
      (await call(mock.url, `${PATH}?${query}`)).body.data.map((t: { task_id: string }) => t.task_id) as string[];
    // Other journeys may create tasks on this shared mock meanwhile: look at the order of these two only.
    expect((await ids("pageNum=1&pageSize=500")).filter((id) => id === a || id === b)).toEqual([b, a]);
    const [page1, page2] = await Promise.all([ids("pageNum=1&pageSize=1"), ids("pageNum=2&pageSize=1")]);
    expect(page1).toHaveLength(1);
    expect(page2).toHaveLength(1);
    expect(page2[0]).not.toBe(page1[0]);
  });

  it("a body that breaks the spec gets a Kling-shaped 400 (code 1201) and is not remembered", async () => {
    const bodies = [
      { video_url: "https://example.com/a.mp4", video_id: "1" },
      {},
      { video_url: "https://example.com/a.mp4", bgm_promt: "typo" },
      { video_url: "https://example.com/a.mp4", bgm_prompt: "x".repeat(201) },
    ].map((body, i) => ({ ...body, external_task_id: `journey-refused-${i}` }));
    for (const body of bodies) {
      const answer = await create(body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.code, JSON.stringify(body)).toBe(1201);
    }
    const listed = (await call(mock.url, `${PATH}?pageSize=500`)).body.data.map(
      (t: any) => t.task_info?.external_task_id,
    );
    expect(listed.filter((id: string) => id?.startsWith("journey-refused-"))).toEqual([]);
  });
});

describe("Prefer always wins", () => {
  it("example=processing on a query gives that status at once, whatever the id", async () => {
    const answer = await call(mock.url, `${PATH}/${EXAMPLE_ID}`, { headers: { Prefer: "example=processing" } });
    expect(answer.status).toBe(200);
    expect(answer.body.data.task_status).toBe("processing");
  });

  it("code=429, example=1102_resource_pack_exhausted gives that business error", async () => {
    const answer = await call(mock.url, `${PATH}/${EXAMPLE_ID}`, {
      headers: { Prefer: "code=429, example=1102_resource_pack_exhausted" },
    });
    expect(answer.status).toBe(429);
    expect(answer.body.code).toBe(1102);
  });

  it("the query form ?__example=failed works too", async () => {
    const answer = await call(mock.url, `${PATH}/${EXAMPLE_ID}?__example=failed`);
    expect(answer.body.data.task_status).toBe("failed");
  });

  it("CORS is on and allows any header, Prefer included (a browser's preflight)", async () => {
    const response = await fetch(`${mock.url}${PATH}`, {
      method: "OPTIONS",
      headers: {
        Origin: "http://localhost:5173",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "prefer, content-type, authorization",
      },
    });
    expect(response.status).toBeLessThan(300);
    expect(response.headers.get("access-control-allow-origin")).toMatch(/^(\*|http:\/\/localhost:5173)$/);
    expect((response.headers.get("access-control-allow-headers") ?? "").toLowerCase()).toMatch(/\*|prefer/);
  });
});

describe("kling-v2a mock --no-lifecycle", () => {
  it("is plain Prism: the static example for the example id, and creates are not remembered", async () => {
    const got = await call(plain.url, `${PATH}/${EXAMPLE_ID}`);
    expect(got.status).toBe(200);
    expect(got.body.data.task_id).toBe(EXAMPLE_ID);
    const created = await call(plain.url, PATH, {
      method: "POST",
      body: JSON.stringify({ video_url: "https://example.com/a.mp4" }),
    });
    expect(created.status).toBe(200);
    // Any id gets the static example (no 404 for ids it never created, as in lifecycle mode).
    const unknown = await call(plain.url, `${PATH}/123456789012345678`);
    expect(unknown.status).toBe(200);
    expect(unknown.body.data.task_status).toBe(got.body.data.task_status);
  });
});

describe("kling-v2a mock --verbose", () => {
  it("listens on 127.0.0.1 on the free port it was given (--port 0) and prints how to call it", () => {
    expect(verbose.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(verbose.output().stdout).toContain(`curl -s -X POST ${verbose.url}/v1/audio/video-to-audio`);
  });

  it("--verbose writes one line per request on stderr", async () => {
    const marker = "123456789000000042";
    await call(verbose.url, `${PATH}/${marker}`);
    const line = (await verbose.waitForStderr(marker)).split("\n").find((l) => l.includes(marker));
    expect(line).toMatch(/GET/);
  });

  it("Ctrl-C (SIGINT) stops it cleanly: exit 0, 'Mock stopped.'", async () => {
    const result = await verbose.stop("SIGINT");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Mock stopped.");
  });
});
