// node:http for the docs examples: real servers, except that `listen(3000)` takes a free loopback port, recorded so a
// test can reach and close it.
import http from "node:http";
import type { AddressInfo } from "node:net";

export * from "node:http";

export interface Opened {
  /** The port the example asked for. */
  asked: unknown;
  server: http.Server;
  /** `http://127.0.0.1:<port>` once it listens. */
  url: Promise<string>;
}

/** Every server the examples opened, oldest first (on globalThis: one list however this module is imported). */
const shared = globalThis as { __docsServers?: Opened[] };
shared.__docsServers ??= [];
export const opened: Opened[] = shared.__docsServers;

export function createServer(...args: Parameters<typeof http.createServer>): http.Server {
  const server = http.createServer(...(args as [http.RequestListener]));
  const listen = server.listen.bind(server);
  server.listen = ((asked?: unknown) => {
    const url = new Promise<string>((resolve) =>
      listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
    );
    opened.push({ asked, server, url });
    return server;
  }) as http.Server["listen"];
  return server;
}

/** Closes every server opened so far. */
export async function closeOpened(): Promise<void> {
  for (const { server } of opened.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
