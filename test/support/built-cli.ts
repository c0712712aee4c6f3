// The built CLI (dist/src/cli/bin.js) run as a child process with only PATH from the environment: exit code, output.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The built bin, as `npm run build` writes it (the integration project's setup builds it). */
export const BUILT_CLI = fileURLToPath(new URL("../../dist/src/cli/bin.js", import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI with `args`; `env` adds to a PATH-only environment, so no key leaks in from the machine. */
export function runBuiltCli(
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BUILT_CLI, ...args],
      { env: { PATH: process.env.PATH ?? "", ...options.env }, timeout: options.timeoutMs ?? 30_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
