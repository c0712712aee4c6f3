// KlingValidationError: input or an option rejected before anything was sent, naming the field.
import { KlingError, type KlingErrorOptions } from "./kling-error.js";

/** Input rejected before anything was sent: which field, and why. */
export class KlingValidationError extends KlingError {
  override readonly name: string = "KlingValidationError";
  /** The offending input field or option, e.g. `video_url` or `secretKey`. */
  readonly field: string;

  constructor(field: string, message: string, options?: KlingErrorOptions) {
    super(message, options);
    this.field = field;
  }
}
