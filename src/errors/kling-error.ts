// KlingError: the base of every error the SDK throws (a stable name, the cause kept, the external id noted).

export interface KlingErrorOptions {
  /** The error that led to this one. @default undefined */
  cause?: unknown;
  /**
   * Set on errors from create/run when a task may exist on the server under this `external_task_id`; the
   * message then names it so the caller can reconcile instead of creating (and paying for) the task twice.
   * @default undefined
   */
  externalTaskId?: string;
}

/** The base of every error this SDK throws: a stable `name`, the original error as `cause`. */
export class KlingError extends Error {
  override readonly name: string = "KlingError";
  /**
   * Set on errors from create/run when a task may exist on the server under this id: look it up by
   * `task_info.external_task_id` before creating it again.
   */
  declare externalTaskId?: string;

  constructor(message: string, options?: KlingErrorOptions) {
    const id = options?.externalTaskId;
    super(
      id === undefined ? message : withTaskNote(message, id),
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    if (id !== undefined) this.externalTaskId = id;
  }
}

/**
 * Marks an already-built error as "a task may exist under this external_task_id" and names the id in its
 * message, for errors raised below the create logic (e.g. by the transport). Returns the same error.
 */
export function noteExternalTaskId<E extends KlingError>(error: E, externalTaskId: string): E {
  if (error.externalTaskId === externalTaskId) return error;
  const before = error.message;
  error.externalTaskId = externalTaskId;
  error.message = withTaskNote(before, externalTaskId);
  // The stack starts with the old message; keep it in step so logs and util.inspect show the note too.
  if (typeof error.stack === "string") error.stack = error.stack.replace(before, error.message);
  return error;
}

function withTaskNote(message: string, externalTaskId: string): string {
  return `${message} The task may have been created: find it by external_task_id=${externalTaskId} before creating it again.`;
}
