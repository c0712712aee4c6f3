// KlingInvalidRequestError: the request itself was wrong (HTTP 400, 404, other 4xx, codes 1200-1203).
import { KlingApiError } from "./api-error.js";

/** API error: the request itself was wrong (HTTP 400, 404, other 4xx, codes 1200-1203). */
export class KlingInvalidRequestError extends KlingApiError {
  override readonly name: string = "KlingInvalidRequestError";
}
