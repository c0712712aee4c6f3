// What every kling-v2a command shares: exit codes, the usage and interruption errors, the output streams, the client.
import { constants } from "node:os";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { createClient, type VideoToAudioClient } from "../client.js";
import { KlingTaskFailedError, KlingTimeoutError, KlingValidationError } from "../errors.js";
import { ENV, isLoopbackUrl, readEnv, resolveOptions } from "../options.js";
import { createRedactor } from "../redact.js";
import { closestName } from "../request/input.js";

/**
 * Exit codes, as documented in `--help` and the README. 130 is the shell's code for Ctrl-C (128 + SIGINT); SIGTERM
 * and SIGHUP end a command with theirs (signalExitCode).
 */
export const EXIT = { ok: 0, taskFailed: 1, usage: 2, api: 3, timeout: 4, interrupted: 130 } as const;

/** A command line that cannot be run as given (exit 2). */
export class UsageError extends Error {}

/** The signals that end a command as Ctrl-C does: SIGINT (Ctrl-C), SIGTERM (kill, a container stopping), SIGHUP. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** The shell's exit code for a command ended by `signal`: 128 + its number (130, 143, 129). */
export function signalExitCode(signal: StopSignal): number {
  return 128 + constants.signals[signal];
}

/** Ctrl-C, SIGTERM or SIGHUP: the reason the command's signal aborts with. */
export class Interrupted extends Error {
  override readonly name = "Interrupted";
  constructor(readonly signal: StopSignal = "SIGINT") {
    super(`interrupted (${signal === "SIGINT" ? "Ctrl-C" : signal})`);
  }
}

/**
 * Runs `onStop` on the first SIGINT, SIGTERM or SIGHUP; a second one exits at once with that signal's code (the
 * results file's exit hook still releases a batch lock). Returns the function that removes the handlers.
 */
