// A 127.0.0.1 server for preflight tests: the test videos with Range support, counting every body byte it sends, and
// hostile answers (endless, hanging, a lying Content-Length, 403, HTML as video/mp4). No vitest import.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

export interface VideoServer {
  url: string;
  /** Body bytes written per path (without the query), since the last `reset`. */
  sent(path: string): number;
  /** Requests per path since the last `reset`. */
  requests(path: string): number;
  reset(): void;
  close(): Promise<void>;
}

/** The hostile answers: each path and what it does. */
export const HOSTILE = {
  endless: "/endless.mp4",
  hang: "/hang.mp4",
  hangBody: "/hang-body.mp4",
  lying: "/lying.mp4",
  forbidden: "/forbidden.mp4",
  html: "/page.mp4",
} as const;

const HTML = "<!doctype html><html><head><title>Sign in</title></head><body>Please sign in.</body></html>\n";
/** An `ftyp` box then an `mdat` box of size 0 ("to the end of the file"): a video's start, then zeros forever. */
const ENDLESS_HEAD = Buffer.from("000000186674797069736f6d0000020069736f6d6d703431000000006d646174", "hex");

/**
 * Serves `dir` under `/media/NAME` (Range honoured), the same ignoring Range under `/no-range/NAME`, and HOSTILE.
 */
export async function startVideoServer(dir: string): Promise<VideoServer> {
  const sent = new Map<string, number>();
  const requests = new Map<string, number>();
  const open = new Set<ServerResponse>();
  const count = (path: string, bytes: number) => sent.set(path, (sent.get(path) ?? 0) + bytes);
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    requests.set(path, (requests.get(path) ?? 0) + 1);
    open.add(res);
    res.on("close", () => open.delete(res));
    answer(dir, path, req, res, (bytes) => count(path, bytes)).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sent: (path) => sent.get(path) ?? 0,
    requests: (path) => requests.get(path) ?? 0,
    reset() {
      sent.clear();
      requests.clear();
    },
    close() {
      for (const res of open) res.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function answer(
  dir: string,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
  count: (bytes: number) => void,
): Promise<void> {
  const name = path.split("/").pop() ?? "";
  if (path.startsWith("/media/")) return file(join(dir, name), req.headers.range, res, count);
  if (path.startsWith("/no-range/")) return file(join(dir, name), undefined, res, count);
  switch (path) {
    case HOSTILE.endless:
      return endless(res, count);
    case HOSTILE.hang:
      return; // never answers
    case HOSTILE.hangBody:
      res.writeHead(200, { "content-type": "video/mp4", "content-length": 10_000_000 });
      res.write(ENDLESS_HEAD);
      return count(ENDLESS_HEAD.length); // then nothing more
    case HOSTILE.lying:
      return lying(join(dir, "pass-720p.mp4"), res, count);
    case HOSTILE.forbidden:
      res.writeHead(403, { "content-type": "text/plain" }).end("forbidden\n");
      return;
    case HOSTILE.html:
      res.writeHead(200, { "content-type": "video/mp4", "content-length": Buffer.byteLength(HTML) }).end(HTML);
      return count(Buffer.byteLength(HTML));
    default:
      res.writeHead(404).end();
  }
}

/** The file, or the asked byte range of it (206 with Content-Range), counted as it is written. */
async function file(
  path: string,
  range: string | undefined,
  res: ServerResponse,
  count: (bytes: number) => void,
): Promise<void> {
  const size = (await stat(path)).size;
  const match = /^bytes=(\d+)-(\d*)$/.exec(range ?? "");
  let start = 0;
  let end = size - 1;
  if (match) {
    start = Number(match[1]);
    end = match[2] ? Math.min(Number(match[2]), size - 1) : size - 1;
    if (start >= size) {
      res.writeHead(416, { "content-range": `bytes */${size}` }).end();
      return;
    }
    res.writeHead(206, {
      "content-type": "video/mp4",
      "content-length": end - start + 1,
      "content-range": `bytes ${start}-${end}/${size}`,
      "accept-ranges": "bytes",
    });
  } else res.writeHead(200, { "content-type": "video/mp4", "content-length": size });
  const stream = createReadStream(path, { start, end });
  stream.on("data", (chunk) => count(chunk.length));
  stream.pipe(res);
  res.on("close", () => stream.destroy());
}

/** A video's first bytes, then zeros for as long as the client reads, whatever Range it asked. */
function endless(res: ServerResponse, count: (bytes: number) => void): void {
  res.writeHead(200, { "content-type": "video/mp4" });
  res.write(ENDLESS_HEAD);
  count(ENDLESS_HEAD.length);
  const zeros = Buffer.alloc(64 * 1024);
  const pump = () => {
    while (!res.destroyed) {
      count(zeros.length);
      if (!res.write(zeros)) return void res.once("drain", pump);
    }
  };
  pump();
}

/** Says 150 MB (Content-Length and Content-Range), sends a small file, and hangs up. */
async function lying(path: string, res: ServerResponse, count: (bytes: number) => void): Promise<void> {
  const claimed = 150 * 1024 * 1024;
  res.writeHead(206, {
    "content-type": "video/mp4",
    "content-length": claimed,
    "content-range": `bytes 0-${claimed - 1}/${claimed}`,
  });
  const stream = createReadStream(path);
  stream.on("data", (chunk) => count(chunk.length));
  stream.on("end", () => res.destroy());
  stream.pipe(res, { end: false });
}
