// generated/facts.ts: the code table and limits come from the spec, and the generator refuses a spec that says them
// badly.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CODES } from "../../generated/facts.js";
import { GUIDANCE } from "../../generated/guidance.js";
import { LIMITS } from "../../generated/limits.js";
import { VIDEO_LIMITS } from "../../generated/video-limits.js";
import { generateFacts } from "../../scripts/generate-facts.js";
import { KlingAccountError, KlingRateLimitError, KlingServerError } from "../../src/errors.js";
import { apiErrorFrom, isRetryable } from "../../src/request/failure.js";

const spec = readFileSync(new URL("../../openapi/openapi.yaml", import.meta.url), "utf8");

function variant(edit: (text: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), "kling-facts-"));
  writeFileSync(join(dir, "openapi.yaml"), edit(spec));
  return join(dir, "openapi.yaml");
}

describe("the facts src reads from the spec", () => {
  it("every code of the table has its HTTP status from the example it is answered with", () => {
    expect(Object.keys(CODES)).toHaveLength(21);
    expect(CODES[1303]).toMatchObject({ status: 429, category: "rate_limit", retryable: true, concurrencyLimit: true });
    expect(CODES[1102]).toMatchObject({ status: 429, category: "account", retryable: false });
    expect(CODES[5001]).toMatchObject({ status: 503, retryable: true, ambiguous: true });
    expect(LIMITS).toMatchObject({ promptMaxLength: 200, pageNumMax: 1000, pageSizeMax: 500, pageSizeDefault: 30 });
  });

  it("the SDK's decisions follow the table: class, retry, message", () => {
    expect(apiErrorFrom({ status: 429, code: 1303 })).toBeInstanceOf(KlingRateLimitError);
    expect(apiErrorFrom({ status: 429, code: 1102 })).toBeInstanceOf(KlingAccountError);
    expect(apiErrorFrom({ status: 503, code: 5001 })).toBeInstanceOf(KlingServerError);
    for (const [code, fact] of Object.entries(CODES))
      expect(isRetryable(fact.status, Number(code))).toBe(fact.retryable);
    expect(apiErrorFrom({ status: 401, code: 1001 }).message).toContain(GUIDANCE[1001]![1]);
  });

  it("refuses a table entry cut in two by an unquoted comma (a YAML flow-mapping trap)", () => {
    const path = variant((t) =>
      t.replace('next: "settle the account balance, then retry"', "next: settle the account balance, then retry"),
    );
    expect(() => generateFacts(path).facts).toThrow(/unknown keys then retry/);
  });

  it("refuses a code with no example, and an example whose code the table does not describe", () => {
    expect(() =>
      generateFacts(
        variant((t) =>
          t.replace(
            /^ {2}1304: .*$/m,
            '$&\n  1305: { category: permission, retryable: false, ambiguous: false, happened: "x", next: "y" }',
          ),
        ),
      ),
    ).toThrow(/1305/);
    expect(() => generateFacts(variant((t) => t.replace(/^ {2}1304: .*\n/m, "")))).toThrow(/1304/);
  });

  it("the video limits the preflight checks by come from video_url's x-kling-video", () => {
    expect(VIDEO_LIMITS).toEqual({
      containers: ["mp4", "mov"],
      maxBytes: 100 * 1024 * 1024,
      minDurationSec: 3,
      maxDurationSec: 20,
      gatewayShortSides: [720, 1080],
    });
    expect(generateFacts(variant((t) => t.replace("maxDurationSec: 20", "maxDurationSec: 25"))).videoLimits).toContain(
      "maxDurationSec: 25,",
    );
    expect(() => generateFacts(variant((t) => t.replace("minDurationSec: 3", "minDurationSec: 30")))).toThrow(
      /x-kling-video needs/,
    );
    expect(() => generateFacts(variant((t) => t.replace("x-kling-video:", "x-kling-vid:")))).toThrow(
      /no x-kling-video/,
    );
  });
});
