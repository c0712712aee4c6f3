// Input rejected before anything was sent: which field, and why.
import { KlingError, type KlingErrorOptions } from "./KlingError.js";

export class KlingValidationError extends KlingError {
  override readonly name: string = "KlingValidationError";
  /** The offending input field or option, e.g. `video_url` or `secretKey`. */
  readonly field: string;

  constructor(field: string, message: string, options?: KlingErrorOptions) {
    super(message, options);
    this.field = field;
  }
}
