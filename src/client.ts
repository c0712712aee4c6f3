// createClient and the client's public shape; the request code (request/) loads with its first call.

import type { Client } from "openapi-fetch";
import createFetchClient from "openapi-fetch";
import type { paths } from "../generated/openapi.js";
import { createAuthorizer } from "./auth.js";
import { KlingValidationError } from "./errors.js";
import {
  BASE_URLS,
  type ClientOptions,
  isBrowserPage,
  type LookupOptions,
  onFirstUse,
  platformFetch,
  type RequestOptions,
  resolveOptions,
  type WaitOptions,
} from "./options.js";
import type { BatchOptions, BatchResult } from "./request/batch.js";
import type { CreateControl } from "./request/create.js";
import type { ClientMethods } from "./request/methods.js";
import type { CreateTaskInput, Task } from "./types.js";

/** The low-level typed client: openapi-fetch over the generated `paths`. */
export type RawClient = Client<paths>;

export interface VideoToAudioClient {
  /** Creates a task and returns it (`submitted`). Retried safely: see "Safe create" in the README. */
  createTask(input: CreateTaskInput, options?: RequestOptions): Promise<Task>;
  /** The task as it is now. */
  getTask(taskId: string, options?: RequestOptions): Promise<Task>;
  /** One page of tasks (`pageNum` 1-1000, `pageSize` 1-500; defaults 1 and 30). */
  listTasks(query?: { pageNum?: number; pageSize?: number }, options?: RequestOptions): Promise<Task[]>;
  /** Every task, page after page, fetched lazily; stops on a short page or after page 1000. */
  tasks(query?: { pageSize?: number }, options?: RequestOptions): AsyncIterable<Task>;
  /**
   * The task whose `task_info.external_task_id` is `externalTaskId`, or `undefined`: one GET of the query path
   * (Kling takes either id there), else a scan of the newest list pages (for gateways that take only task ids).
   */
  findTaskByExternalId(externalTaskId: string, options?: LookupOptions): Promise<Task | undefined>;
  /** Polls until the task succeeds; throws `KlingTaskFailedError`, `KlingTimeoutError`, or the signal's reason. */
  waitForTask(taskId: string, options?: WaitOptions): Promise<Task>;
  /** Creates a task, then waits for it, under one deadline and one signal. */
  run(input: CreateTaskInput, options?: WaitOptions): Promise<Task>;
  /**
   * Runs many inputs through create-then-wait, at most `concurrency` at once (fewer while Kling answers 1303),
   * yielding each item's result as it finishes. With a `batchId`, a rerun waits for the tasks an earlier run
   * created instead of creating them again.
   */
  runBatch(
    inputs: Iterable<CreateTaskInput> | AsyncIterable<CreateTaskInput>,
    options?: BatchOptions,
  ): AsyncIterable<BatchResult>;
  /** The underlying openapi-fetch client, for anything the methods above do not cover. */
  readonly raw: RawClient;
}

export interface RawClientOptions {
  /** The server, e.g. `https://api.deerapi.com/kling`; paths such as `/v1/audio/video-to-audio` are appended. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>` when given. @default undefined */
  apiKey?: string;
  /**
   * The transport. @default `globalThis.fetch`, called unbound so Workers and browsers do not throw "Illegal
   * invocation"
   */
  fetch?: (request: Request, init?: RequestInit) => Promise<Response>;
  /** Extra headers on every request. @default {} */
  headers?: Record<string, string>;
}

/** A raw client with base URL, bearer key and transport; `createClient` builds one over its retrying transport. */
export function createRawClient(options: RawClientOptions): RawClient {
  const headers: Record<string, string> = { ...options.headers };
  if (options.apiKey) headers.Authorization = `Bearer ${options.apiKey}`;
  return createFetchClient<paths>({
    baseUrl: options.baseUrl,
    headers,
    fetch: options.fetch ?? platformFetch,
  });
}

/**
 * A client. Its options, credentials and browser guard are checked here, so a bad option throws where it is given.
 * The request code (transport, retries, safe create, waits: methods.ts) is loaded by the first call, so a page that
 * makes a client downloads and parses only this much up front; see "What loads when" in CONTRIBUTING.md.
 */
