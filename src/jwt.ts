// Kling's JWT: HS256 over the access key, signed with WebCrypto and cached; loaded by auth.ts only when access/secret
// keys are used.

/** Life of a signed token, per Kling's docs. */
const TOKEN_LIFE_SEC = 1800;
/** `nbf` slack for clocks slightly ahead of Kling's. */
const NOT_BEFORE_SKEW_SEC = 5;
/** Re-sign when fewer than this many seconds remain, so a token never expires in flight. */
const RENEW_BEFORE_SEC = 60;

/** A cached token and its renewal. */
export interface JwtSigner {
  /** `Bearer <token>`, signed afresh when the cached one has under a minute left. */
  authorization(): Promise<string>;
  /** Drops the cached token so the next call signs a fresh one (after codes 1003/1004). */
  renew(): void;
}

/** Signs tokens for the key pair on demand; concurrent callers share one signing instead of each signing its own. */
export function createJwtSigner(accessKey: string, secretKey: string, now: () => number): JwtSigner {
  let cached: { header: string; expSec: number } | undefined;
  let pending: Promise<string> | undefined;
  const sign = async (): Promise<string> => {
    const nowSec = Math.floor(now() / 1000);
    const header = `Bearer ${await signJwt(accessKey, secretKey, nowSec)}`;
    cached = { header, expSec: nowSec + TOKEN_LIFE_SEC };
    return header;
  };
  return {
    async authorization() {
      if (cached && cached.expSec - now() / 1000 > RENEW_BEFORE_SEC) return cached.header;
      const current = pending ?? sign();
      pending = current;
      try {
        return await current;
      } finally {
        if (pending === current) pending = undefined;
      }
    },
    renew() {
      cached = undefined;
      pending = undefined;
    },
  };
}

/**
 * Kling's JWT: HS256 over `{iss, exp: nowSec + 1800, nbf: nowSec - 5}`, base64url without padding. Needs WebCrypto
 * (`crypto.subtle`), which auth.ts checks for before it loads this module.
 */
export async function signJwt(accessKey: string, secretKey: string, nowSec: number): Promise<string> {
  const { subtle } = globalThis.crypto;
  const encoder = new TextEncoder();
  const header = base64url(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const payload = base64url(
    encoder.encode(JSON.stringify({ iss: accessKey, exp: nowSec + TOKEN_LIFE_SEC, nbf: nowSec - NOT_BEFORE_SKEW_SEC })),
  );
  const key = await subtle.importKey("raw", encoder.encode(secretKey), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const signature = await subtle.sign("HMAC", key, encoder.encode(`${header}.${payload}`));
  return `${header}.${payload}.${base64url(new Uint8Array(signature))}`;
}

/** Bytes as base64url without padding (JWT parts; the proxy's owner tags). */
export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
