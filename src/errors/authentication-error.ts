// KlingAuthenticationError: the key or token was refused (HTTP 401, codes 1000-1004).
import { KlingApiError } from "./api-error.js";

/** API error: the key or token was refused (HTTP 401, codes 1000-1004). */
export class KlingAuthenticationError extends KlingApiError {
  override readonly name: string = "KlingAuthenticationError";
}
