// Reads an answer body as text with a byte limit, so an over-long or endless body cannot fill memory.

/**
 * The most bytes of an answer body the SDK reads: 4 MiB. A task (even a list page of 500) is a few hundred kB at
 * most, so anything larger is a broken server or gateway, and reading on would only fill memory.
 */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/** The body passed `limit` bytes: it was cancelled there, not read to the end. */
export class AnswerTooLargeError extends Error {
  override readonly name = "AnswerTooLargeError";
  constructor(readonly limit: number, readonly declared?: number) {
    super(declared !== undefined ? `the answer declares ${declared} bytes, over the ${limit}-byte limit` : `the answer went past the ${limit}-byte limit`);
  }
}

/**
 * The body's text, read at most to `limit` bytes. A platform fetch frames the body by its `Content-Length`, so a
 * declared length within the limit is read in one go (the fast path); a longer declared length is refused unread;
 * a body without one (chunked, or compressed, whose decoded size is unknown) is streamed and counted.
 */
export async function readBoundedText(response: Response, limit: number, trustLength: boolean): Promise<string> {
  const declared = response.headers.get("content-length");
  const length = declared === null ? Number.NaN : Number(declared);
  if (Number.isFinite(length) && length > limit) {
    await response.body?.cancel().catch(() => {});
    throw new AnswerTooLargeError(limit, length);
  }
  if (trustLength && Number.isFinite(length) && !response.headers.has("content-encoding")) return response.text();
  const body = response.body;
  if (!body) return response.text();
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    bytes += value.byteLength;
    if (bytes > limit) {
      await reader.cancel().catch(() => {});
      throw new AnswerTooLargeError(limit);
    }
    text += decoder.decode(value, { stream: true });
  }
}
