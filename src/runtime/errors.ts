// Errors with a meaning for the reconcile loop. (A Store's ConflictError and NotFoundError are in src/store/errors.ts.)
// A controller throws one of these and is done: the loop records it in the object's status through the one status
// writer (Ready=False with the reason, and Reconciling or Stalled) and requeues the key, or not, as the error says.
import type { FailureStatus } from '../api/status.js';

/** What a failure adds to the status besides its reason and message: a phase, the step's condition, run summaries. */
export type FailureDetails = Omit<FailureStatus, 'reason' | 'message'>;

/** A failure that another attempt may fix (a failed run, a missing Secret): recorded, then retried with backoff. */
export class RetryLater extends Error {
  readonly status: FailureStatus;

  constructor(
    readonly reason: string,
    message: string,
    details: FailureDetails = {},
  ) {
    super(message);
    this.name = 'RetryLater';
    this.status = { ...details, reason, message };
  }
}

/** A failure that retrying cannot fix (bad input): recorded as Stalled, and not retried until the object changes. */
export class TerminalError extends Error {
  readonly status: FailureStatus;

  constructor(
    message: string,
    readonly reason = 'InvalidSpec',
    details: FailureDetails = {},
  ) {
    super(message);
    this.name = 'TerminalError';
    this.status = { ...details, reason, message };
  }
}
