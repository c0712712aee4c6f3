// API error: the server failed (HTTP 5xx, codes 5000-5002; retried).
import { KlingApiError } from "./KlingApiError.js";

export class KlingServerError extends KlingApiError {
  override readonly name: string = "KlingServerError";
}
