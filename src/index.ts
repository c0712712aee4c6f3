// The public entry point: createClient, BASE_URLS, the error classes, callbacks and the data types.

export {
  type CallbackRequest,
  parseCallback,
  type SignCallbackOptions,
  signCallback,
  type VerifyCallbackOptions,
  verifyCallback,
} from "./callbacks.js";
export { createClient, type RawClient, type VideoToAudioClient } from "./client.js";
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
export type { Logger, LogLevel } from "./options.js";
export { BASE_URLS, type ClientOptions, type LookupOptions, type RequestOptions, type WaitOptions } from "./options.js";
export type { BatchOptions, BatchResult } from "./request/batch.js";
export type { CallbackPayload, CreateTaskInput, ResultAudio, ResultVideo, Task, TaskStatus } from "./types.js";
