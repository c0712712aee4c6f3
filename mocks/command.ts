// The `mock` command shared by `npm run mock` and `kling-v2a mock`: flags, the start-up hint, a clean stop; Prism loads
// lazily.
import { parseArgs } from "node:util";
import type { MockOptions, RunningMock } from "./types.js";

/** How to install Prism at the versions this package is tested with (its optional peer dependencies). */
export const PRISM_INSTALL =
  "npm i -D @stoplight/prism-core@5.8.0 @stoplight/prism-http@5.12.0 @stoplight/prism-http-server@5.12.2";
export const PRISM_MISSING = `kling-v2a mock needs Prism: ${PRISM_INSTALL}`;

export interface MockCommandOptions {
  /** How the help text names the command. @default "kling-v2a mock" */
  prog?: string;
  /** Where the banner and help go. @default process.stdout */
  stdout?: { write(text: string): unknown };
  /** Where errors and verbose request lines go. @default process.stderr */
  stderr?: { write(text: string): unknown };
  /** Stops the mock when aborted, as SIGINT/SIGTERM do. @default none (signals only) */
  signal?: AbortSignal;
  /** Loads the mock; a test swaps it to simulate a missing Prism. @default a dynamic import of ./lifecycle.js */
  load?: () => Promise<{ startMock(options?: MockOptions): Promise<RunningMock> }>;
}

const HELP = (prog: string) => `Usage: ${prog} [options]

Serves the Kling Video-to-Audio API locally, no key needed: Prism validates every request against the OpenAPI spec
(a 400 with code 1201 names the field and the rule) and answers with its examples. In lifecycle mode (the default)
created tasks move submitted → processing → succeed as time passes (failed when the video, a prompt or
external_task_id contains "fail"), a succeeded task's url_mp3, url_wav and video url are playable files served
by the mock itself, a create's callback_url receives a POST on every status change, unknown task ids answer 404
(code 1203), and the list returns the tasks created so far. A Prefer header always wins. Reference: docs/mock.md.

Options:
  --port <n>               port to listen on; 0 picks a free one (default 4010)
  --host <addr>            interface to listen on; 0.0.0.0 for other machines (default 127.0.0.1)
  --no-lifecycle           static examples only, chosen by Prefer (media, errors and CORS as above)
  --submitted-ms <ms>      how long a new task stays submitted (default 2000)
  --processing-ms <ms>     how long it then stays processing (default 4000)
  --require-auth           answer 401 like the real API without "Authorization: Bearer <any token>" (code 1001)
  --webhook-secret <whsec> sign callbacks with Standard Webhooks headers (verifyCallback accepts them)
  --verbose                log every request and the answer chosen for it (callback deliveries are always logged)
  --help                   show this help

Examples:
  ${prog}
  ${prog} --port 8080 --submitted-ms 500 --processing-ms 1500
  ${prog} --webhook-secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw --require-auth
  ${prog} --host 0.0.0.0 --verbose
  ${prog} --no-lifecycle
`;

/**
 * Runs the mock until SIGINT/SIGTERM (or `options.signal`) and resolves the exit code: 0 after a clean stop or
 * `--help`, 1 when the server cannot start (e.g. the port is taken), 2 for bad flags or a missing Prism.
 */
