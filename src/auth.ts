// Credentials to an Authorization header: a static API key, or Kling's JWT (jwt.ts, loaded on first use).
import { KlingError, KlingValidationError } from "./errors.js";
import { onFirstUse } from "./options.js";

export interface Credentials {
  /**
   * Sent as `Authorization: Bearer <apiKey>`; wins over `accessKey`/`secretKey` when both are given. @default undefined
   */
  apiKey?: string | undefined;
  /** Kling access key: the JWT's `iss`. Needs `secretKey`. @default undefined */
  accessKey?: string | undefined;
  /** Kling secret key: signs the JWT (HMAC SHA-256). Needs `accessKey`. @default undefined */
  secretKey?: string | undefined;
}

export interface Authorizer {
  /** The `Authorization` value (`Bearer …`), or `undefined` when no credentials were given. */
  authorization(): Promise<string | undefined>;
  /**
   * The same value when it never changes (an API key, or none), so a request need not await it; `undefined` for a JWT.
   */
  readonly header: string | undefined;
  /** Drops the cached JWT so the next call signs a fresh one (after codes 1003/1004). No-op for API keys. */
  renew(): void;
  /** Whether the header is a JWT signed from access/secret keys (and so can be renewed). */
  readonly usesJwt: boolean;
  /** The raw secrets, for log and error redaction. */
  readonly secrets: string[];
}

/**
 * An authorizer for the given credentials. An `apiKey` is preferred when both it and an access/secret pair
 * are given (gateways such as DeerAPI take only API keys). Empty strings count as not given. Exactly one of
 * `accessKey`/`secretKey` throws `KlingValidationError` naming the missing one.
 */
export function createAuthorizer(credentials: Credentials, now: () => number = () => Date.now()): Authorizer {
  const apiKey = credentials.apiKey || undefined;
  const accessKey = credentials.accessKey || undefined;
  const secretKey = credentials.secretKey || undefined;
  if (accessKey && !secretKey) {
    throw new KlingValidationError(
      "secretKey",
      "accessKey was given without secretKey: pass both (Kling's JWT auth), or an apiKey instead.",
    );
  }
  if (secretKey && !accessKey) {
    throw new KlingValidationError(
      "accessKey",
      "secretKey was given without accessKey: pass both (Kling's JWT auth), or an apiKey instead.",
    );
  }
  const secrets = [apiKey, accessKey, secretKey].filter((s): s is string => s !== undefined);

  if (apiKey || !accessKey || !secretKey) {
    const header = apiKey ? `Bearer ${apiKey}` : undefined;
    return { header, authorization: async () => header, renew() {}, usesJwt: false, secrets };
  }

  // The signing code is loaded on first use: apps on API keys (and their browser bundles) never load it. The load is
  // shared, so concurrent first callers share one signer (and so one signing).
  const signer = onFirstUse(() => import("./jwt.js").then((jwt) => jwt.createJwtSigner(accessKey, secretKey, now)));
  return {
    header: undefined,
    async authorization() {
      if (!globalThis.crypto?.subtle) {
        throw new KlingError(
          "WebCrypto (crypto.subtle) is not available here, so the access/secret key JWT cannot be signed. Use an " +
            "apiKey, or run in a secure context (HTTPS).",
        );
      }
      return (signer.loaded ?? (await signer.get())).authorization();
    },
    renew() {
      signer.loaded?.renew();
    },
    usesJwt: true,
    secrets,
  };
}