export function onStopSignals(onStop: (signal: StopSignal) => void): () => void {
  let stopping = false;
  const handlers = STOP_SIGNALS.map((signal) => {
    const handler = () => {
      if (stopping) process.exit(signalExitCode(signal));
      stopping = true;
      onStop(signal);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

/** Where a command writes: results on stdout, progress and errors on stderr. */
export interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/**
 * `io` with everything written through it redacted of the credentials in play (`--api-key` and the environment's
 * keys), in every form an echo may give them: whatever a server, a gateway or an error says, the CLI never prints a
 * key.
 */
export function redactingIo(io: Io, argv: readonly string[]): Io {
  const given = argv.flatMap((arg, i) =>
    arg === "--api-key" ? [argv[i + 1] ?? ""] : arg.startsWith("--api-key=") ? [arg.slice("--api-key=".length)] : [],
  );
  const fromEnv = [...ENV.apiKey, ...ENV.accessKey, ...ENV.secretKey].map(readEnv);
  const secrets = [...given, ...fromEnv].filter((s): s is string => typeof s === "string" && s !== "");
  if (secrets.length === 0) return io;
  const redactor = createRedactor(secrets);
  const wrap = (stream: NodeJS.WriteStream): NodeJS.WriteStream =>
    new Proxy(stream, {
      get(target, property) {
        if (property === "write")
          return (chunk: unknown, ...rest: unknown[]) =>
            (target.write as (...args: unknown[]) => boolean)(
              typeof chunk === "string" ? redactor.text(chunk) : chunk,
              ...rest,
            );
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return { stdout: wrap(io.stdout), stderr: wrap(io.stderr) };
}

/** The client for the global flags `--api-key` and `--base-url`, the environment filling in the rest. */
export function clientFrom(values: Record<string, string | boolean | undefined>): VideoToAudioClient {
  const options = { apiKey: str(values["api-key"]), baseUrl: str(values["base-url"]) };
  // The same resolution as the SDK's (flags first, then the environment); only the "no key" advice is the CLI's.
  const resolved = resolveOptions(options);
  if (!resolved.hasCredentials && !isLoopbackUrl(resolved.baseUrl)) {
    throw new UsageError(
      "no API key: pass --api-key, or set KLING_V2A_API_KEY (or DEERAPI_KEY, or KLING_V2A_ACCESS_KEY and " +
        "KLING_V2A_SECRET_KEY)",
    );
  }
  return createClient(options);
}

/** The exit code for an error that ended a command. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof Interrupted) return signalExitCode(error.signal);
  if (error instanceof UsageError || error instanceof KlingValidationError) return EXIT.usage;
  if (error instanceof KlingTaskFailedError) return EXIT.taskFailed;
  if (error instanceof KlingTimeoutError) return EXIT.timeout;
  // API and connection errors, and anything unexpected: the exit code for "the service did not do it".
  return EXIT.api;
}

/** A flag's value when it is a non-empty string. */
function str(value: string | boolean | undefined): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** Parses a command's flags strictly; a flag it does not know is refused naming the nearest one it does. */
export function parseFlags(
  args: string[],
  options: NonNullable<ParseArgsConfig["options"]>,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true }) as ReturnType<typeof parseFlags>;
  } catch (error) {
    throw new UsageError(flagProblem(error, options));
  }
}

/** parseArgs' complaint in a line: an unknown flag with the nearest known one ("did you mean --bgm-prompt?"). */
export function flagProblem(error: unknown, options: NonNullable<ParseArgsConfig["options"]>): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /^Unknown option '(-[^'=]*)/.exec(message)?.[1];
  if ((error as { code?: string }).code !== "ERR_PARSE_ARGS_UNKNOWN_OPTION" || !unknown) return message;
  const nearest = closestName(unknown.replace(/^-+/, ""), Object.keys(options));
  return `unknown flag ${unknown}${nearest ? `: did you mean --${nearest}?` : ""}`;
}

/** A number flag's value, scaled to the unit the SDK takes: refused unless a positive number that stays finite. */
export function positiveNumberFlag(
  value: string | boolean | undefined,
  flag: string,
  { scale = 1, unit = "number" }: { scale?: number; unit?: string } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : Number.NaN;
  if (!(n > 0) || !Number.isFinite(n * scale))
    throw new UsageError(`${flag} must be a positive ${unit}, not "${value}"`);
  return n * scale;
}

/** A whole-number flag (a count, a page): refused unless an integer, at least `min` when given (else the SDK's). */
export function integerFlag(value: string | boolean | undefined, flag: string, min?: number): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || (min !== undefined && n < min))
    throw new UsageError(`${flag} must be a ${min === 1 ? "positive " : ""}whole number, not "${value}"`);
  return n;
}

/** SDK option names in messages, and the CLI flag or command a user types instead. */
const CLI_TERMS: ReadonlyArray<readonly [RegExp, string]> = [
  // The CLI prints "keep waiting: kling-v2a wait <id>" on a line of its own, where it can be copied whole.
  [/: wait for it again with waitForTask\("[^"]+"\)\./g, "."],
  [/\bwaitForTask\("([^"]+)"\)/g, "kling-v2a wait $1"],
  [/\b(?:waitTimeoutMs|timeoutMs)\b/g, "--timeout"],
  [/\bpollIntervalMs\b/g, "--poll-interval"],
  [/\bpageSize\b/g, "--page-size"],
  [/\bpageNum\b/g, "--page"],
  [/\baccountConcurrency\b/g, "--account-concurrency"],
  [/\bbatchId\b/g, "--batch-id"],
  [/\bapiKey\b/g, "--api-key"],
  [/\bbaseUrl\b/g, "--base-url"],
];

/** A message from the SDK as the CLI's user should read it: flags, not SDK option names ("Raise --timeout"). */
export function inCliTerms(message: string): string {
  return CLI_TERMS.reduce((text, [sdkName, flag]) => text.replace(sdkName, flag), message);
}
