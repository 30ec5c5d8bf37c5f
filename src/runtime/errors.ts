// Errors with a meaning for the reconcile loop. (A Store's ConflictError and NotFoundError are in src/store/errors.ts.)

/** A failure that retrying cannot fix (bad input): reported, not requeued with backoff. */
export class TerminalError extends Error {
  constructor(
    message: string,
    readonly reason = 'InvalidSpec',
  ) {
    super(message);
    this.name = 'TerminalError';
  }
}
