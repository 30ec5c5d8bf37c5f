// The reconcile loop of one controller: workers take keys from the queue, reconcile them one at a
// time per key, and requeue by the result: requeueAfter, backoff on error, nothing on TerminalError. A RetryLater or
// a TerminalError is also recorded in the object's status (recordFailure), so that a controller only throws it.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { FailureStatus } from '../api/status.js';
import { reconcileLogger, type Logger } from '../telemetry/logger.js';
import {
  reconcileDuration,
  reconcileTotal,
  workqueueDepth,
  workqueueRetries,
} from '../telemetry/metrics.js';
import { ConflictError } from '../store/errors.js';
import { RetryLater, TerminalError } from './errors.js';
import { DEFAULT_BACKOFF, WorkQueue, type BackoffOptions } from './queue.js';

export interface ReconcileResult {
  /** Reconcile this key again after the delay (polling of external state, TTLs, probes). */
  requeueAfterMs?: number;
}

export interface ReconcileRequest {
  key: string;
  log: Logger;
  signal: AbortSignal;
}

export type ReconcileFn = (request: ReconcileRequest) => Promise<ReconcileResult | void>;

/** Writes a failure into the status of the key's object: Stalled when `stalled`, else Reconciling. */
export type FailureRecorder = (key: string, failure: FailureStatus, stalled: boolean) => Promise<void>;

export interface ControllerOptions {
  name: string;
  reconcile: ReconcileFn;
  concurrency?: number;
  backoff?: BackoffOptions;
  recordFailure?: FailureRecorder;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly concurrency: number;
  private readonly abort = new AbortController();
  private workers: Promise<void>[] = [];

  constructor(private readonly options: ControllerOptions) {
    this.name = options.name;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    // Every process of every reconcile running at once listens to this one signal (and lets go when it ends): more
    // than Node's default of 10 is the normal case, not a leak.
    setMaxListeners(0, this.abort.signal);
    this.queue = new WorkQueue(options.backoff ?? DEFAULT_BACKOFF, (depth) =>
      workqueueDepth.set({ controller: this.name }, depth),
    );
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  start(): void {
    for (let i = 0; i < this.concurrency; i++) this.workers.push(this.runWorker());
  }

  /** Stops handing out keys, cancels running reconciles and waits for the workers. */
  async stop(): Promise<void> {
    this.queue.shutdown();
    this.abort.abort();
    await Promise.all(this.workers);
    this.workers = [];
  }

  private async runWorker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.processKey(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async processKey(key: string): Promise<void> {
    const log = reconcileLogger(this.name, key, randomUUID().slice(0, 8));
    const stopTimer = reconcileDuration.startTimer({ controller: this.name });
    try {
      const result = await this.options.reconcile({ key, log, signal: this.abort.signal });
      this.queue.forget(key);
      if (result?.requeueAfterMs !== undefined) {
        this.queue.addAfter(key, result.requeueAfterMs);
        reconcileTotal.inc({ controller: this.name, result: 'requeue_after' });
      } else {
        reconcileTotal.inc({ controller: this.name, result: 'success' });
      }
    } catch (err) {
      await this.handleError(key, err, log);
    } finally {
      stopTimer();
    }
  }

  private async handleError(key: string, err: unknown, log: Logger): Promise<void> {
    if (this.abort.signal.aborted) return;
    if (err instanceof TerminalError) {
      await this.record(key, err.status, true, log);
      this.queue.forget(key);
      reconcileTotal.inc({ controller: this.name, result: 'terminal' });
      log.warn({ err: err.message, reason: err.reason }, 'reconcile failed permanently; waiting for a change');
      return;
    }
    if (err instanceof ConflictError) {
      // The object moved on under us: re-read it soon (backoff still bounds a hot conflict loop).
      reconcileTotal.inc({ controller: this.name, result: 'conflict' });
      log.debug({ err: err.message }, 'conflict; requeued');
      this.queue.addRateLimited(key);
      return;
    }
    if (err instanceof RetryLater) await this.record(key, err.status, false, log);
    const delay = this.queue.addRateLimited(key);
    workqueueRetries.inc({ controller: this.name });
    reconcileTotal.inc({ controller: this.name, result: 'error' });
    const fields = { err: err instanceof Error ? err.message : String(err), retryInMs: delay };
    if (err instanceof RetryLater) log.warn({ ...fields, reason: err.reason }, 'reconcile failed; retrying later');
    else log.error(fields, 'reconcile failed');
  }

  /** The status tells the failure; a failure to tell it is logged and changes nothing else. */
  private async record(key: string, failure: FailureStatus, stalled: boolean, log: Logger): Promise<void> {
    try {
      await this.options.recordFailure?.(key, failure, stalled);
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err), reason: failure.reason }, 'could not record the failure in the status');
    }
  }
}
