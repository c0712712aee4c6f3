// What a careless user or a hostile server still got through (issue 18), refused now: no key, a hot poll loop, raw
// POSTs sent twice, cross-origin redirects, and a run aborted after its create.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BASE_URLS, createClient, KlingConnectionError, KlingValidationError } from "../../src/index.js";
import { checkPollFloor } from "../../src/request/input.js";

const TASK = { task_id: "866889456698785798", task_status: "submitted" };
const ok = (data: unknown = TASK) =>
  new Response(JSON.stringify({ code: 0, message: "SUCCEED", request_id: "r", data }), { status: 200 });

afterEach(() => vi.unstubAllEnvs());

function withoutKeys() {
  for (const name of ["KLING_V2A_API_KEY", "DEERAPI_KEY", "KLING_V2A_ACCESS_KEY", "KLING_V2A_SECRET_KEY"])
    vi.stubEnv(name, "");
  vi.stubEnv("KLING_V2A_BASE_URL", "");
}

describe("no credentials, no request", () => {
  it("createClient() with no key for DeerAPI or Kling throws, naming apiKey and the environment variable", () => {
    withoutKeys();
    for (const baseUrl of [undefined, BASE_URLS.deerapi, BASE_URLS.klingSingapore, `${BASE_URLS.klingBeijing}/`]) {
      const error = (() => {
        try {
          createClient({ baseUrl });
        } catch (thrown) {
          return thrown;
        }
      })();
      expect(error).toBeInstanceOf(KlingValidationError);
      expect((error as KlingValidationError).field).toBe("apiKey");
      expect((error as Error).message).toMatch(/KLING_V2A_API_KEY/);
    }
  });

  it("the mock, any loopback server and the user's own proxy need no key", () => {
    withoutKeys();
    for (const baseUrl of [
      BASE_URLS.mock,
      "http://localhost:4010",
      "http://127.0.0.5:9",
      "https://app.example/api/kling",
    ])
      expect(() => createClient({ baseUrl })).not.toThrow();
  });
});

describe("the poll floor", () => {
  it("refuses pollIntervalMs below 500 ms against a real server before anything is sent", async () => {
    const fetch = vi.fn(async () => ok());
    const kling = createClient({ apiKey: "sk-floor-0123456789", baseUrl: "https://api.example.test", fetch });
    const refused = { field: "pollIntervalMs" };
    await expect(kling.run({ video_url: "https://example.com/a.mp4" }, { pollIntervalMs: 1 })).rejects.toMatchObject(
      refused,
    );
    await expect(kling.waitForTask(TASK.task_id, { pollIntervalMs: 499 })).rejects.toMatchObject(refused);
    expect(fetch).not.toHaveBeenCalled();
  });

  it("lets the mock on loopback be polled faster", async () => {
    const fetch = vi.fn(async () => ok({ ...TASK, task_status: "succeed" }));
    const kling = createClient({ baseUrl: "http://127.0.0.1:4010", fetch });
    await expect(kling.waitForTask(TASK.task_id, { pollIntervalMs: 10 })).resolves.toMatchObject({
      task_id: TASK.task_id,
    });
  });
});

describe("raw has no safe create", () => {
  const rawClient = (answers: Response[]) => {
    const methods: string[] = [];
    const kling = createClient({
      apiKey: "sk-raw-0123456789",
      baseUrl: "https://api.example.test",
      maxRetries: 2,
      fetch: async (request) => {
        methods.push(request.method);
        return answers.shift() ?? ok();
      },
    });
    return { kling, methods };
  };
  const body = { video_url: "https://example.com/a.mp4" };

  it("a POST answered 500 is sent once", async () => {
    const { kling, methods } = rawClient([
      new Response(JSON.stringify({ code: 5000, message: "boom" }), { status: 500 }),
    ]);
    await expect(kling.raw.POST("/v1/audio/video-to-audio", { body })).rejects.toMatchObject({ status: 500 });
    expect(methods).toEqual(["POST"]);
  });

  it("a POST answered 429 with code 1302 (the server did not act) is sent again", async () => {
    const slowDown = new Response(JSON.stringify({ code: 1302, message: "slow" }), {
      status: 429,
      headers: { "retry-after": "0" },
    });
    const { kling, methods } = rawClient([slowDown]);
    const { response } = await kling.raw.POST("/v1/audio/video-to-audio", { body });
    expect(response.status).toBe(200);
    expect(methods).toEqual(["POST", "POST"]);
  });

  it("a GET answered 500 is still retried", async () => {
    const failed = () =>
      new Response(JSON.stringify({ code: 5000, message: "boom" }), { status: 500, headers: { "retry-after": "0" } });
    const { kling, methods } = rawClient([failed()]);
    const { response } = await kling.raw.GET("/v1/audio/video-to-audio/{task_id}", {
      params: { path: { task_id: TASK.task_id } },
    });
    expect(response.status).toBe(200);
    expect(methods).toEqual(["GET", "GET"]);
  });
});

