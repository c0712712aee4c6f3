// KlingApiError: the server answered with an error status or a non-zero Kling code.
import { KlingError, type KlingErrorOptions } from "./kling-error.js";

export interface KlingApiErrorOptions extends KlingErrorOptions {
  /** The HTTP status of the answer (200 when a 200 carried a non-zero `code`). */
  status: number;
  /** Kling's business code, when the body had a numeric one. @default undefined */
  code?: number | undefined;
  /** The server's own message (`message` of the envelope). @default "" */
  message?: string | undefined;
  /** The envelope's `request_id`, or the `x-request-id` header. @default undefined */
  requestId?: string | undefined;
  /** Whether the SDK's retry table retries this answer. @default false */
  retryable?: boolean;
  /** The delay the server asked for (`Retry-After` / `retry-after-ms`), in ms. @default undefined */
  retryAfterMs?: number | undefined;
  /**
   * What happened and what to do next, for the message. Answers from the server get the code's or the status's words
   * (from-answer.ts); an error made by hand without them says only that the server reported an error.
   * @default ["the server reported an error", "check the message"]
   */
  guidance?: readonly [happened: string, next: string] | undefined;
}

/** The server answered with an error status or a non-zero Kling `code`: what it said, and what to do next. */
export class KlingApiError extends KlingError {
  override readonly name: string = "KlingApiError";
  /** The HTTP status (200 when a 200 carried a non-zero `code`). */
  readonly status: number;
  /** Kling's business code, if the body had one. */
  readonly code: number | undefined;
  /** The request's trace id: quote it to support. */
  readonly requestId: string | undefined;
  /** Whether the SDK's retry table retries this answer. */
  readonly retryable: boolean;
  /** The server's own message, unchanged. */
  readonly serverMessage: string;
  /** The delay the server asked for before a retry, in ms. */
  declare readonly retryAfterMs?: number;

  constructor(options: KlingApiErrorOptions) {
    const serverMessage = options.message ?? "";
    // A hostile or broken server can send megabytes: the message quotes a readable part, `serverMessage` keeps all.
    const quoted = clip(serverMessage.trim(), 1000);
    const [happened, next] = options.guidance ?? ["the server reported an error", "check the message"];
    const ids = [
      options.code !== undefined ? `code ${options.code}` : undefined,
      `HTTP ${options.status}`,
      options.requestId ? `request_id ${options.requestId}` : undefined,
    ].filter(Boolean);
    const said = quoted ? `${quoted.replace(/[.\s]+$/, "")}: ` : "";
    super(`${said}${happened} (${ids.join(", ")}). Next: ${next}.`, options);
    this.status = options.status;
    this.code = options.code;
    this.requestId = options.requestId;
    this.retryable = options.retryable ?? false;
    this.serverMessage = serverMessage;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** `text` cut to `max` characters, marked where it was cut. */
function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}
