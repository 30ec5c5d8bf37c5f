import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkQueue } from '../../src/runtime/queue.js';

/** Takes every key that is ready now, without waiting. */
async function drainReady(queue: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  while (queue.length > 0) {
    const key = await queue.get();
    if (key !== undefined) keys.push(key);
  }
  return keys;
}

describe('WorkQueue deduplication', () => {
  it('hands out a key added three times while queued only once', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    queue.add('a');
    queue.add('a');
    queue.add('b');
    expect(queue.length).toBe(2);
    expect(await drainReady(queue)).toEqual(['a', 'b']);
    queue.done('a');
    queue.done('b');
    expect(queue.length).toBe(0);
  });

  it('does not hand out a key while it is processed; a key added meanwhile runs exactly once more', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    expect(await queue.get()).toBe('a');
    queue.add('a');
    queue.add('a');
    expect(queue.length).toBe(0); // held back while 'a' is processed
    queue.add('b');
    expect(await queue.get()).toBe('b');
    queue.done('b');
    queue.done('a');
    expect(queue.length).toBe(1);
    expect(await queue.get()).toBe('a');
    queue.done('a');
    expect(queue.length).toBe(0);
  });

  it('gives a key to a waiting consumer directly and marks it as processing', async () => {
    const queue = new WorkQueue();
    const waiting = queue.get();
    queue.add('a');
    expect(await waiting).toBe('a');
    queue.add('a');
    expect(queue.length).toBe(0);
    queue.done('a');
    expect(await drainReady(queue)).toEqual(['a']);
  });

  it('reports its depth on every change', async () => {
    const depths: number[] = [];
    const queue = new WorkQueue(undefined, (d) => depths.push(d));
    queue.add('a');
    queue.add('b');
    await queue.get();
    expect(depths).toEqual([1, 2, 1]);
  });

  it('shutdown resolves waiting consumers with undefined and ignores further adds', async () => {
    const queue = new WorkQueue();
    const waiting = queue.get();
    queue.shutdown();
    expect(await waiting).toBeUndefined();
    queue.add('a');
    expect(queue.length).toBe(0);
    expect(await queue.get()).toBeUndefined();
  });
});

describe('WorkQueue delays and backoff', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('addAfter queues the key only once the delay has passed; the earliest of two delays wins', async () => {
    const queue = new WorkQueue();
    queue.addAfter('a', 1000);
    queue.addAfter('a', 300);
    queue.addAfter('a', 5000);
    vi.advanceTimersByTime(299);
    expect(queue.length).toBe(0);
    vi.advanceTimersByTime(1);
    expect(await drainReady(queue)).toEqual(['a']);
    queue.done('a');
    vi.advanceTimersByTime(10_000);
    expect(queue.length).toBe(0); // the later delays were replaced, not kept
  });

  it('addAfter with no delay adds at once', () => {
    const queue = new WorkQueue();
    queue.addAfter('a', 0);
    expect(queue.length).toBe(1);
  });

  it('backoff grows as base * 2^failures up to the cap, and counts failures', () => {
    const queue = new WorkQueue({ baseMs: 100, maxMs: 1000 });
    const delays = Array.from({ length: 7 }, () => {
      const delay = queue.addRateLimited('a');
      vi.advanceTimersByTime(delay);
      return delay;
    });
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(queue.failureCount('a')).toBe(7);
    expect(queue.failureCount('b')).toBe(0);
  });

  it('a rate-limited key becomes ready exactly when its backoff delay has passed', () => {
    const queue = new WorkQueue({ baseMs: 100, maxMs: 10_000 });
    queue.addRateLimited('a'); // 100
    vi.advanceTimersByTime(100);
    expect(queue.length).toBe(1);
    queue.addRateLimited('b'); // 100
    queue.addRateLimited('b'); // 200, but the pending 100 ms delay is earlier and wins
    vi.advanceTimersByTime(99);
    expect(queue.length).toBe(1);
    vi.advanceTimersByTime(1);
    expect(queue.length).toBe(2);
    expect(queue.failureCount('b')).toBe(2);
  });

  it('forget resets the backoff to the base', () => {
    const queue = new WorkQueue({ baseMs: 50, maxMs: 10_000 });
    queue.addRateLimited('a');
    queue.addRateLimited('a');
    expect(queue.addRateLimited('a')).toBe(200);
    queue.forget('a');
    expect(queue.failureCount('a')).toBe(0);
    expect(queue.addRateLimited('a')).toBe(50);
  });

  it('shutdown cancels pending delays', () => {
    const queue = new WorkQueue();
    queue.addAfter('a', 100);
    queue.shutdown();
    vi.advanceTimersByTime(1000);
    expect(queue.length).toBe(0);
  });
});
