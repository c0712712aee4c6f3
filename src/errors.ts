// The SDK's error classes, one per file under src/errors/, all extending KlingError (the factories there load lazily).
export { KlingAccountError } from "./errors/account-error.js";
export { KlingApiError, type KlingApiErrorOptions } from "./errors/api-error.js";
export { KlingAuthenticationError } from "./errors/authentication-error.js";
export { KlingCallbackError, type KlingCallbackErrorReason } from "./errors/callback-error.js";
export { KlingConnectionError, type KlingConnectionErrorOptions } from "./errors/connection-error.js";
export { KlingInvalidRequestError } from "./errors/invalid-request-error.js";
export { KlingError, type KlingErrorOptions } from "./errors/kling-error.js";
export { KlingPermissionError } from "./errors/permission-error.js";
export { KlingPolicyError } from "./errors/policy-error.js";
export { KlingRateLimitError } from "./errors/rate-limit-error.js";
export { KlingServerError } from "./errors/server-error.js";
export { KlingTaskFailedError } from "./errors/task-failed-error.js";
export { KlingTimeoutError, type KlingTimeoutErrorOptions } from "./errors/timeout-error.js";
export { KlingValidationError } from "./errors/validation-error.js";
