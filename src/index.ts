// The public entry point: createClient, BASE_URLS, the error classes, callbacks and the data types.
export { createClient, type RawClient, type VideoToAudioClient } from "./client.js";
export type { BatchOptions, BatchResult } from "./batch.js";
export { BASE_URLS, type ClientOptions, type LookupOptions, type RequestOptions, type WaitOptions } from "./options.js";
export type { Logger, LogLevel } from "./logger.js";
export type { CallbackPayload, CreateTaskInput, ResultAudio, ResultVideo, Task, TaskStatus } from "./types.js";
export {
  type CallbackRequest,
  parseCallback,
  signCallback,
  type SignCallbackOptions,
  verifyCallback,
  type VerifyCallbackOptions,
} from "./callbacks.js";
export {
  KlingAccountError,
  KlingApiError,
  KlingAuthenticationError,
  KlingCallbackError,
  type KlingCallbackErrorReason,
  KlingConnectionError,
  KlingError,
  KlingInvalidRequestError,
  KlingPermissionError,
  KlingPolicyError,
  KlingRateLimitError,
  KlingServerError,
  KlingTaskFailedError,
  KlingTimeoutError,
  KlingValidationError,
} from "./errors.js";
