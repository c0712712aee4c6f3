// KlingServerError: the server failed (HTTP 5xx, codes 5000-5002; retried).
import { KlingApiError } from "./api-error.js";

/** API error: the server failed (HTTP 5xx, codes 5000-5002; retried). */
export class KlingServerError extends KlingApiError {
  override readonly name: string = "KlingServerError";
}
