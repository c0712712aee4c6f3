// The proxy as a security boundary, attacked through both doors: the Fetch-API handler and toNodeHandler on a real
// node:http server.
import { createServer, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KlingValidationError } from "../../src/index.js";
import { createProxy, type ProxyOptions, toNodeHandler } from "../../src/proxy/index.js";
import { type KlingUpstream, startKlingUpstream } from "../support/kling-upstream.js";

const SERVER_KEY = "sk-server-only-0123456789";
const MOUNT = "/api/kling";
const TASKS = "/v1/audio/video-to-audio";
const CLIP = { video_url: "https://example.com/clip.mp4" };

type Adapter = "fetch" | "node";

interface Door {
  /** The origin the proxy is served at, as a browser on that site would send it in `Origin`. */
  origin: string;
  call(path: string, init?: RequestInit): Promise<Response>;
}

let upstream: KlingUpstream;
let servers: Server[] = [];

beforeEach(async () => {
  upstream = await startKlingUpstream();
});
afterEach(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  servers = [];
  await upstream.close();
});

/** The app's authorize: the session is the `x-user` header; none means not logged in. */
const byHeader: ProxyOptions["authorize"] = (request) => {
  const user = request.headers.get("x-user");
  return user ? { owner: user } : null;
};

async function open(adapter: Adapter, options: Partial<ProxyOptions> = {}): Promise<Door> {
  const handler = createProxy({
    apiKey: SERVER_KEY,
    baseUrl: upstream.url,
    authorize: byHeader,
    ...options,
  } as ProxyOptions);
  if (adapter === "fetch") {
    const origin = "http://app.test";
    return { origin, call: (path, init) => handler(new Request(`${origin}${MOUNT}${path}`, withDuplex(init))) };
  }
  const node = toNodeHandler(handler);
  const server = createServer((req, res) =>
    req.url?.startsWith(`${MOUNT}/`) ? node(req, res) : res.writeHead(404).end(),
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, call: (path, init) => fetch(`${origin}${MOUNT}${path}`, withDuplex(init)) };
}

function withDuplex(init: RequestInit | undefined): RequestInit | undefined {
  return init?.body instanceof ReadableStream ? ({ ...init, duplex: "half" } as RequestInit) : init;
}

const as = (user: string, headers: Record<string, string> = {}) => ({ "x-user": user, ...headers });
const json = (user: string, body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: as(user, { "content-type": "application/json", ...headers }),
  body: JSON.stringify(body),
});

/** Resolves with the promise's value, or with "pending" when it has not settled after a generous wait. */
async function settledWithin<T>(promise: Promise<T>, ms = 10_000): Promise<T | "pending"> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"pending">((resolve) => (timer = setTimeout(() => resolve("pending"), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A body that sends `first` and then never another byte. */
function stalledBody(first = '{"video_url":'): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(new TextEncoder().encode(first));
        return;
      }
      return new Promise(() => {});
    },
  });
}

describe("createProxy options", () => {
  it("throws KlingValidationError naming authorize when it is missing or not a function", () => {
    for (const authorize of [undefined, null, true, "yes"]) {
      const error = (() => {
        try {
          createProxy({ apiKey: SERVER_KEY, authorize } as never);
        } catch (e) {
          return e;
        }
      })();
      expect(error, String(authorize)).toBeInstanceOf(KlingValidationError);
      expect((error as KlingValidationError).field).toBe("authorize");
    }
    expect(() => createProxy({ apiKey: SERVER_KEY } as never)).toThrow(KlingValidationError);
  });

  it("checks callbackUrl, maxBodyBytes, timeoutMs, allowedOrigins and fetch when the proxy is made", () => {
    const authorize = () => ({ owner: "a" });
    for (const [field, bad] of [
      ["callbackUrl", { callbackUrl: "ftp://x" }],
      ["maxBodyBytes", { maxBodyBytes: 0 }],
      ["timeoutMs", { timeoutMs: Number.NaN }],
      ["allowedOrigins", { allowedOrigins: ["evil.example"] }],
      ["fetch", { fetch: "globalThis.fetch" as never }],
    ] as const) {
      const error = (() => {
        try {
          createProxy({ apiKey: SERVER_KEY, authorize, ...bad });
        } catch (e) {
          return e;
        }
      })();
      expect(error, field).toBeInstanceOf(KlingValidationError);
      expect((error as KlingValidationError).field).toBe(field);
    }
  });
});

