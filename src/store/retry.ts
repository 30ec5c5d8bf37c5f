// Optimistic concurrency, the client-go way (retry.RetryOnConflict): a write guarded by the resourceVersion it
// read fails with a ConflictError when another writer got there first; the change is then computed again from a
// fresh read and written again, a bounded number of times.
import { ConflictError } from './errors.js';

export interface RetryOptions {
  /** Writes tried in all (default 5). */
  attempts?: number;
  /** The error thrown when every attempt met a conflict (default: the last ConflictError). */
  gaveUp?: () => Error;
}

export const DEFAULT_CONFLICT_ATTEMPTS = 5;

/**
 * Calls `attempt` (0, 1, ...) until it returns without a ConflictError. Each call must read the object again
 * (the store's cache already holds the write that won) and compute its change from that.
 */
export async function retryOnConflict<T>(attempt: (index: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? DEFAULT_CONFLICT_ATTEMPTS;
  for (let index = 0; ; index++) {
    try {
      return await attempt(index);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      if (index + 1 >= attempts) throw options.gaveUp?.() ?? err;
    }
  }
}
