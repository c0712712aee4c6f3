// The base of every error this SDK throws: a stable `name`, the original error as `cause`.
export class KlingError extends Error {
  override readonly name: string = "KlingError";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
