import { describe, expect, it } from 'vitest';
import { nextProbeDelay } from '../../controllers/node/probe-schedule.js';

describe('nextProbeDelay', () => {
  const interval = 60_000;

  it('puts the probe after the first in the second half of the interval, never later than the interval', () => {
    expect(nextProbeDelay(interval, true, () => 0)).toBe(30_000);
    expect(nextProbeDelay(interval, true, () => 0.5)).toBe(45_000);
    expect(nextProbeDelay(interval, true, () => 0.999999)).toBeLessThan(interval);
  });

  it('keeps later probes one interval apart, up to 10 % more', () => {
    expect(nextProbeDelay(interval, false, () => 0)).toBe(interval);
    expect(nextProbeDelay(interval, false, () => 0.999999)).toBeLessThan(interval * 1.1);
    expect(nextProbeDelay(interval, false, () => 0.5)).toBe(63_000);
  });

  it('spreads a fleet probed together across half an interval after its first probe', () => {
    const delays = Array.from({ length: 1000 }, () => nextProbeDelay(interval, true));
    const buckets = new Set(delays.map((d) => Math.floor(d / 3000)));
    // 1,000 nodes land in each of the ten 3-second slots of 30 s..60 s, not in one burst.
    expect(buckets).toEqual(new Set([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]));
  });
});
