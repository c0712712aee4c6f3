// Bounded reads of answer bodies: at most a few MB, whatever the server sends or claims.

/** The body went past the limit; the stream was cancelled there, so nothing past `maxBytes` was kept. */
export class ReadLimitError extends Error {
  override readonly name = "ReadLimitError";
  constructor(
    /** The limit that was passed, in bytes. */
    readonly maxBytes: number,
    /** The length the body declared (`Content-Length`), when that alone was over the limit and nothing was read. */
    readonly declared?: number,
  ) {
    super(
      declared === undefined
        ? `The body is larger than ${maxBytes} bytes.`
        : `The body declares ${declared} bytes, more than ${maxBytes}.`,
    );
  }
}

export interface ReadLimitedOptions {
  /** Stops the read at once (the stream is cancelled) and rejects with the signal's reason. @default undefined */
  signal?: AbortSignal | undefined;
}

/**
 * The whole of `body` as bytes (empty for `null`). Counts while reading and cancels the stream as soon as the count
 * passes `maxBytes`, throwing `ReadLimitError`: a 50 MB upload costs at most `maxBytes` plus one chunk of memory.
 */
export async function readLimited(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  options: ReadLimitedOptions = {},
): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const { signal } = options;
  const reader = body.getReader();
  const stop = (reason: unknown) => {
    reader.cancel(reason).catch(() => {});
  };
  const onAbort = () => stop(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (signal?.aborted) throw signal.reason;
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await readOrAbort(reader, signal);
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        const error = new ReadLimitError(maxBytes);
        stop(error);
        throw error;
      }
      chunks.push(value);
    }
    return concat(chunks, total);
  } finally {
    signal?.removeEventListener("abort", onAbort);
    try {
      reader.releaseLock();
    } catch {
      // A read still pending after a cancel: the stream is done with either way.
    }
  }
}

/** One read, rejected with the signal's reason on abort even when the source never answers the cancel. */
function readOrAbort(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  signal: AbortSignal | undefined,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  if (!signal) return reader.read();
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    reader.read().then(
      (result) => {
        signal.removeEventListener("abort", onAbort);
        resolve(result);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

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
