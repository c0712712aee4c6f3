// The server answered with an error status or a non-zero Kling `code`: what it said, and what to do next.
import { KlingError, type KlingErrorOptions } from "./KlingError.js";

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
}

/** What each documented code means and what the caller should do about it. */
const CODES: Record<number, readonly [happened: string, next: string]> = {
  1000: ["authentication failed", "check the API key (or the access and secret keys)"],
  1001: ["the Authorization header was empty", "pass apiKey (or accessKey and secretKey), or set KLING_V2A_API_KEY"],
  1002: ["the Authorization header was invalid", "check the API key (or the access and secret keys) and the base URL"],
  1003: ["the token is not valid yet", "check the machine clock, then the access and secret keys"],
  1004: ["the token has expired", "check the machine clock, then the access and secret keys"],
  1100: ["the account is in an abnormal state", "check the account in the Kling console or contact support"],
  1101: ["the account is in arrears", "settle the account balance, then retry"],
  1102: ["the resource pack is used up or expired", "recharge or buy a resource pack, then retry"],
  1103: ["the key has no permission for this API or model", "enable this API/model for the account, or use another key"],
  1200: ["the request was invalid", "fix the request"],
  1201: ["a parameter was invalid", "fix the parameter named in the message"],
  1202: ["the method or path is not supported", "check the base URL and the path"],
  1203: ["the resource was not found", "check the task id and the base URL"],
  1300: ["the request breaks platform policy", "change the input"],
  1301: ["the content safety check rejected the input", "change the video or the prompts"],
  1302: ["requests are arriving too fast", "slow down; the SDK retries with backoff"],
  1303: ["too many tasks are running for the account's resource pack", "wait for some to finish"],
  1304: ["this IP address is not on the key's allow list", "add it in the Kling console"],
  5000: ["the server failed internally", "retry later"],
  5001: ["the service is unavailable (maintenance)", "retry later"],
  5002: ["the server timed out (backlog)", "retry later"],
};

function byStatus(status: number): readonly [string, string] {
  if (status === 401) return ["authentication failed", "check the API key (or the access and secret keys)"];
  if (status === 403) return ["access was denied", "check the key's permissions"];
  if (status === 404) return ["the path or resource was not found", "check the base URL and the id"];
  if (status === 429) return ["the server is rate limiting", "slow down, then retry"];
  if (status >= 500) return ["the server failed", "retry later"];
  if (status >= 400) return ["the request was rejected", "fix the request"];
  return ["the server reported an error", "check the message"];
}

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
    const [happened, next] = (options.code !== undefined && CODES[options.code]) || byStatus(options.status);
    const ids = [
      options.code !== undefined ? `code ${options.code}` : undefined,
      `HTTP ${options.status}`,
      options.requestId ? `request_id ${options.requestId}` : undefined,
    ].filter(Boolean);
    const said = serverMessage.trim() ? `${serverMessage.trim().replace(/[.\s]+$/, "")}: ` : "";
    super(`${said}${happened} (${ids.join(", ")}). Next: ${next}.`, options);
    this.status = options.status;
    this.code = options.code;
    this.requestId = options.requestId;
    this.retryable = options.retryable ?? false;
    this.serverMessage = serverMessage;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}
