import { describe, expect, it } from 'vitest';
import { afterIdleCheck, expiryOf, lifetimeOf, lifetimeStep } from '../../controllers/desktop/lifetime.js';

const S = 1000;
const life = lifetimeOf({ ttlSeconds: 3600, idleTimeoutSeconds: 600, warningSeconds: 60 });

describe('lifetimeOf / expiryOf', () => {
  it('uses the spec and the schema defaults', () => {
    expect(life).toEqual({ ttlMs: 3600 * S, idleTimeoutMs: 600 * S, warningMs: 60 * S });
    expect(lifetimeOf({})).toEqual({ ttlMs: 28800 * S, idleTimeoutMs: 3600 * S, warningMs: 300 * S });
    expect(expiryOf('2025-01-01T00:00:00.000Z', life)).toBe(Date.parse('2025-01-01T01:00:00.000Z'));
  });

  it('scales durations (tests) and bounds the warning by the shorter limit', () => {
    expect(lifetimeOf({ ttlSeconds: 100, idleTimeoutSeconds: 60, warningSeconds: 300 }, 0.1)).toEqual({ ttlMs: 10 * S, idleTimeoutMs: 6 * S, warningMs: 6 * S });
  });
});

describe('lifetimeStep', () => {
  const expiresAt = 10_000 * S;

  it('does nothing early, and says when to look again (the TTL warning)', () => {
    expect(lifetimeStep({ now: 0, expiresAt }, life)).toEqual({ warnings: [], nextAt: expiresAt - 60 * S });
  });

  it('warns warningSeconds before the TTL, once, then destroys at the TTL', () => {
    const at = expiresAt - 60 * S;
    expect(lifetimeStep({ now: at, expiresAt }, life)).toEqual({ warnings: ['ExpiringSoon'], nextAt: expiresAt });
    expect(lifetimeStep({ now: at + S, expiresAt, expiryWarnedAt: at }, life)).toEqual({ warnings: [], nextAt: expiresAt });
    expect(lifetimeStep({ now: expiresAt, expiresAt, expiryWarnedAt: at }, life)).toMatchObject({ warnings: [], expire: 'TTLExpired' });
  });

  it('still warns first when the TTL is reached without a warning (controller down)', () => {
    expect(lifetimeStep({ now: expiresAt + 5 * S, expiresAt }, life)).toMatchObject({ warnings: ['ExpiringSoon'], expire: 'TTLExpired' });
  });

  it('warns again when a longer TTL moves the deadline past the old warning', () => {
    const later = expiresAt + 3600 * S;
    expect(lifetimeStep({ now: later - 30 * S, expiresAt: later, expiryWarnedAt: expiresAt - 60 * S }, life).warnings).toEqual(['ExpiringSoon']);
  });

  it('counts idleness from idleSince: warning, then IdleTimeout', () => {
    const idleSince = 1000 * S;
    const deadline = idleSince + 600 * S;
    expect(lifetimeStep({ now: idleSince, expiresAt, idleSince }, life)).toMatchObject({ warnings: [], nextAt: deadline - 60 * S, idleDeadline: deadline });
    expect(lifetimeStep({ now: deadline - 60 * S, expiresAt, idleSince }, life).warnings).toEqual(['IdleSoon']);
    expect(lifetimeStep({ now: deadline, expiresAt, idleSince, idleWarnedAt: deadline - 60 * S }, life)).toMatchObject({ warnings: [], expire: 'IdleTimeout' });
  });

  it('warns again for a new idle period', () => {
    const idleSince = 5000 * S;
    const oldWarning = 1540 * S;
    expect(lifetimeStep({ now: idleSince + 545 * S, expiresAt, idleSince, idleWarnedAt: oldWarning }, life).warnings).toEqual(['IdleSoon']);
  });

  it('gives the TTL precedence when both are due', () => {
    expect(lifetimeStep({ now: expiresAt, expiresAt, idleSince: 0, expiryWarnedAt: expiresAt - 60 * S, idleWarnedAt: 0 }, life).expire).toBe('TTLExpired');
  });
});

describe('afterIdleCheck', () => {
  const t0 = new Date('2025-01-01T00:00:00Z');
  const t1 = new Date('2025-01-01T00:01:00Z');

  it('starts an idle period at the first check without a session, and keeps it', () => {
    const first = afterIdleCheck({}, 0, t0);
    expect(first).toEqual({ idleSince: t0.toISOString(), sessions: 0 });
    expect(afterIdleCheck(first, 0, t1).idleSince).toBe(t0.toISOString());
  });

  it('ends the idle period (and its warning) when a session is seen', () => {
    const idle = { idleSince: t0.toISOString(), idleWarnedAt: t0.toISOString(), sessions: 0 };
    expect(afterIdleCheck(idle, 1, t1)).toEqual({ lastActivityAt: t1.toISOString(), sessions: 1 });
  });
});
