// A loopback stand-in for Kling that keeps real task state and injects faults on demand: for fault, soak and load runs.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type Fault =
  /** Answer with this status and Kling code (and an optional `Retry-After`, in seconds) without doing anything. */
  | { kind: "error"; status: number; code?: number; retryAfter?: number; retryAfterMs?: number; message?: string }
  /** Close the connection before doing anything. */
  | { kind: "drop" }
  /** Do the work (a create commits its task), then close the connection without answering. */
  | { kind: "drop-after-commit" }
  /** Never answer. */
  | { kind: "hang" }
  /** A gateway's HTML error page. */
  | { kind: "html"; status: number }
  /** Do the work, then send the JSON answer cut in half. */
  | { kind: "truncated" }
  /** Do nothing, answer HTTP 200 with a non-zero Kling code. */
  | { kind: "code-in-200"; code: number };

export interface FakeRequest {
  method: string;
  path: string;
  /** The parsed JSON body of a POST. */
  body?: Record<string, unknown> | undefined;
  /** 1 for the first request the server sees, and so on. */
  seq: number;
  /** When it arrived (epoch ms). */
  at: number;
  /** The Authorization header it carried. */
  authorization?: string | undefined;
}

export interface FakeKlingOptions {
  /** Most tasks `submitted`/`processing` at once; beyond it a create gets 429 + 1303. @default Infinity */
  concurrencyLimit?: number;
  /** `Retry-After` seconds sent with a 1303. @default undefined (none) */
  retryAfterOn1303?: number;
  /** How long a task takes from create to its end, in ms (a third submitted, then processing). @default 30 */
  taskDurationMs?: number;
  /** Refuse a create whose external_task_id is already taken (400 + 1201), as Kling may. @default false */
  uniqueExternalIds?: boolean;
  /** Where result files are said to be (`<base>/<task_id>.mp3`). @default "http://cdn.invalid/v2a" */
  resultBaseUrl?: string;
  /**
   * The query path takes an external_task_id as well as a task_id, as Kling's does; false acts like a gateway that
   * takes only task ids. @default true
   */
  queryByExternalId?: boolean;
  /** Picks a fault (or none) for each request. @default no faults */
  fault?: (request: FakeRequest) => Fault | undefined;
}

interface FakeTask {
  task_id: string;
  external_task_id: string | undefined;
  body: Record<string, unknown>;
  createdAt: number;
  fails: boolean;
  /** The `task_status_msg` of a failed task. @default "Video duration must be between 3 and 20 seconds" */
  reason?: string;
}

export interface FakeKling {
  url: string;
  /** Every task committed, in order. */
  tasks: FakeTask[];
  /** Every request seen, in order. */
  requests: FakeRequest[];
  /** Creates answered 429 + 1303. */
  rejected1303: number;
  /** Most tasks running at once so far. */
  peakRunning: number;
  /** Tasks whose `key(body)` was created more than once (by default the video URL or id). */
  duplicates(key?: (body: Record<string, unknown>) => string): number;
  close(): Promise<void>;
}

