// What every kling-v2a command shares: exit codes, the usage and interruption errors, the output streams, the client.
import { createClient, type VideoToAudioClient } from "../client.js";
import { KlingTaskFailedError, KlingTimeoutError, KlingValidationError } from "../errors.js";
import { isLoopbackUrl, resolveOptions } from "../options.js";

/** Exit codes, as documented in `--help` and the README. 130 is the shell's code for Ctrl-C (128 + SIGINT). */
export const EXIT = { ok: 0, taskFailed: 1, usage: 2, api: 3, timeout: 4, interrupted: 130 } as const;

/** A command line that cannot be run as given (exit 2). */
export class UsageError extends Error {}

/** Ctrl-C: the reason the command's signal aborts with. */
export class Interrupted extends Error {
  override readonly name = "Interrupted";
}

/** Where a command writes: results on stdout, progress and errors on stderr. */
export interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** The client for the global flags `--api-key` and `--base-url`, the environment filling in the rest. */
export function clientFrom(values: Record<string, string | boolean | undefined>): VideoToAudioClient {
  const options = { apiKey: str(values["api-key"]), baseUrl: str(values["base-url"]) };
  // The same resolution as the SDK's (flags first, then the environment); only the "no key" advice is the CLI's.
  const resolved = resolveOptions(options);
  if (!resolved.hasCredentials && !isLoopbackUrl(resolved.baseUrl)) {
    throw new UsageError(
      "no API key: pass --api-key, or set KLING_V2A_API_KEY (or DEERAPI_KEY, or KLING_V2A_ACCESS_KEY and KLING_V2A_SECRET_KEY)",
    );
  }
  return createClient(options);
}

/** The exit code for an error that ended a command. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof Interrupted) return EXIT.interrupted;
  if (error instanceof UsageError || error instanceof KlingValidationError) return EXIT.usage;
  if (error instanceof KlingTaskFailedError) return EXIT.taskFailed;
  if (error instanceof KlingTimeoutError) return EXIT.timeout;
  // API and connection errors, and anything unexpected: the exit code for "the service did not do it".
  return EXIT.api;
}

/** A flag's value when it is a non-empty string. */
export function str(value: string | boolean | undefined): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}
