// KlingPermissionError: the key may not use this API, model or IP address (HTTP 403, codes 1103, 1304).
import { KlingApiError } from "./api-error.js";

/** API error: the key may not use this API, model or IP address (HTTP 403, codes 1103, 1304). */
export class KlingPermissionError extends KlingApiError {
  override readonly name: string = "KlingPermissionError";
}