export async function startFakeKling(options: FakeKlingOptions = {}): Promise<FakeKling> {
  const limit = options.concurrencyLimit ?? Number.POSITIVE_INFINITY;
  const duration = options.taskDurationMs ?? 30;
  const tasks: FakeTask[] = [];
  const byId = new Map<string, FakeTask>();
  const byExternal = new Map<string, FakeTask>();
  const requests: FakeRequest[] = [];
  const sockets = new Set<Socket>();
  let nextId = 866889456698785000n;
  let seq = 0;

  const statusOf = (task: FakeTask, now = Date.now()) => {
    const age = now - task.createdAt;
    if (age < duration / 3) return "submitted";
    if (age < duration) return "processing";
    return task.fails ? "failed" : "succeed";
  };
  const running = () => {
    const now = Date.now();
    let n = 0;
    for (let i = tasks.length - 1; i >= 0; i--) {
      const task = tasks[i]!;
      if (now - task.createdAt >= duration) break; // older tasks have all ended
      n++;
    }
    return n;
  };
  const view = (task: FakeTask) => {
    const status = statusOf(task);
    const base = `${options.resultBaseUrl ?? "http://cdn.invalid/v2a"}/${task.task_id}`;
    return {
      task_id: task.task_id,
      task_status: status,
      task_status_msg: status === "failed" ? (task.reason ?? "Video duration must be between 3 and 20 seconds") : "",
      task_info: task.external_task_id ? { external_task_id: task.external_task_id } : {},
      ...(status === "succeed"
        ? {
            task_result: {
              audios: [
                {
                  id: `${task.task_id}1`,
                  url_mp3: `${base}.mp3`,
                  url_wav: `${base}.wav`,
                  duration_mp3: "7.0",
                  duration_wav: "7.0",
                },
              ],
            },
          }
        : {}),
      created_at: task.createdAt,
      updated_at: Date.now(),
    };
  };

  const fake: FakeKling = {
    url: "",
    tasks,
    requests,
    rejected1303: 0,
    peakRunning: 0,
    duplicates(key = (body) => String(body.video_url ?? body.video_id)) {
      const seen = new Map<string, number>();
      for (const task of tasks) seen.set(key(task.body), (seen.get(key(task.body)) ?? 0) + 1);
      let extra = 0;
      for (const count of seen.values()) extra += count - 1;
      return extra;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const send = (res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(payload);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(text);
  };
  const envelope = (data: unknown) => ({ code: 0, message: "SUCCEED", request_id: `req-${seq}`, data });

  /** Does the request's work; returns the answer to send (status and body). */
  const handle = (request: FakeRequest, url: URL): [number, unknown, Record<string, string>?] => {
    if (!request.path.startsWith("/v1/audio/video-to-audio"))
      return [404, { code: 1202, message: "Invalid request method" }];
    if (request.method === "POST" && request.path === "/v1/audio/video-to-audio") {
      const body = request.body ?? {};
      const external = typeof body.external_task_id === "string" ? body.external_task_id : undefined;
      if (options.uniqueExternalIds && external && byExternal.has(external)) {
        return [400, { code: 1201, message: `external_task_id ${external} already exists`, request_id: `req-${seq}` }];
      }
      if (running() >= limit) {
        fake.rejected1303++;
        const headers: Record<string, string> =
          options.retryAfterOn1303 !== undefined ? { "retry-after": String(options.retryAfterOn1303) } : {};
        return [
          429,
          { code: 1303, message: "parallel task over resource pack limit", request_id: `req-${seq}` },
          headers,
        ];
      }
      const task: FakeTask = {
        task_id: String(nextId++),
        external_task_id: external,
        body,
        createdAt: Date.now(),
        fails: JSON.stringify(body).toLowerCase().includes("fail"),
      };
      tasks.push(task);
      byId.set(task.task_id, task);
      if (external) byExternal.set(external, task);
      fake.peakRunning = Math.max(fake.peakRunning, running());
      return [200, envelope(view(task))];
    }
    if (request.method === "GET" && request.path === "/v1/audio/video-to-audio") {
      const pageNum = Number(url.searchParams.get("pageNum") ?? 1);
      const pageSize = Number(url.searchParams.get("pageSize") ?? 30);
      const newestFirst = tasks.slice().reverse();
      return [200, envelope(newestFirst.slice((pageNum - 1) * pageSize, pageNum * pageSize).map(view))];
    }
    const id = request.path.split("/").pop() ?? "";
    const key = decodeURIComponent(id);
    const task = byId.get(key) ?? (options.queryByExternalId === false ? undefined : byExternal.get(key));
    if (request.method === "GET" && task) return [200, envelope(view(task))];
    return [404, { code: 1203, message: "Task not found", request_id: `req-${seq}` }];
  };

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? "/", "http://fake");
    let body: Record<string, unknown> | undefined;
    try {
      body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined;
    } catch {
      return send(res, 400, { code: 1200, message: "Invalid request" });
    }
    const request: FakeRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      body,
      seq: ++seq,
      at: Date.now(),
      authorization: req.headers.authorization,
    };
    requests.push(request);
    const fault = options.fault?.(request);
    switch (fault?.kind) {
      case "error":
        return send(
          res,
          fault.status,
          { code: fault.code, message: fault.message ?? `fault ${fault.status}`, request_id: `req-${seq}` },
          {
            ...(fault.retryAfter !== undefined ? { "retry-after": String(fault.retryAfter) } : {}),
            ...(fault.retryAfterMs !== undefined ? { "retry-after-ms": String(fault.retryAfterMs) } : {}),
          },
        );
      case "drop":
        return req.socket.destroy();
      case "hang":
        return;
      case "html":
        res.writeHead(fault.status, { "content-type": "text/html" });
        return res.end(
          `<html><head><title>${fault.status} Bad Gateway</title></head><body><h1>${fault.status} Bad ` +
            `Gateway</h1><hr>nginx</body></html>`,
        );
      case "code-in-200":
        return send(res, 200, { code: fault.code, message: "Internal server error", request_id: `req-${seq}` });
      default:
        break;
    }
    const [status, payload, headers] = handle(request, url);
    if (fault?.kind === "drop-after-commit") return req.socket.destroy();
    if (fault?.kind === "truncated") {
      const text = JSON.stringify(payload);
      res.writeHead(status, { "content-type": "application/json" });
      return res.end(text.slice(0, Math.floor(text.length / 2)));
    }
    send(res, status, payload, headers);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
