// Kling's documented business codes as the tests expect them: HTTP status, the SDK's error class, whether it is
// retried.
import {
  KlingAccountError,
  type KlingApiError,
  KlingAuthenticationError,
  KlingInvalidRequestError,
  KlingPermissionError,
  KlingPolicyError,
  KlingRateLimitError,
  KlingServerError,
} from "../../src/index.js";

export type ErrorCodeRow = [
  status: number,
  code: number,
  cls: abstract new (...args: never[]) => KlingApiError,
  retried: boolean,
];

/** kling-api.md §7 and api.md's retry table, one row per code. */
export const ERROR_CODES: ErrorCodeRow[] = [
  [401, 1000, KlingAuthenticationError, false],
  [401, 1001, KlingAuthenticationError, false],
  [401, 1002, KlingAuthenticationError, false],
  [401, 1003, KlingAuthenticationError, false],
  [401, 1004, KlingAuthenticationError, false],
  [429, 1100, KlingAccountError, false],
  [429, 1101, KlingAccountError, false],
  [429, 1102, KlingAccountError, false],
  [403, 1103, KlingPermissionError, false],
  [400, 1200, KlingInvalidRequestError, false],
  [400, 1201, KlingInvalidRequestError, false],
  [404, 1202, KlingInvalidRequestError, false],
  [404, 1203, KlingInvalidRequestError, false],
  [400, 1300, KlingPolicyError, false],
  [400, 1301, KlingPolicyError, false],
  [429, 1302, KlingRateLimitError, true],
  [429, 1303, KlingRateLimitError, true],
  [429, 1304, KlingPermissionError, false],
  [500, 5000, KlingServerError, true],
  [503, 5001, KlingServerError, true],
  [504, 5002, KlingServerError, true],
];
