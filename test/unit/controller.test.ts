import { afterEach, describe, expect, it, vi } from 'vitest';
import { Controller, type ReconcileFn, type ReconcileResult } from '../../src/runtime/controller.js';
import type { FailureStatus } from '../../src/api/status.js';
import { RetryLater, TerminalError } from '../../src/runtime/errors.js';
import { reconcileTotal } from '../../src/telemetry/metrics.js';
import { ConflictError } from '../../src/store/errors.js';

/** Polls until the check holds; fails after the bound (a bounded wait, not a timed assertion). */
async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

interface Gate {
  promise: Promise<void>;
  open: () => void;
}

function gate(): Gate {
  let open = (): void => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

let running: Controller[] = [];

type Recorded = { key: string; failure: FailureStatus; stalled: boolean };

function controller(
  reconcile: ReconcileFn,
  options: { concurrency?: number; baseMs?: number; maxMs?: number; name?: string; recorded?: Recorded[] } = {},
): Controller {
  const recorded = options.recorded;
  const c = new Controller({
    name: options.name ?? 'test',
    reconcile,
    concurrency: options.concurrency ?? 1,
    backoff: { baseMs: options.baseMs ?? 1, maxMs: options.maxMs ?? 8 },
    ...(recorded ? { recordFailure: async (key, failure, stalled) => void recorded.push({ key, failure, stalled }) } : {}),
  });
  running.push(c);
  c.start();
  return c;
}

afterEach(async () => {
  await Promise.all(running.map((c) => c.stop()));
  running = [];
  vi.useRealTimers();
});

describe('Controller: one key at a time', () => {
  it('never reconciles one key twice at once (concurrency 8, keys re-added while in flight)', async () => {
    const inFlight = new Map<string, number>();
    const runs = new Map<string, number>();
    let overlaps = 0;
    let total = 0;
    const keys = ['a', 'b', 'c', 'd'];
    const c = controller(
      async ({ key }) => {
        inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
        if ((inFlight.get(key) ?? 0) > 1) overlaps += 1;
        total += 1;
        for (let i = 0; i < 3; i++) {
          if (total < 300) for (const k of keys) c.enqueue(k); // re-add every key, this one included
          await yieldToLoop();
        }
        inFlight.set(key, (inFlight.get(key) ?? 0) - 1);
        runs.set(key, (runs.get(key) ?? 0) + 1);
      },
      { concurrency: 8 },
    );
    for (const k of keys) c.enqueue(k);
    await waitFor(() => total >= 300 && c.queue.length === 0 && [...inFlight.values()].every((n) => n === 0), 'quiet queue');
    expect(overlaps).toBe(0);
    for (const k of keys) expect(runs.get(k)).toBeGreaterThan(10);
  });

  it('runs a key added while it is processed exactly once more afterwards', async () => {
    const history: string[] = [];
    const gates = [gate(), gate()];
    let aRuns = 0;
    const c = controller(async ({ key }) => {
      history.push(key);
      if (key === 'a') await gates[aRuns++]?.promise;
    });
    c.enqueue('a');
    await waitFor(() => aRuns === 1, 'first run of a');
    for (let i = 0; i < 5; i++) c.enqueue('a');
    gates[0]?.open();
    await waitFor(() => aRuns === 2, 'second run of a');
    c.enqueue('z'); // queued behind any extra run of 'a' that the queue might (wrongly) hold
    gates[1]?.open();
    await waitFor(() => history.includes('z'), 'z');
    expect(history).toEqual(['a', 'a', 'z']);
    expect(c.queue.length).toBe(0);
  });
});

describe('Controller: bounded concurrency', () => {
  it('never has more than N reconciles in flight, and does reach N', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let finished = 0;
    const gates: Gate[] = [];
    const c = controller(
      async () => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        const g = gate();
        gates.push(g);
        await g.promise;
        inFlight -= 1;
        finished += 1;
      },
      { concurrency: 3 },
    );
    for (let i = 0; i < 20; i++) c.enqueue(`k${i}`);
    await waitFor(() => inFlight === 3, 'three in flight');
    await yieldToLoop();
    expect(inFlight).toBe(3);
    expect(c.queue.length).toBe(17);
    let released = 0;
    while (finished < 20) {
      await waitFor(() => gates.length > released, 'next reconcile');
      gates[released++]?.open();
      await yieldToLoop();
      expect(inFlight).toBeLessThanOrEqual(3);
    }
    expect(maxInFlight).toBe(3);
  });
});

