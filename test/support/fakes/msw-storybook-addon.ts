// A small stand-in for msw-storybook-addon, what the docs example touches: initialize() starts MSW (setupServer here,
// where the addon starts setupWorker in the page) and mswLoader applies a story's `parameters.msw.handlers`.
import { type RequestHandler } from "msw";
import { type SetupServerApi, setupServer } from "msw/node";

let server: SetupServerApi | undefined;

export function initialize(): void {
  server ??= setupServer();
  server.listen({ onUnhandledRequest: "bypass" });
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
