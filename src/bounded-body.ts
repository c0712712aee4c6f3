// Reads an answer body as text with a byte limit, so an over-long or endless body cannot fill memory.
import { ReadLimitError, readLimited } from "./read-limited.js";

/**
 * The most bytes of an answer body the SDK (and the proxy) reads: 4 MiB. A task, even a list page of 500, is a few
 * hundred kB at most, so anything larger is a broken server or gateway, and reading on would only fill memory.
 */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/**
 * The body's text, read at most to `limit` bytes (else `ReadLimitError`). A platform fetch frames the body by its
 * `Content-Length`, so a declared length within the limit is read in one go (the fast path); a longer declared length
 * is refused unread; a body without one (chunked, or compressed, whose decoded size is unknown) is counted as it comes.
 */
export async function readBoundedText(response: Response, limit: number, trustLength: boolean): Promise<string> {
  const declared = response.headers.get("content-length");
  const length = declared === null ? Number.NaN : Number(declared);
  if (Number.isFinite(length) && length > limit) {
    await response.body?.cancel().catch(() => {});
    throw new ReadLimitError(limit, length);
  }
  if (trustLength && Number.isFinite(length) && !response.headers.has("content-encoding")) return response.text();
  return new TextDecoder().decode(await readLimited(response.body, limit));
}