describe("redirects", () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });
  async function serve(host: string, handler: http.RequestListener): Promise<string> {
    const server = http.createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    return `http://${host}:${(server.address() as AddressInfo).port}`;
  }

  it(
    "a redirect to another origin is not followed: the error names that origin and nothing is sent " + "there",
    async () => {
      const elsewhere: string[] = [];
      const other = await serve("127.0.0.2", (req, res) => {
        elsewhere.push(`${req.method} ${req.headers.authorization ?? "-"}`);
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ code: 0, data: TASK }));
      });
      const origin = await serve("127.0.0.1", (req, res) => {
        res.writeHead(307, { location: `${other}${req.url}` }).end();
      });
      const kling = createClient({ apiKey: "sk-redirect-0123456789", baseUrl: origin });
      const error = await kling.createTask({ video_url: "https://example.com/a.mp4" }).catch((thrown) => thrown);
      expect(error).toBeInstanceOf(KlingConnectionError);
      expect(error.message).toContain(other);
      expect(elsewhere).toEqual([]);
    },
  );

  it("a redirect on the same origin is followed, with the body and the key", async () => {
    const seen: string[] = [];
    const origin = await serve("127.0.0.1", (req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        seen.push(`${req.method} ${req.url} ${req.headers.authorization} ${body.length > 0}`);
        if (req.url === "/old/v1/audio/video-to-audio") {
          res.writeHead(308, { location: "/new/v1/audio/video-to-audio" }).end();
        } else {
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ code: 0, data: TASK }));
        }
      });
    });
    const kling = createClient({ apiKey: "sk-redirect-0123456789", baseUrl: `${origin}/old` });
    await expect(kling.createTask({ video_url: "https://example.com/a.mp4" })).resolves.toMatchObject(TASK);
    expect(seen).toEqual([
      "POST /old/v1/audio/video-to-audio Bearer sk-redirect-0123456789 true",
      "POST /new/v1/audio/video-to-audio Bearer sk-redirect-0123456789 true",
    ]);
  });
});

describe("a run aborted after its create", () => {
  it("has already handed the created task to onProgress, so the caller holds the id it is billed for", async () => {
    const controller = new AbortController();
    const kling = createClient({
      apiKey: "sk-abort-0123456789",
      baseUrl: "https://api.example.test",
      fetch: async (request) => {
        if (request.method === "POST") {
          // The server has answered the create (its headers are here); the caller aborts while the body arrives.
          setTimeout(() => controller.abort(new Error("stopped by the caller")), 5);
          const body = JSON.stringify({ code: 0, message: "SUCCEED", request_id: "r", data: TASK });
          const stream = new ReadableStream<Uint8Array>({
            start(sink) {
              setTimeout(() => {
                sink.enqueue(new TextEncoder().encode(body));
                sink.close();
              }, 30);
            },
          });
          return new Response(stream, { status: 200 });
        }
        return ok({ ...TASK, task_status: "processing" });
      },
    });
    const seen: string[] = [];
    await expect(
      kling.run(
        { video_url: "https://example.com/a.mp4" },
        { signal: controller.signal, onProgress: (task) => seen.push(task.task_id) },
      ),
    ).rejects.toThrow("stopped by the caller");
    expect(seen).toEqual([TASK.task_id]);
  });
});

