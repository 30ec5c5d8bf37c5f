// Errors with a meaning for the reconcile loop.

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

/** The object changed since it was read: re-read and try again. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}
