// Owner scoping: the external_task_id the proxy stores is an HMAC tag of the caller's owner, a dot, then the browser's
// own id.
import { KlingValidationError } from "../errors.js";
import { base64url } from "../jwt.js";
import { checkTaskId } from "../request/input.js";

/** Characters of the owner tag: 12 bytes of HMAC-SHA256 (96 bits), base64url without padding. */
const OWNER_TAG_LENGTH = 16;
/**
 * The longest external_task_id the proxy stores. Kling documents no limit; 64 is a margin that ids of this shape
 * (16-character tag, a dot, the browser's id) always fit.
 */
const MAX_STORED_ID_LENGTH = 64;
/**
 * The longest `external_task_id` a browser may send through the proxy: what is left of 64 after the tag and the dot.
 */
export const MAX_BROWSER_ID_LENGTH = MAX_STORED_ID_LENGTH - OWNER_TAG_LENGTH - 1;
/** Domain separation: the HMAC key (often the API key) signs nothing else with this label. */
const LABEL = "kling-video-to-audio/proxy/owner-tag/v1\u0000";

export interface OwnerScope {
  /** The caller's tag: the same for the same owner and secret, on every instance; unguessable without the secret. */
  tag(owner: string): Promise<string>;
}

/** Owner tags keyed by `secret` (an explicit `ownerSecret`, else the server's secret key or API key). */
export function createOwnerScope(secret: string): OwnerScope {
  const encoder = new TextEncoder();
  let key: Promise<CryptoKey> | undefined;
  // WebCrypto's HMAC refuses an empty key; a proxy without credentials (a local mock) still gets stable tags.
  const keyBytes = encoder.encode(secret === "" ? LABEL : secret);
  return {
    async tag(owner) {
      key ??= globalThis.crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      const mac = new Uint8Array(await globalThis.crypto.subtle.sign("HMAC", await key, encoder.encode(LABEL + owner)));
      return base64url(mac.subarray(0, 12));
    },
  };
}

/** The id stored upstream for a browser's id: the tag's fixed length makes the pair unambiguous. */
export function storedId(tag: string, browserId: string): string {
  return `${tag}.${browserId}`;
}

/** The browser's id inside a stored id, or `undefined` when the stored id is not this tag's (another owner's task). */
export function browserIdOf(tag: string, stored: unknown): string | undefined {
  if (typeof stored !== "string" || !stored.startsWith(`${tag}.`)) return undefined;
  const id = stored.slice(tag.length + 1);
  return id === "" ? undefined : id;
}

/** Throws KlingValidationError (`external_task_id`) for an id the proxy cannot store within its limits. */
export function checkBrowserId(id: string): string {
  if (id.length > MAX_BROWSER_ID_LENGTH) {
    throw new KlingValidationError(
      "external_task_id",
      `external_task_id is ${id.length} characters long; through this proxy it takes at most ${MAX_BROWSER_ID_LENGTH}.`,
    );
  }
  // The client's rule for ids in a path: a browser id must also work as the id of a get.
  return checkTaskId(id, "external_task_id");
}

/** Whether `id` could be a browser's id, so a get by it may mean the caller's external_task_id. */
export function isBrowserId(id: string): boolean {
  try {
    checkBrowserId(id);
    return true;
  } catch {
    return false;
  }
}
