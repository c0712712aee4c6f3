// A loopback Kling for the proxy's attack tests: real task state, external ids unique per account, every request and
// header recorded, answers overridable.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

interface UpstreamRequest {
  method: string;
  /** The raw request target, query included, as it arrived. */
  url: string;
  headers: IncomingMessage["headers"];
  /** The raw header lines, names as sent. */
  rawHeaders: string[];
  body: string;
}

interface UpstreamTask {
  task_id: string;
  external_task_id: string | undefined;
  body: Record<string, unknown>;
}

export interface KlingUpstream {
  url: string;
  tasks: UpstreamTask[];
  requests: UpstreamRequest[];
  /** Takes over the answer to a request when it returns true (after the request is recorded). */
  override: ((request: UpstreamRequest, res: ServerResponse) => boolean) | undefined;
  /** Adds a task as if someone else had created it, without a request. */
  seed(externalTaskId?: string): UpstreamTask;
  /** Resolves when a request arrives at the server (its headers and body read). */
  nextRequest(): Promise<UpstreamRequest>;
  /** Resolves when the connection of the next or current in-flight request closes before its answer was sent. */
  nextAbandoned(): Promise<void>;
  close(): Promise<void>;
}

const PATH = "/v1/audio/video-to-audio";

export async function startKlingUpstream(): Promise<KlingUpstream> {
  const sockets = new Set<Socket>();
  let nextId = 866889456698785000n;
  const requestWaiters: ((request: UpstreamRequest) => void)[] = [];
  const abandonWaiters: (() => void)[] = [];
  const view = (task: UpstreamTask) => ({
    task_id: task.task_id,
    task_status: "submitted",
    task_status_msg: "",
    task_info: {
      ...(task.external_task_id ? { external_task_id: task.external_task_id } : {}),
      parent_video: {
        id: "",
        url: `${String(task.body.video_url ?? "")}?signature=private-${task.task_id}`,
        duration: "7.0",
      },
    },
    created_at: 1764024357708,
    updated_at: 1764024357708,
  });
  const add = (body: Record<string, unknown>): UpstreamTask => {
    const external = typeof body.external_task_id === "string" ? body.external_task_id : undefined;
    const task = { task_id: String(nextId++), external_task_id: external, body };
    upstream.tasks.push(task);
    return task;
  };
  const envelope = (data: unknown) => ({ code: 0, message: "SUCCEED", request_id: "upstream-req", data });

  const answer = (request: UpstreamRequest): [number, unknown] => {
    const url = new URL(request.url, "http://upstream");
    if (request.method === "POST" && url.pathname === PATH) {
      const body = JSON.parse(request.body) as Record<string, unknown>;
      if (
        body.external_task_id !== undefined &&
        upstream.tasks.some((t) => t.external_task_id === body.external_task_id)
      ) {
        return [
          400,
          {
            code: 1201,
            message: `external_task_id ${String(body.external_task_id)} already exists`,
            request_id: "upstream-req",
          },
        ];
      }
      return [200, envelope(view(add(body)))];
    }
    if (request.method === "GET" && url.pathname === PATH) {
      const pageNum = Number(url.searchParams.get("pageNum") ?? 1);
      const pageSize = Number(url.searchParams.get("pageSize") ?? 30);
      const newestFirst = upstream.tasks.slice().reverse();
      return [200, envelope(newestFirst.slice((pageNum - 1) * pageSize, pageNum * pageSize).map(view))];
    }
    // Kling takes either id in the path ("use one of the two ways").
    const id = decodeURIComponent(url.pathname.slice(PATH.length + 1));
    const task = upstream.tasks.find((t) => t.task_id === id) ?? upstream.tasks.find((t) => t.external_task_id === id);
    if (request.method === "GET" && task) return [200, envelope(view(task))];
    return [404, { code: 1203, message: "Task not found", request_id: "upstream-req" }];
  };

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    res.on("close", () => {
      if (!res.writableFinished) for (const wake of abandonWaiters.splice(0)) wake();
    });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request: UpstreamRequest = {
      method: req.method ?? "GET",
      url: req.url ?? "/",
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.concat(chunks).toString("utf8"),
    };
    upstream.requests.push(request);
    for (const wake of requestWaiters.splice(0)) wake(request);
    if (upstream.override?.(request, res)) return;
    const [status, payload] = answer(request);
    const text = JSON.stringify(payload);
    res.writeHead(status, { "content-type": "application/json", "x-request-id": "upstream-req" });
    res.end(text);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

  const upstream: KlingUpstream = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tasks: [],
    requests: [],
    override: undefined,
    seed: (externalTaskId) =>
      add({
        video_url: "https://example.com/other.mp4",
        ...(externalTaskId ? { external_task_id: externalTaskId } : {}),
      }),
    nextRequest: () => new Promise((resolve) => requestWaiters.push(resolve)),
    nextAbandoned: () => new Promise((resolve) => abandonWaiters.push(resolve)),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return upstream;
}