describe('Controller: results and errors', () => {
  it('retries a failing key with growing, capped backoff and forgets its failures on success', async () => {
    const seenFailureCounts: number[] = [];
    let attempts = 0;
    const c: Controller = controller(
      async ({ key }) => {
        seenFailureCounts.push(c.queue.failureCount(key));
        attempts += 1;
        if (attempts <= 6) throw new Error(`boom ${attempts}`);
      },
      { baseMs: 1, maxMs: 8 },
    );
    const spy = vi.spyOn(c.queue, 'addRateLimited');
    c.enqueue('a');
    await waitFor(() => attempts === 7 && c.queue.failureCount('a') === 0, 'success after retries');
    expect(seenFailureCounts).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(spy.mock.results.map((r) => r.value)).toEqual([1, 2, 4, 8, 8, 8]);
  });

  it('re-runs a key after requeueAfterMs, not before', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let runs = 0;
    controller(async (): Promise<ReconcileResult> => {
      runs += 1;
      return runs === 1 ? { requeueAfterMs: 5000 } : {};
    }).enqueue('a');
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(4999);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(2);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runs).toBe(2);
  });

  it('does not retry a TerminalError, but does retry an ordinary error and a ConflictError', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const runs = new Map<string, number>();
    const c = controller(
      async ({ key }) => {
        runs.set(key, (runs.get(key) ?? 0) + 1);
        if (key === 'terminal') throw new TerminalError('bad spec');
        if (key === 'conflict' && runs.get(key) === 1) throw new ConflictError('moved on');
        if (key === 'error' && runs.get(key) === 1) throw new Error('transient');
      },
      { baseMs: 100, maxMs: 1000 },
    );
    for (const key of ['terminal', 'conflict', 'error']) c.enqueue(key);
    await vi.advanceTimersByTimeAsync(0);
    expect(Object.fromEntries(runs)).toEqual({ terminal: 1, conflict: 1, error: 1 });
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(Object.fromEntries(runs)).toEqual({ terminal: 1, conflict: 2, error: 2 });
    expect(c.queue.failureCount('terminal')).toBe(0);
    c.enqueue('terminal'); // a change of the object brings it back
    await vi.advanceTimersByTimeAsync(0);
    expect(runs.get('terminal')).toBe(2);
  });

  it('isolates an exception to its key: other keys keep being reconciled', async () => {
    const done = new Set<string>();
    let badRuns = 0;
    const c = controller(
      ({ key }) => {
        if (key === 'bad-sync') throw new Error('thrown synchronously');
        if (key === 'bad') {
          badRuns += 1;
          return Promise.reject('not even an Error');
        }
        done.add(key);
        return Promise.resolve();
      },
      { concurrency: 2, baseMs: 1, maxMs: 4 },
    );
    c.enqueue('bad');
    c.enqueue('bad-sync');
    for (let i = 0; i < 10; i++) c.enqueue(`good${i}`);
    await waitFor(() => done.size === 10 && badRuns >= 3, 'good keys and retries of the bad one');
    c.enqueue('late');
    await waitFor(() => done.has('late'), 'a key added after the failures');
    expect(c.queue.failureCount('bad')).toBeGreaterThanOrEqual(3);
    expect(c.queue.failureCount('good0')).toBe(0);
  });

  it('stop() aborts the signal of running reconciles and resolves', async () => {
    let aborted = false;
    let started = false;
    const c = controller(
      ({ signal }) =>
        new Promise<void>((resolve) => {
          started = true;
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve();
          });
        }),
    );
    c.enqueue('a');
    await waitFor(() => started, 'reconcile started');
    await c.stop();
    expect(aborted).toBe(true);
  });
});

describe('Controller: a failure is recorded in the status, then requeued as it says', () => {
  const total = async (name: string, result: string): Promise<number> =>
    (await reconcileTotal.get()).values.find((v) => v.labels.controller === name && v.labels.result === result)?.value ?? 0;

  it('RetryLater: recorded as Reconciling (not stalled) with its reason and details, retried with backoff, counted as an error', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const recorded: Recorded[] = [];
    let runs = 0;
    const c = controller(
      async () => {
        runs += 1;
        if (runs < 3) throw new RetryLater('TerraformFailed', 'terraform apply: boom', { phase: 'Failed', condition: 'Provisioned', fields: { lastTerraformRun: { op: 'apply' } } });
      },
      { baseMs: 100, maxMs: 1000, name: 'retry-later', recorded },
    );
    c.enqueue('Lab/default/a');
    await vi.advanceTimersByTimeAsync(0);
    expect(recorded).toEqual([{
      key: 'Lab/default/a',
      stalled: false,
      failure: { reason: 'TerraformFailed', message: 'terraform apply: boom', phase: 'Failed', condition: 'Provisioned', fields: { lastTerraformRun: { op: 'apply' } } },
    }]);
    await vi.advanceTimersByTimeAsync(99);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(2);
    await vi.advanceTimersByTimeAsync(200);
    expect(runs).toBe(3);
    expect(recorded).toHaveLength(2);
    expect(await total('retry-later', 'error')).toBe(2);
    expect(await total('retry-later', 'success')).toBe(1);
  });

  it('TerminalError: recorded as Stalled, not retried, counted as terminal; an ordinary error is not recorded', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const recorded: Recorded[] = [];
    const runs = new Map<string, number>();
    const c = controller(
      async ({ key }) => {
        runs.set(key, (runs.get(key) ?? 0) + 1);
        if (key === 'terminal') throw new TerminalError('cpu 9 is above the limit of 8', 'LimitExceeded', { phase: 'Failed' });
        if (runs.get(key) === 1) throw new Error('a bug');
      },
      { baseMs: 100, maxMs: 1000, name: 'terminal', recorded },
    );
    c.enqueue('terminal');
    c.enqueue('plain');
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(Object.fromEntries(runs)).toEqual({ terminal: 1, plain: 2 });
    expect(recorded).toEqual([{ key: 'terminal', stalled: true, failure: { reason: 'LimitExceeded', message: 'cpu 9 is above the limit of 8', phase: 'Failed' } }]);
    expect(await total('terminal', 'terminal')).toBe(1);
    expect(await total('terminal', 'error')).toBe(1);
  });

  it('a failure to record does not stop the retry', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let runs = 0;
    const c = new Controller({
      name: 'record-fails',
      reconcile: async () => {
        runs += 1;
        if (runs === 1) throw new RetryLater('SecretMissing', 'secret "k" not found');
      },
      backoff: { baseMs: 100, maxMs: 1000 },
      recordFailure: () => Promise.reject(new Error('the API server is away')),
    });
    running.push(c);
    c.start();
    c.enqueue('a');
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toBe(2);
  });
});