export function createClient(options: ClientOptions = {}): VideoToAudioClient {
  const resolved = resolveOptions(options);
  if (!resolved.hasCredentials && needsKey(resolved.baseUrl)) {
    throw new KlingValidationError(
      "apiKey",
      `createClient has no API key for ${resolved.baseUrl}: pass apiKey (or accessKey and secretKey), or set ` +
        "KLING_V2A_API_KEY (or DEERAPI_KEY) in the environment. The mock (BASE_URLS.mock) and your own proxy need " +
        "none.",
    );
  }
  const authorizer = createAuthorizer(resolved);
  if (isBrowserPage() && (options.apiKey || options.secretKey) && !options.dangerouslyAllowBrowser) {
    throw new KlingValidationError(
      "dangerouslyAllowBrowser",
      "createClient was given a key in a browser, where any visitor can read it. Call the API through your server " +
        '(createProxy from "kling-video-to-audio/proxy", then createClient({ baseUrl: "/api/kling" }) with no key), ' +
        "or pass dangerouslyAllowBrowser: true if you understand the risk.",
    );
  }

  const methods = onFirstUse(() =>
    import("./request/methods.js").then((m) =>
      m.clientMethods({ resolved, authorizer, logger: options.logger, fetch: options.fetch, raw }),
    ),
  );
  /** Calls into the methods: directly once they are loaded (no extra await per call), after the first load before. */
  const use = <T>(call: (m: ClientMethods) => Promise<T>): Promise<T> => {
    const loaded = methods.loaded;
    return loaded ? call(loaded) : methods.get().then(call);
  };
  const iterate = <T>(open: (m: ClientMethods) => AsyncIterable<T>): AsyncIterable<T> => ({
    async *[Symbol.asyncIterator]() {
      yield* open(methods.loaded ?? (await methods.get()));
    },
  });
  const raw = createRawClient({
    baseUrl: resolved.baseUrl,
    fetch: (request, init) => use((m) => m.rawFetch(request, init)),
  });

  const client: VideoToAudioClient = {
    raw,
    createTask: (input, opts) => use((m) => m.createTask(input, opts)),
    getTask: (taskId, opts) => use((m) => m.getTask(taskId, opts)),
    listTasks: (query, opts) => use((m) => m.listTasks(query, opts)),
    tasks: (query, opts) => iterate((m) => m.tasks(query, opts)),
    findTaskByExternalId: (externalTaskId, opts) => use((m) => m.findTaskByExternalId(externalTaskId, opts)),
    waitForTask: (taskId, opts) => use((m) => m.waitForTask(taskId, opts)),
    run: (input, opts) => use((m) => m.run(input, opts)),
    runBatch: (inputs, opts) => iterate((m) => m.runBatch(inputs, opts)),
  };
  const controlled: ControlledCreate = (input, opts, control) => use((m) => m.createTask(input, opts, control));
  Object.defineProperty(client, CONTROLLED_CREATE, { value: controlled });
  return client;
}

/**
 * Whether `baseUrl` is one of Kling's or DeerAPI's servers (BASE_URLS but the mock), which refuse a request with no
 * key.
 */
function needsKey(baseUrl: string): boolean {
  return Object.entries(BASE_URLS).some(([name, url]) => name !== "mock" && sameOrigin(url, baseUrl));
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/** The create path with its controls (look up first, hand 1303 to the caller). */
type ControlledCreate = (input: CreateTaskInput, opts?: RequestOptions, control?: CreateControl) => Promise<Task>;

/**
 * @internal The key of each client's create path with its controls, for the queue workers of
 * `kling-video-to-audio/bullmq`, which must not retry 1303 themselves. A non-enumerable property of the client made
 * by createClient; not part of the public client.
 */
const CONTROLLED_CREATE: unique symbol = Symbol("kling-video-to-audio.controlledCreate");

/** @internal The client's controlled create path, when the client was made by createClient. */
export function controlledCreateOf(client: VideoToAudioClient): ControlledCreate | undefined {
  return (client as { [CONTROLLED_CREATE]?: ControlledCreate })[CONTROLLED_CREATE];
}
