// API error: the input breaks platform policy or content safety (codes 1300, 1301).
import { KlingApiError } from "./KlingApiError.js";

export class KlingPolicyError extends KlingApiError {
  override readonly name: string = "KlingPolicyError";
}