describe("ownerSecret", () => {
  it(
    "keys the owner tags: the same secret keeps tasks visible across an API key rotation, another secret does " + "not",
    async () => {
      const secret = "a-long-random-owner-secret-0001";
      const before = await open("fetch", { ownerSecret: secret });
      await before.call(TASKS, json("alice", { ...CLIP, external_task_id: "kept" }));
      const rotated = await open("fetch", { apiKey: "sk-rotated-key-000000000", ownerSecret: secret });
      const seen = (await (await rotated.call(TASKS, { headers: as("alice") })).json()).data as unknown[];
      expect(seen).toHaveLength(1);
      const other = await open("fetch", { ownerSecret: "another-secret-entirely-0002" });
      expect((await (await other.call(TASKS, { headers: as("alice") })).json()).data).toEqual([]);
      expect((await other.call(`${TASKS}/kept`, { headers: as("alice") })).status).toBe(404);
      expect(() => createProxy({ authorize: () => ({ owner: "a" }), ownerSecret: "short" })).toThrow(
        KlingValidationError,
      );
    },
  );
});

describe.each(["fetch", "node"] as const)("the proxy through the %s adapter", (adapter) => {
  describe("authorize", () => {
    it("refuses with 401 (1000) before reading the body or calling upstream", async () => {
      const door = await open(adapter);
      const answer = await settledWithin(
        door.call(TASKS, { method: "POST", headers: { "content-type": "application/json" }, body: stalledBody() }),
      );
      expect(answer, "the proxy waited for a body it had no business reading").not.toBe("pending");
      const response = answer as Response;
      expect(response.status).toBe(401);
      expect((await response.json()).code).toBe(1000);
      expect((await door.call(`${TASKS}/1`)).status).toBe(401);
      expect(upstream.requests).toHaveLength(0);
    });

    it(
      "fails closed on an empty, non-string or missing owner and on a throwing authorize, leaking " + "nothing",
      async () => {
        for (const authorize of [
          () => ({ owner: "" }),
          () => ({ owner: 5 }),
          () => true,
          () => ({}),
          () => Promise.reject(new Error(`db down ${SERVER_KEY}`)),
        ]) {
          const door = await open(adapter, { authorize: authorize as never });
          const response = await door.call(TASKS, json("alice", CLIP));
          expect(response.status).toBe(500);
          const text = await response.text();
          expect(JSON.parse(text).code).toBe(5000);
          expect(text).not.toContain(SERVER_KEY);
        }
        expect(upstream.requests).toHaveLength(0);
      },
    );
  });

  describe("users are kept apart", () => {
    it(
      "answers a get of another owner's task exactly like an unknown id: 404 (1203), same body shape, same " +
        "headers",
      async () => {
        const door = await open(adapter);
        const created = await (await door.call(TASKS, json("alice", { ...CLIP, external_task_id: "job-1" }))).json();
        const taskId = created.data.task_id as string;
        expect((await door.call(`${TASKS}/${taskId}`, { headers: as("alice") })).status).toBe(200);

        const foreign = await door.call(`${TASKS}/${taskId}`, { headers: as("bob") });
        const unknown = await door.call(`${TASKS}/866889456698789999`, { headers: as("bob") });
        for (const response of [foreign, unknown]) expect(response.status).toBe(404);
        const [a, b] = [await foreign.json(), await unknown.json()];
        expect(a.code).toBe(1203);
        expect({ ...a, request_id: "x" }).toEqual({ ...b, request_id: "x" });
        expect(typeof a.request_id).toBe(typeof b.request_id);
        const headersOf = (r: Response) =>
          [...r.headers].filter(([name]) => !["date", "content-length", "connection", "keep-alive"].includes(name));
        expect(headersOf(foreign)).toEqual(headersOf(unknown));
        expect(JSON.stringify(a)).not.toContain("private");

        // By alice's browser id, and by the id the proxy stored upstream: still nothing for bob.
        const stored = upstream.tasks[0]!.external_task_id!;
        for (const id of ["job-1", stored]) {
          const response = await door.call(`${TASKS}/${encodeURIComponent(id)}`, { headers: as("bob") });
          expect(response.status, id).toBe(404);
          expect((await response.json()).code).toBe(1203);
        }
      },
    );

    it(
      "lists only the caller's tasks, never one created outside the proxy, each with the caller's own " +
        "external_task_id",
      async () => {
        const door = await open(adapter);
        await door.call(TASKS, json("alice", { ...CLIP, external_task_id: "a-1" }));
        await door.call(TASKS, json("bob", { ...CLIP, external_task_id: "b-1" }));
        await door.call(TASKS, json("alice", { ...CLIP, external_task_id: "a-2" }));
        upstream.seed("server-side-job");
        const list = async (user: string, query = "") =>
          (await (await door.call(`${TASKS}${query}`, { headers: as(user) })).json()).data as {
            task_info: { external_task_id: string };
          }[];
        expect((await list("alice")).map((t) => t.task_info.external_task_id)).toEqual(["a-2", "a-1"]);
        expect((await list("bob")).map((t) => t.task_info.external_task_id)).toEqual(["b-1"]);
        expect(await list("carol")).toEqual([]);
        // Pages are pages of the caller's tasks: page 2 of size 1 is alice's second task, page 3 is past the end.
        expect((await list("alice", "?pageNum=2&pageSize=1")).map((t) => t.task_info.external_task_id)).toEqual([
          "a-1",
        ]);
        expect(await list("alice", "?pageNum=3&pageSize=1")).toEqual([]);
      },
    );

    it("finds the caller's tasks beyond the account's first page of 500, up to listScanPages pages", async () => {
      const door = await open(adapter);
      await door.call(TASKS, json("alice", { ...CLIP, external_task_id: "old-job" }));
      for (let i = 0; i < 1100; i++) upstream.seed();
      const response = await door.call(TASKS, { headers: as("alice") });
      const data = (await response.json()).data as { task_info: { external_task_id: string } }[];
      expect(data.map((t) => t.task_info.external_task_id)).toEqual(["old-job"]);
      const pages = upstream.requests.filter((r) => r.method === "GET").map((r) => r.url);
      expect(pages).toEqual([1, 2, 3].map((n) => `${TASKS}?pageNum=${n}&pageSize=500`));

      const shallow = await open(adapter, { listScanPages: 2 });
      expect((await (await shallow.call(TASKS, { headers: as("alice") })).json()).data).toEqual([]);
    });

    it(
      "keeps two owners' identical browser ids apart, and a forged id (another owner's stored id) inside the " +
        "forger's tasks",
      async () => {
        const door = await open(adapter);
        const a = await door.call(TASKS, json("alice", { ...CLIP, external_task_id: "job-1" }));
        const b = await door.call(TASKS, json("bob", { ...CLIP, external_task_id: "job-1" }));
        expect([a.status, b.status]).toEqual([200, 200]);
        const [aliceTask, bobTask] = [(await a.json()).data, (await b.json()).data];
        expect(aliceTask.task_info.external_task_id).toBe("job-1");
        expect(bobTask.task_info.external_task_id).toBe("job-1");
        const stored = upstream.tasks.map((t) => t.external_task_id);
        expect(new Set(stored).size).toBe(2);
        expect(stored).not.toContain("job-1");
        for (const [user, task] of [
          ["alice", aliceTask],
          ["bob", bobTask],
        ] as const) {
          const got = await (await door.call(`${TASKS}/job-1`, { headers: as(user) })).json();
          expect(got.data.task_id, user).toBe(task.task_id);
          expect(got.data.task_info.external_task_id).toBe("job-1");
        }

        // Bob learns alice's stored id and sends it as his own: it is stored under bob, and alice's task stays hers.
        const forged = await door.call(TASKS, json("bob", { ...CLIP, external_task_id: stored[0] }));
        expect(forged.status).toBe(200);
        const forgedTask = (await forged.json()).data;
        expect(forgedTask.task_id).not.toBe(aliceTask.task_id);
        expect(upstream.tasks[2]!.external_task_id).not.toBe(stored[0]);
        const byForgedId = await (
          await door.call(`${TASKS}/${encodeURIComponent(stored[0]!)}`, { headers: as("bob") })
        ).json();
        expect(byForgedId.data.task_id).toBe(forgedTask.task_id);
        const aliceList = (await (await door.call(TASKS, { headers: as("alice") })).json()).data as {
          task_id: string;
        }[];
        expect(aliceList.map((t) => t.task_id)).toEqual([aliceTask.task_id]);
      },
    );

    it(
      "maps the same owner and browser id to the same stored id every time (a retried create cannot bill " + "twice)",
      async () => {
        const door = await open(adapter);
        const first = await door.call(TASKS, json("alice", { ...CLIP, external_task_id: "retry-me" }));
        const again = await door.call(TASKS, json("alice", { ...CLIP, external_task_id: "retry-me" }));
        expect(first.status).toBe(200);
        expect(again.status).toBe(400); // the upstream refused the duplicate: one task, not two
        const posted = upstream.requests
          .filter((r) => r.method === "POST")
          .map((r) => JSON.parse(r.body).external_task_id);
        expect(posted[0]).toBe(posted[1]);
        // The upstream's refusal quotes the stored id; the browser sees its own id in it, never the owner tag.
        const refusal = await again.json();
        expect(refusal.message).toContain("retry-me");
        expect(refusal.message).not.toContain(posted[0]);
        expect(upstream.tasks).toHaveLength(1);
        // A second proxy with the same server credentials (another instance) derives the same id.
        const other = await open(adapter);
        const fromOther = await other.call(TASKS, json("alice", { ...CLIP, external_task_id: "retry-me" }));
        expect(fromOther.status).toBe(400);
        expect(upstream.tasks).toHaveLength(1);
      },
    );

    it("keeps odd owners apart: separators, spaces, unicode and very long owners", async () => {
      // Header values lose surrounding spaces, so the session names a row of this table and authorize returns its
      // owner.
      const pairs: [string, string][] = [
        ["a", "b.c"],
        ["a.b", "c"],
        ["alice", "x"],
        ["alice ", "x"],
        [" alice", "x"],
        ["ÅLICE", "x"],
        ["a\u0000b", "x"],
        ["x".repeat(10_000), "x"],
      ];
      const door = await open(adapter, {
        authorize: (request) => ({ owner: pairs[Number(request.headers.get("x-user"))]![0] }),
      });
      for (const [row, [, id]] of pairs.entries())
        expect(
          (await door.call(TASKS, json(String(row), { ...CLIP, external_task_id: id }))).status,
          `row ${row}`,
        ).toBe(200);
      expect(new Set(upstream.tasks.map((t) => t.external_task_id)).size).toBe(pairs.length);
      for (const [row, [, id]] of pairs.entries()) {
        const data = (await (await door.call(TASKS, { headers: as(String(row)) })).json()).data as {
          task_info: { external_task_id: string };
        }[];
        expect(
          data.map((t) => t.task_info.external_task_id),
          `row ${row}`,
        ).toEqual([id]);
      }
      for (const task of upstream.tasks) expect(task.external_task_id!.length).toBeLessThanOrEqual(64);
    });

    it(
      "refuses a browser external_task_id it cannot keep within 64 characters stored, or that is no plain path " +
        "segment",
      async () => {
        const door = await open(adapter);
        for (const id of ["x".repeat(48), "a\nb", "a b", "a/b", "a?b"]) {
          const response = await door.call(TASKS, json("alice", { ...CLIP, external_task_id: id }));
          expect(response.status, JSON.stringify(id)).toBe(400);
          const body = await response.json();
          expect(body.code).toBe(1201);
          expect(body.message).toContain("external_task_id");
        }
        expect((await door.call(TASKS, json("alice", { ...CLIP, external_task_id: "x".repeat(47) }))).status).toBe(200);
        expect(upstream.requests.filter((r) => r.method === "POST")).toHaveLength(1);
      },
    );

    it(
      "gives a create without an external_task_id a stored id of the caller's, shown back without the owner " + "part",
      async () => {
        const door = await open(adapter);
        const created = (await (await door.call(TASKS, json("alice", CLIP))).json()).data;
        const shown = created.task_info.external_task_id as string;
        expect(shown).toMatch(/^kv2a-/);
        expect(upstream.tasks[0]!.external_task_id).not.toBe(shown);
        expect(upstream.tasks[0]!.external_task_id!.endsWith(shown)).toBe(true);
        expect((await door.call(`${TASKS}/${created.task_id}`, { headers: as("bob") })).status).toBe(404);
      },
    );
  });

  describe("callbacks", () => {
    it(
      "drops the browser's callback_url; sends the server's callbackUrl (a string, or a function of the " + "caller)",
      async () => {
        const evil = { ...CLIP, callback_url: "http://169.254.169.254/latest/meta-data/" };
        const none = await open(adapter);
        await none.call(TASKS, json("alice", evil));
        const fixed = await open(adapter, { callbackUrl: "https://app.example/hooks/kling" });
        await fixed.call(TASKS, json("alice", evil));
        const perUser = await open(adapter, {
          callbackUrl: (caller) => `https://app.example/hooks/kling?user=${caller.owner}`,
        });
        await perUser.call(TASKS, json("bob", evil));
        const sent = upstream.requests.filter((r) => r.method === "POST").map((r) => JSON.parse(r.body).callback_url);
        expect(sent).toEqual([
          undefined,
          "https://app.example/hooks/kling",
          "https://app.example/hooks/kling?user=bob",
        ]);
      },
    );
  });

  describe("no cross-site requests", () => {
    it(
      "answers a create that is not application/json with 415 and forwards nothing (text/plain, forms, " + "none)",
      async () => {
        const door = await open(adapter);
        const body = JSON.stringify(CLIP);
        for (const type of [
          "text/plain",
          "text/plain;charset=UTF-8",
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x",
          "application/json-patch+json",
        ]) {
          const response = await door.call(TASKS, {
            method: "POST",
            headers: as("alice", { "content-type": type }),
            body,
          });
          expect(response.status, type).toBe(415);
          expect((await response.json()).code).toBe(1200);
        }
        const untyped = await door.call(TASKS, {
          method: "POST",
          headers: as("alice"),
          body: new TextEncoder().encode(body),
        });
        expect(untyped.status).toBe(415);
        expect(upstream.requests).toHaveLength(0);
        for (const type of ["application/json", "application/json; charset=utf-8", "Application/JSON"]) {
          expect(
            (await door.call(TASKS, { method: "POST", headers: as("alice", { "content-type": type }), body })).status,
            type,
          ).toBe(200);
        }
      },
    );

    it(
      "refuses a foreign or null Origin with 403 and forwards nothing; same origin, allowedOrigins and no Origin " +
        "pass",
      async () => {
        const door = await open(adapter);
        for (const origin of [
          "https://evil.example",
          "null",
          `${door.origin}.evil.example`,
          door.origin.replace("http:", "https:"),
        ]) {
          for (const init of [json("alice", CLIP, { origin }), { headers: as("alice", { origin }) } as RequestInit]) {
            const response = await door.call(TASKS, init);
            expect(response.status, `${origin} ${init.method ?? "GET"}`).toBe(403);
            expect((await response.json()).code).toBe(1103);
          }
        }
        // A browser that sends no Origin but says the request is cross-site.
        expect((await door.call(TASKS, json("alice", CLIP, { "sec-fetch-site": "cross-site" }))).status).toBe(403);
        expect(upstream.requests).toHaveLength(0);

        expect((await door.call(TASKS, json("alice", CLIP, { origin: door.origin }))).status).toBe(200);
        // no Origin: not a browser's cross-site request
        expect((await door.call(TASKS, json("alice", CLIP))).status).toBe(200);
        expect((await door.call(TASKS, json("alice", CLIP, { "sec-fetch-site": "same-origin" }))).status).toBe(200);
        const behindLb = await open(adapter, { allowedOrigins: ["https://app.example"] });
        expect((await behindLb.call(TASKS, json("alice", CLIP, { origin: "https://app.example" }))).status).toBe(200);
        expect((await behindLb.call(TASKS, json("alice", CLIP, { origin: "https://evil.example" }))).status).toBe(403);
      },
    );
  });

  describe("bounded", () => {
    it(
      "answers a body over maxBodyBytes with 413 without forwarding it, also when Content-Length lies low or is " +
        "absent",
      async () => {
        const door = await open(adapter);
        const big = JSON.stringify({ ...CLIP, video_url: `https://example.com/clip.mp4?pad=${"a".repeat(20_000)}` });
        const response = await door.call(TASKS, json("alice", JSON.parse(big)));
        expect(response.status).toBe(413);
        expect((await response.json()).code).toBe(1200);
        const chunked = await door.call(TASKS, {
          method: "POST",
          headers: as("alice", { "content-type": "application/json" }),
          body: new Blob([big]).stream(),
        });
        expect(chunked.status).toBe(413);
        const small = await open(adapter, { maxBodyBytes: 100 });
        expect((await small.call(TASKS, json("alice", { ...CLIP, bgm_prompt: "p".repeat(100) }))).status).toBe(413);
        expect(upstream.requests).toHaveLength(0);
      },
    );

    it("gives up on a body that stalls (408) and forwards nothing", async () => {
      const door = await open(adapter, { bodyTimeoutMs: 300 });
      const answer = await settledWithin(
        door.call(TASKS, {
          method: "POST",
          headers: as("alice", { "content-type": "application/json" }),
          body: stalledBody(),
        }),
      );
      expect(answer, "a stalled body held the request").not.toBe("pending");
      expect((answer as Response).status).toBe(408);
      expect(upstream.requests).toHaveLength(0);
    });

    it("answers 504 (5002) when the upstream hangs past timeoutMs, and closes the upstream connection", async () => {
      const door = await open(adapter, { timeoutMs: 300 });
      upstream.override = () => true; // never answers
      const abandoned = upstream.nextAbandoned();
      const answer = await settledWithin(door.call(`${TASKS}/1`, { headers: as("alice") }));
      expect(answer, "the proxy waited on a hung upstream").not.toBe("pending");
      expect((answer as Response).status).toBe(504);
      expect(((await (answer as Response).json()) as { code: number }).code).toBe(5002);
      expect(await settledWithin(abandoned)).not.toBe("pending");
    });

    it("aborts the upstream call when the caller goes away (the upstream socket closes)", async () => {
      const door = await open(adapter);
      upstream.override = () => true; // never answers, so only the caller leaving can end it
      const arrived = upstream.nextRequest();
      const abandoned = upstream.nextAbandoned();
      const caller = new AbortController();
      const call = door.call(`${TASKS}/1`, { headers: as("alice"), signal: caller.signal }).catch((e: unknown) => e);
      await arrived;
      caller.abort();
      await call;
      expect(await settledWithin(abandoned), "the upstream call outlived its caller").not.toBe("pending");
    });

    it("refuses an upstream answer over the read limit with a Kling-shaped 502, not a copy of it", async () => {
      const door = await open(adapter);
      upstream.override = (_request, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          `{"code":0,"message":"SUCCEED","data":{"task_id":"1","task_status":"submitted",` +
            `"pad":"${"a".repeat(8 * 1024 * 1024)}"}}`,
        );
        return true;
      };
      const response = await door.call(`${TASKS}/1`, { headers: as("alice") });
      expect(response.status).toBe(502);
      const text = await response.text();
      expect(text.length).toBeLessThan(1000);
      expect(JSON.parse(text).code).toBe(5000);
    });

    it("turns a non-JSON upstream answer (a gateway's HTML page) into a Kling-shaped error", async () => {
      const door = await open(adapter);
      upstream.override = (request, res) => {
        res.writeHead(503, { "content-type": "text/html", "set-cookie": "gw=1" });
        res.end(`<html><body>503 ${request.headers.authorization}</body></html>`);
        return true;
      };
      const response = await door.call(`${TASKS}/1`, { headers: as("alice") });
      expect(response.status).toBe(503);
      expect(response.headers.get("set-cookie")).toBeNull();
      const text = await response.text();
      expect(JSON.parse(text).code).toBe(5000);
      expect(text).not.toContain(SERVER_KEY);
    });
  });

  describe("nothing of the server leaks back", () => {
    const echo =
      (secrets: () => string[]) =>
      (request: { headers: Record<string, unknown> }, res: import("node:http").ServerResponse) => {
        const quoted = [
          String(request.headers.authorization),
          String(request.headers.authorization).replace(/^Bearer /, ""),
          ...secrets(),
        ].join(" | ");
        res.writeHead(401, { "content-type": "application/json", "x-request-id": quoted, "retry-after": quoted });
        res.end(
          JSON.stringify({
            code: 1002,
            message: `Authorization invalid: ${quoted}`,
            request_id: quoted,
            data: { echo: [quoted, { [quoted]: quoted }] },
          }),
        );
        return true;
      };

    it.each([
      ["a long API key", { apiKey: SERVER_KEY }, [SERVER_KEY]],
      ["a 5-character API key", { apiKey: "abcde" }, ["abcde"]],
      [
        "access and secret keys (a signed JWT)",
        { apiKey: undefined, accessKey: "ak-0123456789", secretKey: "sk-short" },
        ["ak-0123456789", "sk-short"],
      ],
    ])("redacts %s echoed by the upstream in the body and headers", async (_name, credentials, secrets) => {
      const door = await open(adapter, credentials);
      let token = "";
      upstream.override = (request, res) => {
        token = String(request.headers.authorization).replace(/^Bearer /, "");
        return echo(() => secrets)(request, res);
      };
      for (const init of [{ headers: as("alice") } as RequestInit, json("alice", CLIP)]) {
        const response = await door.call(init.method ? TASKS : `${TASKS}/1`, init);
        expect(response.status).toBe(401);
        const everything = `${[...response.headers].join("\n")}\n${await response.text()}`;
        for (const secret of [...secrets, token]) expect(everything, secret).not.toContain(secret);
        expect(everything).toContain("[redacted]");
      }
    });

    it("redacts the key inside a successful answer too (a task_status_msg quoting it)", async () => {
      const door = await open(adapter);
      upstream.override = (request, res) => {
        if (request.method !== "POST") return false;
        const body = JSON.parse(request.body);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            code: 0,
            message: "SUCCEED",
            data: {
              task_id: "7",
              task_status: "failed",
              task_status_msg: `bad key ${SERVER_KEY}`,
              task_info: { external_task_id: body.external_task_id },
            },
          }),
        );
        return true;
      };
      const text = await (await door.call(TASKS, json("alice", { ...CLIP, external_task_id: "mine" }))).text();
      expect(text).not.toContain(SERVER_KEY);
      expect(JSON.parse(text).data.task_info.external_task_id).toBe("mine");
    });

    it(
      "forwards only Accept and Content-Type: no Cookie, Authorization, Prefer, X-Forwarded-*, " + "Forwarded",
      async () => {
        const door = await open(adapter);
        const smuggled = {
          cookie: "session=alice",
          authorization: "Bearer caller-token",
          prefer: "code=500",
          "x-forwarded-for": "10.0.0.1",
          "x-forwarded-host": "evil.example",
          "x-forwarded-proto": "https",
          forwarded: "for=10.0.0.1",
          "x-real-ip": "10.0.0.1",
          "proxy-authorization": "Basic eA==",
          "x-api-key": "caller",
          accept: "application/json",
        };
        await door.call(TASKS, { headers: as("alice", smuggled) });
        await door.call(TASKS, json("alice", CLIP, smuggled));
        expect(upstream.requests).toHaveLength(2);
        for (const request of upstream.requests) {
          for (const name of Object.keys(smuggled).filter((n) => n !== "authorization" && n !== "accept"))
            expect(request.headers[name], name).toBeUndefined();
          expect(request.headers["x-user"]).toBeUndefined();
          expect(request.headers.authorization).toBe(`Bearer ${SERVER_KEY}`);
          expect(request.headers.accept).toBe("application/json");
        }
      },
    );

    it("keeps CR/LF and path tricks in a task id inside one encoded path segment", async () => {
      const door = await open(adapter);
      for (const id of ["1%0d%0aPrefer:%20code=500", "..%2F..%2Fadmin", "1%3FpageNum=1"]) {
        const response = await door.call(`${TASKS}/${id}`, { headers: as("alice") });
        expect([400, 404], id).toContain(response.status); // refused as no task id (1201), or not found
      }
      for (const request of upstream.requests) {
        expect(request.url).toMatch(/^\/v1\/audio\/video-to-audio\/[^/?]+$/);
        expect(request.headers.prefer).toBeUndefined();
      }
    });
  });

  describe("page queries", () => {
    it("rejects odd page numbers (400, 1201) and forwards only integers it wrote itself", async () => {
      const door = await open(adapter);
      for (const query of [
        "pageNum=0x10",
        "pageNum=1e1",
        "pageNum=+5",
        "pageNum=%205",
        "pageNum=5.0",
        "pageNum=-1",
        "pageNum=",
        "pageNum=1&pageNum=2",
        "pageSize=501",
        "pageSize=0",
        "page=1",
      ]) {
        const response = await door.call(`${TASKS}?${query}`, { headers: as("alice") });
        expect(response.status, query).toBe(400);
        expect((await response.json()).code).toBe(1201);
      }
      expect(upstream.requests).toHaveLength(0);
      expect((await door.call(`${TASKS}?pageNum=2&pageSize=10`, { headers: as("alice") })).status).toBe(200);
      for (const request of upstream.requests)
        expect(request.url).toMatch(/^\/v1\/audio\/video-to-audio\?pageNum=\d+&pageSize=\d+$/);
    });
  });
});

