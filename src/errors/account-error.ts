// KlingAccountError: the account is blocked, in arrears or out of resource pack (codes 1100-1102; never retried).
import { KlingApiError } from "./api-error.js";

/** API error: the account is blocked, in arrears or out of resource pack (codes 1100-1102; never retried). */
export class KlingAccountError extends KlingApiError {
  override readonly name: string = "KlingAccountError";
}
