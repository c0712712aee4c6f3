// The client's options: their types, every default, the environment, the base URLs and the log level; how the client
// reaches the platform's fetch and loads its later code.

import { LIMITS } from "../generated/limits.js";
import { KlingValidationError } from "./errors.js";
import type { Task } from "./types.js";
import { checkBaseUrl, checkCount, checkDuration, checkFunction, checkLogger, shown } from "./validate.js";

export type LogLevel = "debug" | "info" | "warn" | "error" | "off";

/** What the SDK logs through; `console` fits. */
export interface Logger {
  debug(message: string, ...rest: unknown[]): void;
  info(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  error(message: string, ...rest: unknown[]): void;
}

/** The levels in order of severity; a log writes the lines at its level and above. */
export const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, off: 100 };
const ALIASES: Record<string, LogLevel> = { warning: "warn", none: "off", silent: "off" };

/** The level named by `value` (case-insensitive; also `warning`, `none`, `silent`), or `undefined` if it names none. */
export function parseLogLevel(value: string | undefined): LogLevel | undefined {
  const name = value?.trim().toLowerCase();
  if (!name) return undefined;
  if (Object.hasOwn(RANK, name)) return name as LogLevel;
  return Object.hasOwn(ALIASES, name) ? ALIASES[name] : undefined;
}

/** The servers the API is known at. Paths such as `/v1/audio/video-to-audio` are appended. */
export const BASE_URLS = {
  deerapi: "https://api.deerapi.com/kling",
  klingSingapore: "https://api-singapore.klingai.com",
  klingBeijing: "https://api-beijing.klingai.com",
  mock: "http://127.0.0.1:4010",
} as const;

export interface ClientOptions {
  /** Sent as `Authorization: Bearer <apiKey>`. @default env `KLING_V2A_API_KEY`, then `DEERAPI_KEY` */
  apiKey?: string | undefined;
  /** Kling access key, for a JWT signed on the fly (with `secretKey`). @default env `KLING_V2A_ACCESS_KEY` */
  accessKey?: string | undefined;
  /** Kling secret key, signs the JWT (with `accessKey`). @default env `KLING_V2A_SECRET_KEY` */
  secretKey?: string | undefined;
  /** The server. @default env `KLING_V2A_BASE_URL`, then `BASE_URLS.deerapi` */
  baseUrl?: string | undefined;
  /** Limit for one HTTP attempt, in ms. @default 30000 */
  timeoutMs?: number | undefined;
  /** Retries after the first attempt. @default 2 */
  maxRetries?: number | undefined;
  /**
   * The transport; forward `init` (it carries each attempt's abort signal). @default `globalThis.fetch`, called unbound
   */
  fetch?: ((request: Request, init?: RequestInit) => Promise<Response>) | undefined;
  /** Where log lines go. @default console */
  logger?: Logger | undefined;
  /**
   * The least severe level written; `debug` logs every attempt, retry and poll. @default env `KLING_V2A_LOG`, then
   * "warn"
   */
  logLevel?: LogLevel | undefined;
  /**
   * Allow a key in a browser, where any visitor can read it. Prefer a server proxy (`kling-video-to-audio/proxy`).
   * @default false
   */
  dangerouslyAllowBrowser?: boolean | undefined;
}

export interface RequestOptions {
  /** Cancels the call, including its retry sleeps, at once. @default undefined */
  signal?: AbortSignal | undefined;
  /** Limit for one HTTP attempt, in ms. @default the client's `timeoutMs` (30000) */
  timeoutMs?: number | undefined;
  /** Retries after the first attempt. @default the client's `maxRetries` (2) */
  maxRetries?: number | undefined;
}

/** Options of `findTaskByExternalId`. */
export interface LookupOptions extends RequestOptions {
  /** Pages of 500 tasks to scan. @default DEFAULTS.scanPages */
  maxPages?: number | undefined;
}

export interface WaitOptions {
  /** Cancels the whole wait (attempts, retry sleeps and poll sleeps) at once. @default undefined */
  signal?: AbortSignal | undefined;
  /**
   * The whole wait, in ms; then `KlingTimeoutError` (the task keeps running). @default DEFAULTS.waitTimeoutMs
   * (options.ts)
   */
  timeoutMs?: number | undefined;
  /** Retries of each HTTP call. @default the client's `maxRetries` (2) */
  maxRetries?: number | undefined;
  /** Called with the task on every observed status change. @default undefined */
  onProgress?: ((task: Task) => void) | undefined;
  /** The steady interval between polls, in ms (the first polls come sooner). @default 5000 */
  pollIntervalMs?: number | undefined;
}

/**
 * The default transport: the platform's `fetch`, looked up at each call and called unbound, so browsers and Workers
 * do not throw "Illegal invocation" (and a `fetch` replaced later, e.g. by a test, is used).
 */
export const platformFetch = (request: Request, init?: RequestInit): Promise<Response> =>
  globalThis.fetch(request, init);

/**
 * Code a client loads on first use (an `import()` of a chunk it may never need) and what it makes of it: concurrent
 * first users share one load, and a load that failed (a chunk the network dropped) is tried again by the next use
 * rather than remembered. `loaded` is the value once there, so later uses need no await.
 */
export function onFirstUse<T>(load: () => Promise<T>): { get(): Promise<T>; readonly loaded: T | undefined } {
  let loaded: T | undefined;
  let loading: Promise<T> | undefined;
  return {
    get: () =>
      (loading ??= load().then(
        (value) => (loaded = value),
        (error: unknown) => {
          loading = undefined;
          throw error;
        },
      )),
    get loaded() {
      return loaded;
    },
  };
}