export async function runMockCommand(argv: string[], options: MockCommandOptions = {}): Promise<number> {
  const prog = options.prog ?? "kling-v2a mock";
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;

  let mockOptions: MockOptions;
  try {
    const { values } = parseArgs({
      args: argv,
      allowNegative: true,
      options: {
        port: { type: "string", default: "4010" },
        host: { type: "string", default: "127.0.0.1" },
        lifecycle: { type: "boolean", default: true },
        "submitted-ms": { type: "string", default: "2000" },
        "processing-ms": { type: "string", default: "4000" },
        "require-auth": { type: "boolean", default: false },
        "webhook-secret": { type: "string" },
        verbose: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    });
    if (values.help) {
      stdout.write(HELP(prog));
      return 0;
    }
    mockOptions = {
      port: integerFlag("--port", values.port, 65_535),
      host: values.host,
      lifecycle: values.lifecycle,
      submittedMs: integerFlag("--submitted-ms", values["submitted-ms"]),
      processingMs: integerFlag("--processing-ms", values["processing-ms"]),
      requireAuth: values["require-auth"],
      verbose: values.verbose,
      log: (line) => stderr.write(`${line}\n`),
    };
    const secret = values["webhook-secret"];
    if (secret !== undefined) {
      if (!/^(whsec_)?[A-Za-z0-9+/]+={0,2}$/.test(secret))
        throw new Error("--webhook-secret must be whsec_ followed by base64 (as in the Kling console)");
      mockOptions.webhookSecret = secret;
    }
  } catch (error) {
    stderr.write(
      `${prog}: ${error instanceof Error ? error.message : String(error)}\nRun ${prog} --help for the options.\n`,
    );
    return 2;
  }

  let mock: RunningMock;
  try {
    // Imported here, not at the top: Prism is a dev dependency of the SDK, and the published CLI must run without it.
    const { startMock } = await (options.load ?? (() => import("./lifecycle.js")))();
    mock = await startMock(mockOptions);
  } catch (error) {
    if (isPrismMissing(error)) {
      stderr.write(`${PRISM_MISSING}\n`);
      return 2;
    }
    const code = (error as { code?: unknown } | null)?.code;
    const why =
      code === "EADDRINUSE"
        ? `port ${mockOptions.port} is already in use (try --port 0 for a free one)`
        : String(error instanceof Error ? error.message : error);
    stderr.write(`${prog}: cannot start the mock: ${why}\n`);
    return 1;
  }

  stdout.write(banner(mock.url, mockOptions));
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      options.signal?.removeEventListener("abort", stop);
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener("abort", stop, { once: true });
  });
  await mock.close();
  stdout.write("Mock stopped.\n");
  return 0;
}

function banner(url: string, options: MockOptions): string {
  const mode = options.lifecycle
    ? `lifecycle: submitted ${options.submittedMs} ms → processing ${options.processingMs} ms → succeed, or failed ` +
      `when the input says "fail"`
    : "static examples, chosen with Prefer";
  const auth = options.requireAuth ? " -H 'Authorization: Bearer any'" : "";
  const who = options.requireAuth ? "any bearer token works" : "no key needed";
  const signed = options.webhookSecret
    ? "signed with your --webhook-secret"
    : "unsigned (add --webhook-secret whsec_... to sign)";
  const query = options.lifecycle ? "<task_id from the create>" : "866889456698785798";
  return [
    `Kling Video-to-Audio mock on ${url} (${mode}; ${who}; Ctrl-C stops it)`,
    `  create: curl -s -X POST ${url}/v1/audio/video-to-audio${auth} -H 'Content-Type: application/json' -d ` +
      `'{"video_url":"https://example.com/clip.mp4"}'`,
    `  query:  curl -s ${url}/v1/audio/video-to-audio/${query}${auth}`,
    `  pick:   add -H 'Prefer: example=failed' (on create: a task that ends failed) or -H 'Prefer: code=429, ` +
      `example=1303_concurrency_limit': the caller's Prefer always wins`,
    `  hooks:  a create's callback_url gets a POST per status change, ${signed}; see them: curl -s ` +
      `${url}/__mock/deliveries`,
    "",
  ].join("\n");
}

function integerFlag(flag: string, value: string, max = Number.MAX_SAFE_INTEGER): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number) || number > max) {
    throw new Error(`${flag} must be a whole number from 0 to ${max}, got "${value}"`);
  }
  return number;
}

/** Whether an import failed because a Prism package is not installed (as opposed to a bug inside Prism). */
export function isPrismMissing(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") &&
    typeof message === "string" &&
    message.includes("@stoplight/")
  );
}
