// The preflight's reads over HTTP: closed Range windows, a byte budget, one signal, what the server said of the file.

/** The most bytes one check reads over HTTP, whatever the file's size: headers sit in the first or last few KB. */
export const READ_BUDGET_BYTES = 4 * 1024 * 1024;

/**
 * The most bytes one request asks for. The parser asks for `bytes=N-` (to the end) and stops reading once it has what
 * it needs, but by then the server has already pushed megabytes into the socket's buffers: a closed range keeps what
 * the server sends close to what the parser reads. The parser asks again where it needs more.
 */
export const RANGE_WINDOW_BYTES = 512 * 1024;

/** The first bytes of the file kept for describing what it is when the parser does not know it (an HTML page). */
const SNIFF_BYTES = 64;

/** A check read its whole byte budget without the parser finding what it needs (no Range support, or an odd file). */
export class ReadBudgetSpent extends Error {
  override readonly name = "ReadBudgetSpent";
}

/** The connection failed or broke off (refused, reset, a body shorter than its `Content-Length`). */
export class SourceUnreadable extends Error {
  override readonly name = "SourceUnreadable";
}

/** The error for a failed network step, unless it failed because the check was aborted. */
function unreadable(error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted) return error;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const why = typeof cause?.code === "string" ? cause.code : typeof cause?.message === "string" ? cause.message : "";
  const message = error instanceof Error ? error.message : String(error);
  return new SourceUnreadable(why ? `${message} (${why})` : message, { cause: error });
}

/** The server answered with an HTTP error (403, 404, ...): the file cannot be read from here. */
export class HttpRefusal extends Error {
  override readonly name = "HttpRefusal";
  constructor(readonly status: number) {
    super(`the server answered HTTP ${status}`);
  }
}

/** What the server said about the file, and how many body bytes the check read. */
export interface ReadRecord {
  bytesRead: number;
  /** The file's size by `Content-Range` (a 206) or `Content-Length` (a 200): what Kling would be told too. */
  sizeBytes?: number | undefined;
  /** The first bytes of the file, when a response started at byte 0. */
  head: Uint8Array;
}

/**
 * A `fetch` for the parser's URL source that asks for at most {@link RANGE_WINDOW_BYTES} per request, refuses to go
 * past `budget` body bytes in all (the body errors with {@link ReadBudgetSpent}, which also ends a server that streams
 * forever), turns an HTTP error into {@link HttpRefusal}, and aborts everything when `signal` does.
 */
export function boundedFetch(
  base: typeof fetch,
  signal: AbortSignal,
  record: ReadRecord,
  budget = READ_BUDGET_BYTES,
): typeof fetch {
  return async (input, init) => {
    if (record.bytesRead >= budget)
      throw new ReadBudgetSpent(`read ${budget} bytes without finding the video's header`);
    const headers = new Headers(init?.headers);
    const start = closeRange(headers);
    // Sizes are only honest without a content coding (a gzip'd answer states the compressed length).
    headers.set("accept-encoding", "identity");
    const requestSignal = init?.signal ? AbortSignal.any([init.signal, signal]) : signal;
    const response = await base(input, { ...init, headers, signal: requestSignal }).catch((error: unknown) => {
      throw unreadable(error, signal);
    });
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw new HttpRefusal(response.status);
    }
    noteSize(response, record);
    // A server that ignores Range sends the file from byte 0: the bytes before `start` are skipped (and counted), and
    // the answer is handed on as the 206 the parser asked for, so it never falls back to streaming (nor logs that).
    const ignoredRange = response.status === 200 && headers.has("range");
    const body = response.body
      ? countedBody(response.body, record, {
          budget,
          signal,
          skip: ignoredRange ? start : 0,
          fromStart: response.status === 200 || start === 0,
        })
      : null;
    // The parser reads only these fields.
    return {
      ok: true,
      status: ignoredRange ? 206 : response.status,
      statusText: response.statusText,
      headers: ignoredRange ? partialHeaders(response.headers, start, record.sizeBytes) : response.headers,
      redirected: response.redirected,
      url: response.url,
      type: response.type,
      body,
    } as Response;
  };
}

/** A 200's headers as those of a 206 from `start`: the Content-Range says where the body starts and the file's size. */
function partialHeaders(headers: Headers, start: number, size: number | undefined): Headers {
  const partial = new Headers(headers);
  partial.delete("content-length");
  if (size !== undefined) partial.set("content-range", `bytes ${start}-${Math.max(start, size - 1)}/${size}`);
  return partial;
}

/** Turns `Range: bytes=N-` into `bytes=N-(N+window-1)`; returns N (0 when no range was asked). */
function closeRange(headers: Headers): number {
  const match = /^bytes=(\d+)-$/.exec(headers.get("range") ?? "");
  if (!match) return 0;
  const start = Number(match[1]);
  headers.set("range", `bytes=${start}-${start + RANGE_WINDOW_BYTES - 1}`);
  return start;
}

function noteSize(response: Response, record: ReadRecord): void {
  if (record.sizeBytes !== undefined || response.headers.has("content-encoding")) return;
  const total = /\/(\d+)\s*$/.exec(response.headers.get("content-range") ?? "")?.[1];
  const length = response.headers.get("content-length");
  if (response.status === 206 && total !== undefined) record.sizeBytes = Number(total);
  else if (response.status === 200 && length !== null && /^\d+$/.test(length)) record.sizeBytes = Number(length);
}

interface BodyLimits {
  budget: number;
  signal: AbortSignal;
  /** Bytes to drop from the start of the body (a server that ignored Range sent them). */
  skip: number;
  /** Whether the body starts at the file's byte 0 (its first bytes are kept in `record.head`). */
  fromStart: boolean;
}

/** The body, counted into `record.bytesRead`; past `budget` it errors (and the request is cancelled). */
function countedBody(
  body: ReadableStream<Uint8Array>,
  record: ReadRecord,
  limits: BodyLimits,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (true) {
        const { done, value } = await reader.read().catch((error: unknown) => {
          throw unreadable(error, limits.signal);
        });
        if (done) return controller.close();
        if (limits.fromStart && offset < SNIFF_BYTES && record.head.length === offset) {
          record.head = new Uint8Array([...record.head, ...value.subarray(0, SNIFF_BYTES - offset)]);
        }
        offset += value.length;
        record.bytesRead += value.length;
        if (record.bytesRead > limits.budget) {
          await reader.cancel().catch(() => {});
          controller.error(new ReadBudgetSpent(`read ${limits.budget} bytes without finding the video's header`));
          return;
        }
        const skipped = Math.max(0, Math.min(value.length, limits.skip - (offset - value.length)));
        if (skipped === value.length) continue;
        controller.enqueue(skipped > 0 ? value.subarray(skipped) : value);
        return;
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
