// verifyCallback's edges, through the ./callbacks entry: a bounded body read, a malformed timestamp, typed options.
import { describe, expect, it } from "vitest";
import {
  KlingCallbackError,
  type KlingCallbackErrorReason,
  signCallback,
  verifyCallback,
} from "../../src/callbacks.js";
import { KlingValidationError } from "../../src/errors.js";

const SECRET = `whsec_${Buffer.from("a-secret-for-callback-bounds").toString("base64")}`;
const NOW_S = 1764024390;
const now = () => NOW_S * 1000;
const BODY = JSON.stringify({ task_id: "866889456698785798", task_status: "succeed" });
const CHUNK = 64 * 1024;

async function reasonOf(promise: Promise<unknown>): Promise<KlingCallbackErrorReason | string> {
  try {
    await promise;
    return "accepted";
  } catch (error) {
    return error instanceof KlingCallbackError ? error.reason : `${(error as Error).name}: ${(error as Error).message}`;
  }
}

/** A body of `total` bytes streamed in 64 kB chunks, counting what was pulled and whether it was cancelled. */
function countingStream(total: number) {
  const seen = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (seen.pulled >= total) return controller.close();
      seen.pulled += CHUNK;
      controller.enqueue(new Uint8Array(CHUNK).fill(0x20));
    },
    cancel() {
      seen.cancelled = true;
    },
  });
  return { stream, seen };
}

async function signedHeaders(body = BODY, timestamp = NOW_S): Promise<Record<string, string>> {
  return signCallback(body, { secret: SECRET, id: "msg_bounds1", timestamp });
}

describe("verifyCallback reads at most maxBodyBytes", () => {
  it("refuses a streamed body past the limit without reading the rest (memory stays bounded)", async () => {
    const { stream, seen } = countingStream(64 * 1024 * 1024);
    const request = new Request("https://hooks.test/kling", {
      method: "POST",
      headers: await signedHeaders(),
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(await reasonOf(verifyCallback(request, { secret: SECRET, now, maxBodyBytes: 256 * 1024 }))).toBe(
      "body_too_large",
    );
    // Read up to the limit and a chunk past it, then cancelled: 64 MB offered, about 320 kB taken.
    expect(seen.pulled).toBeLessThanOrEqual(256 * 1024 + 2 * CHUNK);
    expect(seen.cancelled).toBe(true);
  });

  it("refuses a body whose Content-Length is over the limit before reading any of it", async () => {
    const { stream, seen } = countingStream(4 * 1024 * 1024);
    const request = new Request("https://hooks.test/kling", {
      method: "POST",
      headers: { ...(await signedHeaders()), "content-length": String(4 * 1024 * 1024) },
      body: stream,
      duplex: "half",
    } as RequestInit);
    const error = await verifyCallback(request, { secret: SECRET, now }).catch((caught: unknown) => caught);
    expect((error as KlingCallbackError).reason).toBe("body_too_large");
    expect((error as Error).message).toContain("4194304 bytes, over maxBodyBytes (1048576)");
    // A stream may have buffered its first chunk ahead of any read; nothing more was asked for.
    expect(seen.pulled).toBeLessThanOrEqual(CHUNK);
    expect(seen.cancelled).toBe(true);
  });

  it("defaults to 1 MiB, for a Request and for a raw body alike", async () => {
    const big = " ".repeat(1024 * 1024) + BODY;
    const headers = await signedHeaders(big);
    const request = new Request("https://hooks.test/kling", { method: "POST", headers, body: big });
    expect(await reasonOf(verifyCallback(request, { secret: SECRET, now }))).toBe("body_too_large");
    expect(await reasonOf(verifyCallback({ headers, body: big }, { secret: SECRET, now }))).toBe("body_too_large");
  });

  it("takes a body of exactly maxBodyBytes, and refuses one byte more", async () => {
    const headers = await signedHeaders();
    const size = Buffer.byteLength(BODY);
    const request = (body: string) => new Request("https://hooks.test/kling", { method: "POST", headers, body });
    await expect(verifyCallback(request(BODY), { secret: SECRET, now, maxBodyBytes: size })).resolves.toMatchObject({
      task_id: "866889456698785798",
    });
    expect(await reasonOf(verifyCallback(request(BODY), { secret: SECRET, now, maxBodyBytes: size - 1 }))).toBe(
      "body_too_large",
    );
    expect(
      await reasonOf(verifyCallback({ headers, body: BODY }, { secret: SECRET, now, maxBodyBytes: size - 1 })),
    ).toBe("body_too_large");
  });
});

describe("verifyCallback's timestamp reasons", () => {
  it.each(["abc", "0x10", "1e3", "", " ", "12.5", "-5", "+1764024390", "1764024390 1764024390", "1".repeat(16)])(
    "a webhook-timestamp of %j is invalid_timestamp",
    async (value) => {
      const headers = { ...(await signedHeaders()), "webhook-timestamp": value };
      expect(await reasonOf(verifyCallback({ headers, body: BODY }, { secret: SECRET, now }))).toBe(
        "invalid_timestamp",
      );
      const request = new Request("https://hooks.test/kling", { method: "POST", headers, body: BODY });
      expect(await reasonOf(verifyCallback(request, { secret: SECRET, now }))).toBe("invalid_timestamp");
    },
  );

  it("an absent header is missing_headers; a stale timestamp keeps timestamp_out_of_tolerance", async () => {
    const { "webhook-timestamp": _dropped, ...unsigned } = await signedHeaders();
    expect(await reasonOf(verifyCallback({ headers: unsigned, body: BODY }, { secret: SECRET, now }))).toBe(
      "missing_headers",
    );
    const stale = await signedHeaders(BODY, NOW_S - 301);
    expect(await reasonOf(verifyCallback({ headers: stale, body: BODY }, { secret: SECRET, now }))).toBe(
      "timestamp_out_of_tolerance",
    );
  });

  it.each(["webhook-id", "webhook-signature"])("an empty %s is present: invalid_signature", async (name) => {
    const headers = { ...(await signedHeaders()), [name]: "" };
    expect(await reasonOf(verifyCallback({ headers, body: BODY }, { secret: SECRET, now }))).toBe("invalid_signature");
  });
});

describe("verifyCallback's numeric options are checked, their type shown", () => {
  it.each([
    ["toleranceSec", "300", 'string "300"'],
    ["toleranceSec", Number.NaN, "NaN"],
    ["toleranceSec", -1, "-1"],
    ["maxBodyBytes", "1048576", 'string "1048576"'],
    ["maxBodyBytes", Number.POSITIVE_INFINITY, "Infinity"],
    ["maxBodyBytes", -1, "-1"],
  ] as const)("%s: %j is refused, shown as %s", async (field, value, shown) => {
    const error = await verifyCallback(
      { headers: await signedHeaders(), body: BODY },
      { secret: SECRET, now, [field]: value as unknown as number },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KlingValidationError);
    expect((error as KlingValidationError).field).toBe(field);
    expect((error as Error).message).toContain(`not ${shown}.`);
  });
});
