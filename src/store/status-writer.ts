// The one way controllers and the controller loop write a status: built by src/api/status.ts, compared with the
// current one without run timing (when a run started, how long it took, its log file), and written only when it
// differs. A steady object costs no write, and a failure that repeats itself is not written again: every write is
// a watch event, and an unneeded one would wake the object's controllers (and its watchers) for nothing.
import { isDeepStrictEqual } from 'node:util';
import type { ObjectRef } from '../api/refs.js';
import { buildStatus, failureChange, withoutRunTiming, type CommonStatus, type FailureStatus, type StatusChange } from '../api/status.js';
import type { Resource } from '../api/types.js';
import { retryOnConflict } from './retry.js';
import type { Store } from './store.js';

export type StatusOf<T extends Resource> = NonNullable<T['status']> & CommonStatus;

/** Writes the change unless the status already says it; returns the object as it now is. */
export async function writeStatus<T extends Resource>(store: Store, obj: T, change: StatusChange<StatusOf<T>>): Promise<T> {
  const next = buildStatus(obj as { metadata: T['metadata']; status?: StatusOf<T> }, change);
  if (isDeepStrictEqual(withoutRunTiming(next), withoutRunTiming(obj.status as object | undefined))) return obj;
  return store.updateStatus(obj, next as NonNullable<T['status']>);
}

/**
 * Records a failure on the latest version of the object (a retry is told with Reconciling, a terminal failure with
 * Stalled); nothing when the object is gone. Used by the controller loop, so that a controller only throws.
 */
export async function recordFailure(store: Store, ref: ObjectRef, failure: FailureStatus, stalled: boolean): Promise<void> {
  await retryOnConflict(async () => {
    const obj = store.get(ref);
    if (obj) await writeStatus(store, obj, failureChange(failure, stalled) as StatusChange<StatusOf<Resource>>);
  });
}

/**
 * A status being built over several steps of one reconcile and written at the points that matter (before a long
 * run, so that it shows; at the end), rather than after each step: fewer writes, each a watch event. `obj` is the
 * object with every change so far, written or not.
 */
export class StatusDraft<T extends Resource> {
  private written: T;
  private pending: StatusOf<T> | undefined;

  constructor(
    private readonly store: Store,
    obj: T,
  ) {
    this.written = obj;
    this.pending = obj.status as StatusOf<T> | undefined;
  }

  get obj(): T {
    return { ...this.written, status: this.pending };
  }

  /** Adds the change to the draft (nothing is written yet). */
  set(change: StatusChange<StatusOf<T>>): T {
    this.pending = buildStatus(this.obj as { metadata: T['metadata']; status?: StatusOf<T> }, change);
    return this.obj;
  }

  /** Writes the draft unless the status already says it. */
  async flush(): Promise<T> {
    const pending = this.pending;
    if (pending && !isDeepStrictEqual(withoutRunTiming(pending), withoutRunTiming(this.written.status as object | undefined))) {
      this.written = await this.store.updateStatus(this.written, pending as NonNullable<T['status']>);
    }
    this.pending = this.written.status as StatusOf<T> | undefined;
    return this.written;
  }

  /** Adds the change and writes the draft. */
  async write(change: StatusChange<StatusOf<T>>): Promise<T> {
    this.set(change);
    return this.flush();
  }

  /** Runs the steps and writes the draft at the end, also when a step throws (then the error goes on). */
  async run<R>(steps: () => Promise<R>): Promise<R> {
    let result: R;
    try {
      result = await steps();
    } catch (err) {
      await this.flush().catch(() => undefined); // what the steps did is kept; the loop then records the error
      throw err;
    }
    await this.flush();
    return result;
  }

  /** A draft of `obj` for the steps, written at the end (run()). */
  static around<T extends Resource, R>(store: Store, obj: T, steps: (draft: StatusDraft<T>) => Promise<R>): Promise<R> {
    const draft = new StatusDraft(store, obj);
    return draft.run(() => steps(draft));
  }
}
