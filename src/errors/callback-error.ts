// KlingCallbackError: a callback body or signature was rejected, with a machine-readable reason.
import { KlingError, type KlingErrorOptions } from "./kling-error.js";

/**
 * Why a callback was rejected:
 * - `invalid_json`: the body is not UTF-8 JSON.
 * - `invalid_payload`: the JSON matches neither callback dialect of the spec (`CallbackPayload`).
 * - `missing_headers`: a `webhook-*` header is absent (the delivery is unsigned).
 * - `invalid_timestamp`: `webhook-timestamp` is present but not a Unix time in whole seconds (`abc`, `0x10`, `1e3`,
 *   empty).
 * - `invalid_signature`: no `v1` signature matches the body under the secret (an empty id or signature included).
 * - `timestamp_out_of_tolerance`: `webhook-timestamp` is too far from now (a replay, or a skewed clock).
 * - `body_too_large`: the body is over `maxBodyBytes`; the rest of it was not read.
 * - `invalid_secret`: the configured secret is not base64 (after an optional `whsec_`); a setup error.
 * - `parsed_body`: the caller passed a parsed object or a consumed request instead of the raw body.
 */
export type KlingCallbackErrorReason =
  | "invalid_json"
  | "invalid_payload"
  | "missing_headers"
  | "invalid_timestamp"
  | "invalid_signature"
  | "timestamp_out_of_tolerance"
  | "body_too_large"
  | "invalid_secret"
  | "parsed_body";

/** A callback delivery was rejected: its body or its signature, with a machine-readable `reason`. */
export class KlingCallbackError extends KlingError {
  override readonly name = "KlingCallbackError";
  /** Why the callback was rejected; answer the sender with a 4xx (a 400, or 401 for signature reasons). */
  readonly reason: KlingCallbackErrorReason;

  /** `message` must never contain the webhook secret: callers log these errors. */
  constructor(reason: KlingCallbackErrorReason, message: string, options?: KlingErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}
