// Authorization headers: API keys as they are, JWTs signed, cached, renewed and verified independently with
// node:crypto.
import { createHmac } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { createAuthorizer } from "../../src/auth.js";
import { KlingValidationError } from "../../src/errors.js";
import { signJwt } from "../../src/jwt.js";

const AK = "ak-test-123";
const SK = "sk-test-secret-456";

function decode(part: string): unknown {
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
}

/** Verifies an HS256 JWT without the code under test. */
function verify(
  token: string,
  secret: string,
): { header: unknown; payload: { iss: string; exp: number; nbf: number } } {
  const [header, payload, signature] = token.split(".");
  if (!header || !payload || !signature) throw new Error("not a JWT");
  const expected = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
  if (expected !== signature) throw new Error("bad signature");
  return { header: decode(header), payload: decode(payload) as { iss: string; exp: number; nbf: number } };
}

describe("signJwt", () => {
  it("signs HS256 with iss, exp = now + 1800 and nbf = now - 5, base64url without padding", async () => {
    const token = await signJwt(AK, SK, 1_700_000_000);
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const { header, payload } = verify(token, SK);
    expect(header).toEqual({ alg: "HS256", typ: "JWT" });
    expect(payload).toEqual({ iss: AK, exp: 1_700_001_800, nbf: 1_699_999_995 });
  });

  it("fails verification with another secret", async () => {
    const token = await signJwt(AK, SK, 1_700_000_000);
    expect(() => verify(token, "other")).toThrow("bad signature");
  });

  it("handles non-ASCII keys", async () => {
    const token = await signJwt("ключ", "秘密", 1);
    expect(verify(token, "秘密").payload.iss).toBe("ключ");
  });
});

describe("createAuthorizer", () => {
  it("gives no header without credentials", async () => {
    const auth = createAuthorizer({});
    expect(await auth.authorization()).toBeUndefined();
    expect(auth.usesJwt).toBe(false);
    expect(auth.secrets).toEqual([]);
  });

  it("sends an API key as a bearer token", async () => {
    const auth = createAuthorizer({ apiKey: "key-1" });
    expect(await auth.authorization()).toBe("Bearer key-1");
    expect(auth.usesJwt).toBe(false);
    expect(auth.secrets).toEqual(["key-1"]);
  });

  it("prefers the API key when both kinds are given", async () => {
    const auth = createAuthorizer({ apiKey: "key-1", accessKey: AK, secretKey: SK });
    expect(await auth.authorization()).toBe("Bearer key-1");
    expect(auth.usesJwt).toBe(false);
    expect(auth.secrets).toEqual(expect.arrayContaining(["key-1", AK, SK]));
  });

  it("treats empty strings as not given", async () => {
    const auth = createAuthorizer({ apiKey: "", accessKey: AK, secretKey: SK });
    expect(auth.usesJwt).toBe(true);
  });

  it.each([
    [{ accessKey: AK }, "secretKey"],
    [{ secretKey: SK }, "accessKey"],
    [{ apiKey: "k", accessKey: AK }, "secretKey"],
  ])("rejects half a key pair %j (field %s)", (credentials, field) => {
    const error = (() => {
      try {
        createAuthorizer(credentials);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(KlingValidationError);
    expect((error as KlingValidationError).field).toBe(field);
    expect(String((error as Error).message)).not.toContain(SK);
  });

  it("signs a JWT from the clock it is given, and registers both keys as secrets", async () => {
    const auth = createAuthorizer({ accessKey: AK, secretKey: SK }, () => 1_700_000_000_500);
    const header = await auth.authorization();
    expect(header).toMatch(/^Bearer /);
    const { payload } = verify(header!.slice(7), SK);
    expect(payload).toEqual({ iss: AK, exp: 1_700_001_800, nbf: 1_699_999_995 });
    expect(auth.usesJwt).toBe(true);
    expect(auth.secrets).toEqual([AK, SK]);
  });

  it("caches the token until fewer than 60 s remain, then signs again", async () => {
    let now = 1_700_000_000_000;
    const auth = createAuthorizer({ accessKey: AK, secretKey: SK }, () => now);
    const first = await auth.authorization();
    now += 1000 * (1800 - 61);
    expect(await auth.authorization()).toBe(first);
    now += 2000;
    const second = await auth.authorization();
    expect(second).not.toBe(first);
    expect(verify(second!.slice(7), SK).payload.exp).toBe(Math.floor(now / 1000) + 1800);
  });

  it("renew() drops the cached token", async () => {
    let now = 1_700_000_000_000;
    const auth = createAuthorizer({ accessKey: AK, secretKey: SK }, () => now);
    const first = await auth.authorization();
    now += 1000;
    auth.renew();
    const second = await auth.authorization();
    expect(second).not.toBe(first);
    expect(verify(second!.slice(7), SK).payload.nbf).toBe(1_700_000_001 - 5);
  });

  it("shares one signing between concurrent callers", async () => {
    const sign = vi.spyOn(globalThis.crypto.subtle, "sign");
    try {
      const auth = createAuthorizer({ accessKey: AK, secretKey: SK }, () => 1_700_000_000_000);
      const headers = await Promise.all([auth.authorization(), auth.authorization(), auth.authorization()]);
      expect(new Set(headers).size).toBe(1);
      expect(sign).toHaveBeenCalledTimes(1);
    } finally {
      sign.mockRestore();
    }
  });

  it("renew() is a no-op for API keys", async () => {
    const auth = createAuthorizer({ apiKey: "key-1" });
    auth.renew();
    expect(await auth.authorization()).toBe("Bearer key-1");
  });
});
