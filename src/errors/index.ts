// Every error class the SDK throws, and the factories that build them from an answer.
export { KlingError, noteExternalTaskId, type KlingErrorOptions } from "./KlingError.js";
export { KlingApiError, type KlingApiErrorOptions } from "./KlingApiError.js";
export { KlingAuthenticationError } from "./KlingAuthenticationError.js";
export { KlingPermissionError } from "./KlingPermissionError.js";
export { KlingAccountError } from "./KlingAccountError.js";
export { KlingRateLimitError } from "./KlingRateLimitError.js";
export { KlingInvalidRequestError } from "./KlingInvalidRequestError.js";
export { KlingPolicyError } from "./KlingPolicyError.js";
export { KlingServerError } from "./KlingServerError.js";
export { KlingConnectionError, type KlingConnectionErrorOptions } from "./KlingConnectionError.js";
export { KlingTimeoutError, type KlingTimeoutErrorOptions } from "./KlingTimeoutError.js";
export { KlingValidationError } from "./KlingValidationError.js";
export { KlingTaskFailedError } from "./KlingTaskFailedError.js";
export { KlingCallbackError, type KlingCallbackErrorReason } from "./KlingCallbackError.js";
export { apiErrorFrom, badBodyError, stripHtml, type ApiErrorInput, type BadBodyInput } from "./from-response.js";
