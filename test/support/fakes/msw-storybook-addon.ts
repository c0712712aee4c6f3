// A small stand-in for msw-storybook-addon, what the docs example touches: initialize() starts MSW (setupServer
// here, where the addon starts setupWorker in the page) and mswLoader applies a story's `parameters.msw.handlers`.
import type { RequestHandler } from "msw";
import { setupServer } from "msw/node";

let server: ReturnType<typeof setupServer> | undefined;

export function initialize(): void {
  const started = setupServer();
  started.listen({ onUnhandledRequest: "bypass" });
  server = started;
}

export async function mswLoader(context: { parameters: { msw?: { handlers?: RequestHandler[] } } }): Promise<object> {
  if (!server) throw new Error("call initialize() first");
  server.resetHandlers(...(context.parameters.msw?.handlers ?? []));
  return {};
}

/** Stops what initialize() started (the test's clean-up; the addon has no such call). */
export function stop(): void {
  server?.close();
  server = undefined;
}