/** Every default of the client, its batches, lookups and the proxy's scans: the one place they are written. */
export const DEFAULTS = {
  baseUrl: BASE_URLS.deerapi,
  timeoutMs: 30_000,
  maxRetries: 2,
  /** A whole wait (`waitForTask`, `run`), and each item of a batch (its create and its wait). */
  waitTimeoutMs: 600_000,
  logLevel: "warn",
  /** Tasks a batch runs at once. */
  batchConcurrency: 4,
  /** List pages (of 500) read by a lookup by external id, a batch's resume scan and the proxy's list scan. */
  scanPages: 10,
  /** Tasks per list page when none is asked for: the spec's default. */
  pageSize: LIMITS.pageSizeDefault,
} as const;

/** Reads an environment variable where the runtime has one; never throws (Deno without --allow-env, browsers). */
export function readEnv(name: string): string | undefined {
  try {
    const value = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
    return value === "" ? undefined : value;
  } catch {
    return undefined;
  }
}

/** Where each option comes from in the environment, when the caller leaves it out. */
export const ENV = {
  apiKey: ["KLING_V2A_API_KEY", "DEERAPI_KEY"],
  accessKey: ["KLING_V2A_ACCESS_KEY"],
  secretKey: ["KLING_V2A_SECRET_KEY"],
  baseUrl: ["KLING_V2A_BASE_URL"],
  logLevel: ["KLING_V2A_LOG"],
} as const;

function fromEnv(names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = readEnv(name);
    if (value !== undefined) return value;
  }
  return undefined;
}

/**
 * The options every entry (client, proxy, CLI, batch, workers) runs with: checked, defaults and environment applied.
 */
export interface ResolvedOptions {
  apiKey: string | undefined;
  accessKey: string | undefined;
  secretKey: string | undefined;
  /** Checked, without trailing slashes. */
  baseUrl: string;
  timeoutMs: number;
  maxRetries: number;
  logLevel: LogLevel;
  /** Whether any credential was found; a loopback server (the mock) needs none. */
  hasCredentials: boolean;
}

/**
 * Resolves credentials, server and limits in one place: given options first, then the environment (see `ENV`), then
 * `DEFAULTS`. Explicit credentials of one kind keep the environment's of the other kind out: an `apiKey` given in
 * code is not joined by an access key from the environment, nor the reverse. Throws `KlingValidationError` naming a
 * bad option.
 */
export function resolveOptions(options: ClientOptions = {}): ResolvedOptions {
  checkDuration(options.timeoutMs, "timeoutMs");
  checkCount(options.maxRetries, "maxRetries", 0);
  checkFunction(options.fetch, "fetch");
  checkLogger(options.logger);
  for (const field of ["apiKey", "accessKey", "secretKey"] as const) {
    // Never quoted: whatever was given here may be a key.
    if (options[field] !== undefined && typeof options[field] !== "string")
      throw new KlingValidationError(field, `${field} must be a string.`);
  }
  const givenKey = options.apiKey || undefined;
  const givenPair =
    options.accessKey || options.secretKey
      ? { accessKey: options.accessKey || undefined, secretKey: options.secretKey || undefined }
      : undefined;
  const apiKey = givenKey ?? (givenPair ? undefined : fromEnv(ENV.apiKey));
  const pair =
    givenPair ??
    (givenKey || apiKey
      ? { accessKey: undefined, secretKey: undefined }
      : { accessKey: fromEnv(ENV.accessKey), secretKey: fromEnv(ENV.secretKey) });
  return {
    apiKey,
    ...pair,
    baseUrl: checkBaseUrl(options.baseUrl ?? fromEnv(ENV.baseUrl) ?? DEFAULTS.baseUrl),
    timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
    maxRetries: options.maxRetries ?? DEFAULTS.maxRetries,
    logLevel:
      options.logLevel === undefined
        ? (parseLogLevel(fromEnv(ENV.logLevel)) ?? DEFAULTS.logLevel)
        : givenLogLevel(options.logLevel),
    hasCredentials: Boolean(apiKey || pair.accessKey || pair.secretKey),
  };
}

/** A level given in code must name one (as `KLING_V2A_LOG` may, in any case, or as `warning`, `none`, `silent`). */
function givenLogLevel(value: unknown): LogLevel {
  const level = typeof value === "string" ? parseLogLevel(value) : undefined;
  if (level === undefined)
    throw new KlingValidationError(
      "logLevel",
      `logLevel must be "debug", "info", "warn", "error" or "off", not ${shown(value)}.`,
    );
  return level;
}

/** Whether `url` points at this machine (where the mock runs, needing no key); a path, at the page's host. */
export function isLoopbackUrl(url: string): boolean {
  try {
    // A path such as /api/kling (a page's own proxy) is on the page's host.
    const host = new URL(url, (globalThis as { location?: { href?: string } }).location?.href).hostname;
    return host === "localhost" || host === "[::1]" || /^127(?:\.\d{1,3}){3}$/.test(host);
  } catch {
    return false;
  }
}

/** True in a web page (not in Node, Deno, Bun, workers or workerd). */
export function isBrowserPage(): boolean {
  const g = globalThis as { window?: unknown; document?: unknown };
  return typeof g.window === "object" && g.window !== null && typeof g.document === "object" && g.document !== null;
}
