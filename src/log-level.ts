// The log levels: their names (as options and KLING_V2A_LOG give them) and their order.

export type LogLevel = "debug" | "info" | "warn" | "error" | "off";

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
