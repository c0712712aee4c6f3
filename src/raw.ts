// The low-level typed client: openapi-fetch over the generated `paths`, with base URL, bearer key and transport.
import createFetchClient, { type Client } from "openapi-fetch";
import type { paths } from "../generated/openapi.js";

export type RawClient = Client<paths>;

export interface RawClientOptions {
  /** The server, e.g. `https://api.deerapi.com/kling`; paths such as `/v1/audio/video-to-audio` are appended. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>` when given. @default undefined */
  apiKey?: string;
  /** The transport. @default `globalThis.fetch`, called unbound so Workers and browsers do not throw "Illegal invocation" */
  fetch?: (request: Request) => Promise<Response>;
  /** Extra headers on every request. @default {} */
  headers?: Record<string, string>;
}

export function createRawClient(options: RawClientOptions): RawClient {
  const headers: Record<string, string> = { ...options.headers };
  if (options.apiKey) headers.Authorization = `Bearer ${options.apiKey}`;
  return createFetchClient<paths>({
    baseUrl: options.baseUrl,
    headers,
    fetch: options.fetch ?? ((request: Request) => globalThis.fetch(request)),
  });
}
