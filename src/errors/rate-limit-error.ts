// KlingRateLimitError: too many requests or running tasks (codes 1302, 1303, a bare 429; retried with backoff).
import { KlingApiError } from "./api-error.js";

/** API error: too many requests or running tasks (codes 1302, 1303, a bare 429; retried with backoff). */
export class KlingRateLimitError extends KlingApiError {
  override readonly name: string = "KlingRateLimitError";
}
