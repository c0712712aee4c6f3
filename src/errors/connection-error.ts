// KlingConnectionError: no usable answer (a network failure, or a body that is not Kling JSON).
import { KlingError, type KlingErrorOptions } from "./kling-error.js";

export interface KlingConnectionErrorOptions extends KlingErrorOptions {
  /** The HTTP status, when an answer arrived but its body was unusable. @default undefined */
  status?: number | undefined;
}

/** No usable answer: the network failed, or the body was not Kling JSON (truncated, or a gateway's HTML page). */
export class KlingConnectionError extends KlingError {
  override readonly name: string = "KlingConnectionError";
  /** The HTTP status, when an answer arrived but its body was unusable; absent on network failures. */
  declare readonly status?: number;

  constructor(message: string, options?: KlingConnectionErrorOptions) {
    super(message, options);
    if (options?.status !== undefined) this.status = options.status;
  }
}