describe("the raw wire", () => {
  /** Sends `head` (CRLF-joined lines) on a fresh socket and resolves with everything the server wrote back. */
  const rawCall = (origin: string, lines: string[]) =>
    new Promise<string>((resolve, reject) => {
      const { hostname, port } = new URL(origin);
      const socket = connect(Number(port), hostname, () => socket.write([...lines, "", ""].join("\r\n")));
      let text = "";
      socket.on("data", (chunk) => (text += chunk));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });

  it("drops header lines smuggled on the raw wire, folded or not (toNodeHandler on node:http)", async () => {
    const door = await open("node");
    const host = `Host: ${new URL(door.origin).host}`;
    const plain = await rawCall(door.origin, [
      `GET ${MOUNT}${TASKS} HTTP/1.1`,
      host,
      "X-User: alice",
      "Prefer: code=500",
      "Cookie: a=1",
      "Authorization: Bearer caller",
      "X-Forwarded-Host: evil.example",
      "Connection: close",
    ]);
    expect(plain).toMatch(/^HTTP\/1\.1 200/);
    // An obsolete line folding: Node refuses it or folds it into X-Note; either way no Prefer reaches the upstream.
    const folded = await rawCall(door.origin, [
      `GET ${MOUNT}${TASKS} HTTP/1.1`,
      host,
      "X-User: alice",
      "X-Note: a",
      "\tPrefer: code=500",
      "Connection: close",
    ]);
    expect(folded).toMatch(/^HTTP\/1\.1 (200|400)/);
    expect(upstream.requests.length).toBeGreaterThanOrEqual(1);
    for (const request of upstream.requests) {
      for (const name of ["prefer", "cookie", "x-forwarded-host", "x-note", "x-user"])
        expect(request.headers[name], name).toBeUndefined();
      expect(request.headers.authorization).toBe(`Bearer ${SERVER_KEY}`);
    }
  });
});
