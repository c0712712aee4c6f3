// The redacting, level-filtered log: what passes each level and what never reaches the logger.
import { describe, expect, it } from "vitest";
import { parseLogLevel } from "../../src/options.js";
import { createLog, type Logger } from "../../src/redact.js";

function recorder() {
  const lines: Array<[level: string, args: unknown[]]> = [];
  const at =
    (level: string) =>
    (message: string, ...rest: unknown[]) =>
      lines.push([level, [message, ...rest]]);
  const logger: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  return { logger, lines, text: () => JSON.stringify(lines) };
}

const JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJhayJ9.c2lnbmF0dXJlLWJ5dGVz";

describe("createLog levels", () => {
  it.each([
    ["debug", ["debug", "info", "warn", "error"]],
    ["info", ["info", "warn", "error"]],
    ["warn", ["warn", "error"]],
    ["error", ["error"]],
    ["off", []],
  ] as const)("level %s writes %j", (level, expected) => {
    const { logger, lines } = recorder();
    const log = createLog(logger, level, []);
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    expect(lines.map(([at]) => at)).toEqual(expected);
    expect(log.enabled("debug")).toBe(expected.includes("debug" as never));
    expect(log.level).toBe(level);
  });

  it("survives a throwing logger", () => {
    const boom = () => {
      throw new Error("logger broke");
    };
    const log = createLog({ debug: boom, info: boom, warn: boom, error: boom }, "debug", []);
    expect(() => log.error("x")).not.toThrow();
  });
});

describe("createLog redaction", () => {
  it("removes registered secrets, bearer tokens and JWTs from messages and arguments", () => {
    const { logger, text } = recorder();
    const log = createLog(logger, "debug", ["sk-live-123456", "secret-key-abc"]);
    log.warn("key sk-live-123456 and Authorization: Bearer some.opaque-token", "secret-key-abc", {
      auth: `Bearer ${JWT}`,
    });
    log.error(`token ${JWT} here`, new Error(`bad key sk-live-123456`), 42, null);
    const out = text();
    expect(out).not.toContain("sk-live-123456");
    expect(out).not.toContain("secret-key-abc");
    expect(out).not.toContain("some.opaque-token");
    expect(out).not.toContain(JWT.split(".")[2]);
    expect(out).toContain("[redacted]");
    expect(out).toContain("42");
  });

  it("removes a longer secret whole even when it contains a shorter one", () => {
    const log = createLog(recorder().logger, "debug", ["abcdefgh", "abcdefgh-ijkl"]);
    expect(log.redact("x abcdefgh-ijkl y abcdefgh")).toBe("x [redacted] y [redacted]");
  });

  it("redacts a configured credential however short it is (a 5-character key is still the key)", () => {
    const log = createLog(recorder().logger, "debug", ["sk-x9"]);
    expect(log.redact("quota of key sk-x9 exceeded")).toBe("quota of key [redacted] exceeded");
  });

  it("leaves ordinary text, hostnames and paths alone", () => {
    const log = createLog(recorder().logger, "debug", ["s3cr3t-key"]);
    const line = "GET /v1/audio/video-to-audio/866889456698785798 on api.deerapi.com 200 in 12 ms";
    expect(log.redact(line)).toBe(line);
  });

  it("ignores empty secrets instead of redacting everything", () => {
    const log = createLog(recorder().logger, "debug", [""]);
    expect(log.redact("hello")).toBe("hello");
  });
});

describe("parseLogLevel", () => {
  it.each([
    ["debug", "debug"],
    ["INFO", "info"],
    [" warn ", "warn"],
    ["warning", "warn"],
    ["error", "error"],
    ["off", "off"],
    ["silent", "off"],
    ["none", "off"],
    ["verbose", undefined],
    ["", undefined],
    [undefined, undefined],
    ["toString", undefined],
    ["constructor", undefined],
  ] as const)("%j → %j", (value, level) => {
    expect(parseLogLevel(value)).toBe(level);
  });
});