describe("secrets in altered forms, in errors", () => {
  const KEY = "sk-Ab3dEf6hIj9kLm2nOp5qRs8tUv";
  const forms = [
    KEY,
    KEY.slice(3), // without its prefix
    KEY.toUpperCase(),
    KEY.toLowerCase(),
    encodeURIComponent(`key=${KEY}`).replace(/-/g, "%2D"),
    btoa(KEY),
    `${KEY.slice(0, 10)}\u200b${KEY.slice(10)}`,
    `${KEY.slice(0, -4)}****`, // masked in its last 4 characters
  ];
  const leaks = (text: string) => {
    const plain = decodeURIComponent(text.replace(/%(?![0-9A-Fa-f]{2})/g, "%25")).replace(
      /[\u200b-\u200d\u2060\ufeff]/g,
      "",
    );
    const lower = plain.toLowerCase();
    const core = KEY.slice(3).toLowerCase();
    for (let i = 0; i + 8 <= core.length; i++) if (lower.includes(core.slice(i, i + 8))) return true;
    return text.includes(btoa(KEY).slice(0, 12));
  };

  it(
    "none reaches a message, JSON.stringify or util.inspect, even under a Symbol-keyed property of a " + "cause",
    async () => {
      for (const form of forms) {
        const cause = Object.assign(new Error("socket hang up"), { [Symbol("request")]: `Authorization: ${form}` });
        const kling = createClient({
          apiKey: KEY,
          baseUrl: "https://api.example.test",
          maxRetries: 0,
          fetch: async () => {
            throw new TypeError(`fetch failed for token ${form}`, { cause });
          },
        });
        const error = await kling.getTask(TASK.task_id).catch((thrown) => thrown);
        expect(error).toBeInstanceOf(KlingConnectionError);
        for (const text of [error.message, JSON.stringify(error), inspect(error, { depth: 10, showHidden: true })])
          expect(leaks(text), `${form} in ${text}`).toBe(false);
      }
    },
  );

  it("an upstream answer echoing the key in any form reaches no error", async () => {
    for (const form of forms) {
      const kling = createClient({
        apiKey: KEY,
        baseUrl: "https://api.example.test",
        fetch: async () =>
          new Response(JSON.stringify({ code: 1002, message: `token ${form} is invalid`, request_id: form }), {
            status: 401,
          }),
      });
      const error = await kling.getTask(TASK.task_id).catch((thrown) => thrown);
      for (const text of [error.message, JSON.stringify(error), inspect(error, { depth: 10 })])
        expect(leaks(text), `${form} in ${text}`).toBe(false);
    }
  });
});

describe("messages", () => {
  it("a NaN or infinite option is shown as such, not as null", () => {
    for (const [value, word] of [
      [Number.NaN, "NaN"],
      [Number.POSITIVE_INFINITY, "Infinity"],
    ] as const) {
      const error = (() => {
        try {
          createClient({ baseUrl: BASE_URLS.mock, timeoutMs: value });
        } catch (thrown) {
          return thrown as Error;
        }
      })();
      expect(error?.message).toContain(word);
      expect(error?.message).not.toContain("null");
    }
  });
});

describe("the poll floor in a page", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("takes a relative baseUrl on the page's host: a page on localhost polls its proxy as fast as it likes", () => {
    vi.stubGlobal("location", { href: "http://localhost:5173/app/" });
    expect(() => checkPollFloor(100, "/api/kling")).not.toThrow();
    vi.stubGlobal("location", { href: "https://app.example/" });
    expect(() => checkPollFloor(100, "/api/kling")).toThrow(KlingValidationError);
  });

  it("refuses it for a page on a real host", async () => {
    vi.stubGlobal("location", { href: "https://app.example/" });
    const fetch = vi.fn(async () => ok());
    const kling = createClient({ baseUrl: "/api/kling", fetch });
    await expect(kling.waitForTask(TASK.task_id, { pollIntervalMs: 100 })).rejects.toMatchObject({
      field: "pollIntervalMs",
    });
    expect(fetch).not.toHaveBeenCalled();
  });
});

describe("a chain of same-origin redirects", () => {
  it("resolves each Location against the URL that answered it", async () => {
    const urls: string[] = [];
    const kling = createClient({
      apiKey: "sk-chain-0123456789",
      baseUrl: "https://api.example.test/old",
      fetch: async (request) => {
        urls.push(new URL(request.url).pathname);
        if (urls.length === 1) return new Response(null, { status: 307, headers: { location: "/mid/first" } });
        if (urls.length === 2) return new Response(null, { status: 307, headers: { location: "second" } });
        return ok();
      },
    });
    await expect(kling.getTask(TASK.task_id)).resolves.toMatchObject(TASK);
    expect(urls).toEqual([`/old/v1/audio/video-to-audio/${TASK.task_id}`, "/mid/first", "/mid/second"]);
  });
});
