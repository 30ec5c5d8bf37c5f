// retryOnConflict: the one loop that redoes a guarded write after a conflict.
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/store/errors.js';
import { retryOnConflict } from '../../src/store/retry.js';

describe('retryOnConflict', () => {
  it('tries again after a conflict, with the attempt number, and returns the first success', async () => {
    const seen: number[] = [];
    const result = await retryOnConflict(async (attempt) => {
      seen.push(attempt);
      if (attempt < 2) throw new ConflictError('moved on');
      return 'written';
    });
    expect(result).toBe('written');
    expect(seen).toEqual([0, 1, 2]);
  });

  it('gives up after the attempts, with the last conflict or the error asked for', async () => {
    let calls = 0;
    const always = async (): Promise<never> => {
      calls += 1;
      throw new ConflictError(`conflict ${calls}`);
    };
    await expect(retryOnConflict(always)).rejects.toThrow('conflict 5');
    await expect(retryOnConflict(always, { attempts: 2, gaveUp: () => new ConflictError('kept changing') })).rejects.toThrow('kept changing');
    expect(calls).toBe(7);
  });

  it('does not retry other errors', async () => {
    let calls = 0;
    await expect(retryOnConflict(async () => {
      calls += 1;
      throw new Error('broken');
    })).rejects.toThrow('broken');
    expect(calls).toBe(1);
  });
});
