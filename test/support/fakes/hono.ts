// A small real stand-in for Hono, just what the docs examples touch: new Hono(), app.post/all,
// c.req.raw/header/arrayBuffer, c.env, c.body/text, app.fetch(request, env).
type Context = {
  req: { raw: Request; header(name?: string): any; arrayBuffer(): Promise<ArrayBuffer> };
  env: any;
  body(body: BodyInit | null, status?: number): Response;
  text(text: string, status?: number): Response;
};
type Handler = (c: Context) => Response | Promise<Response>;

export class Hono<_E = any> {
  private readonly routes: Array<{ method: string | undefined; path: string; handler: Handler }> = [];

  post(path: string, handler: Handler): this {
    this.routes.push({ method: "POST", path, handler });
    return this;
  }

  all(path: string, handler: Handler): this {
    this.routes.push({ method: undefined, path, handler });
    return this;
  }

  /**
   * Hono's entry point: routes the request to the first matching handler (a trailing `*` matches any rest), else 404.
   */
  fetch = async (request: Request, env?: unknown): Promise<Response> => {
    const path = new URL(request.url).pathname;
    const route = this.routes.find(
      (r) =>
        (r.method === undefined || r.method === request.method) &&
        (r.path.endsWith("*") ? path.startsWith(r.path.slice(0, -1)) : path === r.path),
    );
    if (!route) return new Response("404 Not Found", { status: 404 });
    return route.handler({
      req: {
        raw: request,
        header: (name?: string) =>
          name ? (request.headers.get(name) ?? undefined) : Object.fromEntries(request.headers),
        arrayBuffer: () => request.arrayBuffer(),
      },
      env,
      body: (body, status = 200) => new Response(body, { status }),
      text: (text, status = 200) =>
        new Response(text, { status, headers: { "content-type": "text/plain; charset=UTF-8" } }),
    });
  };
}
