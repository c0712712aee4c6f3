// KlingPolicyError: the input breaks platform policy or content safety (codes 1300, 1301).
import { KlingApiError } from "./api-error.js";

/** API error: the input breaks platform policy or content safety (codes 1300, 1301). */
export class KlingPolicyError extends KlingApiError {
  override readonly name: string = "KlingPolicyError";
}
