// `kling-video-to-audio/msw`: the mock as MSW 2 request handlers, for a page's Service Worker (setupWorker), Vitest
// or Playwright (setupServer): the server mock's engine, with the spec's side generated ahead of time (no Prism).
import { http } from "msw";
import type { Answer } from "./answer.js";
import { type EngineRequest, MAX_BODY_BYTES, MockEngine } from "./engine.js";
import { createSpecExamples } from "./spec-examples.js";
import type { Delivery, MockOptions } from "./types.js";

export type { Delivery, DeliveryAttempt, MockTaskStatus } from "./types.js";

export interface MockHandlersOptions
  extends Pick<MockOptions, "submittedMs" | "processingMs" | "requireAuth" | "webhookSecret" | "now" | "maxTasks"> {
  /**
   * Where the API is mocked: an absolute URL (`https://api.deerapi.com/kling`) or a path (`/api/kling`, the page's
   * origin in a browser, any origin in Node). @default any origin, with or without a prefix such as `/kling`
   */
  baseUrl?: string;
}

export interface MockHandlers {
  /** Give them to `setupWorker(...)` or `setupServer(...)`. */
  handlers: ReturnType<typeof http.all>[];
  /** Every callback delivery so far (the latest 1000), oldest first. */
  readonly deliveries: readonly Delivery[];
  /** Forgets every task and delivery (deliveries under way are dropped): a clean mock for the next test. */
  reset(): void;
}

/** The mock's routes at the end of a URL's path; what comes before is the API's root (origin and prefix). */
const ROUTES = /^(.*?)(\/v1\/audio\/video-to-audio(?:\/[^/?#]+)?|\/__mock\/deliveries|\/media\/[^/?#]+)$/;

/**
 * The mock as MSW handlers: tasks that move on over time, playable media (with Range), signed callbacks (with fetch),
 * errors named by the validators generated from the spec. Options have startMock's meanings and defaults.
 */
export function createMockHandlers(options: MockHandlersOptions = {}): MockHandlers {
  const { baseUrl, ...engineOptions } = options;
  const engine = new MockEngine(createSpecExamples(), engineOptions);
  const ours = rootMatcher(baseUrl);
  const handler = http.all(
    /\/(?:v1\/audio\/video-to-audio(?:\/[^/]+)?|__mock\/deliveries|media\/[^/]+)$/,
    async ({ request }) => {
      const url = new URL(request.url);
      const [, root = "", path = ""] = ROUTES.exec(`${url.origin}${url.pathname}`) ?? [];
      if (!ours(root)) return undefined;
      const { answer } = await engine.handle(await engineRequest(request, url, root, path));
      // With no baseUrl, a `/media/...` URL the mock did not hand out is the app's own: let it through.
      if (baseUrl === undefined && path.startsWith("/media/") && answer.status === 404) return undefined;
      return toResponse(answer, request.method);
    },
  );
  return {
    handlers: [handler],
    get deliveries() {
      return engine.deliveries;
    },
    reset: () => engine.reset(),
  };
}

/** Whether an API root (origin and prefix) is the one `baseUrl` names. */
function rootMatcher(baseUrl: string | undefined): (root: string) => boolean {
  if (baseUrl === undefined) return () => true;
  const trimmed = baseUrl.replace(/\/+$/, "");
  if (/^https?:\/\//i.test(trimmed)) {
    const wanted = new URL(trimmed);
    return (root) => root === `${wanted.origin}${wanted.pathname.replace(/\/+$/, "")}`;
  }
  if (!trimmed.startsWith("/") && trimmed !== "")
    throw new TypeError(`baseUrl must be a URL or a path, got ${baseUrl}`);
  // A path: the page's origin in a browser, any origin where there is no page (Node).
  const origin = typeof location === "undefined" ? undefined : location.origin;
  return (root) => {
    const parsed = new URL(root);
    return parsed.pathname.replace(/\/+$/, "") === trimmed && (origin === undefined || parsed.origin === origin);
  };
}

async function engineRequest(request: Request, url: URL, root: string, path: string): Promise<EngineRequest> {
  const base = { method: request.method, base: root, path, target: `${path}${url.search}`, query: url.searchParams };
  const length = Number(request.headers.get("content-length") ?? 0);
  const body = length > MAX_BODY_BYTES ? undefined : await readLimited(request, MAX_BODY_BYTES);
  if (body === undefined) return { ...base, headers: request.headers, body: new Uint8Array(0), bodyTooLarge: true };
  return { ...base, headers: request.headers, body };
}

/** The body, or undefined once it passes `limit` bytes (the rest is not read). */
async function readLimited(request: Request, limit: number): Promise<Uint8Array | undefined> {
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      // Not awaited: a cancel can wait on the sender, and the answer must not.
      reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
}

function toResponse(answer: Answer, method: string): Response {
  const empty = method === "HEAD" || answer.status === 204 || answer.status === 304;
  const headers = { ...answer.headers, "content-length": String(answer.body.length) };
  return new Response(empty ? null : (answer.body as Uint8Array<ArrayBuffer>), { status: answer.status, headers });
}
