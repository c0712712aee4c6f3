// API error: the key or token was refused (HTTP 401, codes 1000-1004).
import { KlingApiError } from "./KlingApiError.js";

export class KlingAuthenticationError extends KlingApiError {
  override readonly name: string = "KlingAuthenticationError";
}
