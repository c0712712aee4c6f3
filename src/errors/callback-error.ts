// KlingCallbackError: a callback body or signature was rejected, with a machine-readable reason.
import { KlingError, type KlingErrorOptions } from "./kling-error.js";

/**
 * Why a callback was rejected:
 * - `invalid_json`: the body is not UTF-8 JSON.
 * - `invalid_payload`: the JSON matches neither callback dialect of the spec (`CallbackPayload`).
 * - `missing_headers`: a `webhook-*` header is absent or malformed.
 * - `invalid_signature`: no `v1` signature matches the body under the secret.
 * - `timestamp_out_of_tolerance`: `webhook-timestamp` is too far from now (a replay, or a skewed clock).
 * - `invalid_secret`: the configured secret is not base64 (after an optional `whsec_`); a setup error.
 * - `parsed_body`: the caller passed a parsed object or a consumed request instead of the raw body.
 */
export type KlingCallbackErrorReason =
  | "invalid_json"
  | "invalid_payload"
  | "missing_headers"
  | "invalid_signature"
  | "timestamp_out_of_tolerance"
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
