// A small real stand-in for Express, just what the docs examples touch: express(), app.post/use, express.raw,
// res.sendStatus/status/send; the app is a node:http handler.
import type { IncomingMessage, ServerResponse } from "node:http";

type Req = IncomingMessage & { body?: unknown; originalUrl?: string };
type Res = ServerResponse & {
  sendStatus(status: number): Res;
  status(status: number): Res;
  send(body: string | Buffer): Res;
};
type Handler = (req: Req, res: Res, next: (error?: unknown) => void) => unknown;

export interface App {
  (req: IncomingMessage, res: ServerResponse): void;
  post(path: string, ...handlers: Handler[]): App;
  use(path: string | Handler, ...handlers: Handler[]): App;
}

function express(): App {
  const routes: Array<{ method: string | undefined; path: string; prefix: boolean; handlers: Handler[] }> = [];
  const app = ((req: Req, res: Res) => {
    res.sendStatus = (status) => {
      res.writeHead(status, { "content-type": "text/plain" }).end(String(status));
      return res;
    };
    res.status = (status) => {
      res.statusCode = status;
      return res;
    };
    res.send = (body) => {
      res.end(body);
      return res;
    };
    req.originalUrl = req.url;
    const path = (req.url ?? "/").split("?")[0]!;
    const chain = routes
      .filter(
        (r) =>
          (r.method === undefined || r.method === req.method) &&
          (r.prefix ? path === r.path || path.startsWith(`${r.path}/`) : path === r.path),
      )
      .flatMap((r) => r.handlers);
    const next = (error?: unknown) => {
      const handler = chain.shift();
      if (error !== undefined || !handler) return void res.writeHead(error === undefined ? 404 : 500).end();
      Promise.resolve(handler(req, res, next)).catch((e: unknown) => next(e ?? new Error("handler failed")));
    };
    next();
  }) as App;
  app.post = (path, ...handlers) => {
    routes.push({ method: "POST", path, prefix: false, handlers });
    return app;
  };
  app.use = (path, ...handlers) => {
    if (typeof path === "function")
      routes.push({ method: undefined, path: "", prefix: true, handlers: [path, ...handlers] });
    else routes.push({ method: undefined, path, prefix: true, handlers });
    return app;
  };
  return app;
}

/** Reads the whole body into a Buffer as `req.body` when the content type matches, as express.raw does. */
express.raw =
  ({ type }: { type: string }): Handler =>
  async (req, _res, next) => {
    if (!String(req.headers["content-type"] ?? "").startsWith(type)) return next();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    req.body = Buffer.concat(chunks);
    next();
  };

export default express;
