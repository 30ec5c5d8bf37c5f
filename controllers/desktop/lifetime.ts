// When a Desktop goes: at its TTL (creation + ttlSeconds) or after idleTimeoutSeconds without a session, each
// announced by a Warning event warningSeconds before. Pure: the controller passes the clock and the status, and
// gets back what to record now, whether to destroy, and when to look again.
import type { DesktopSpec } from '../../src/api/types.js';

export interface Lifetime {
  ttlMs: number;
  idleTimeoutMs: number;
  warningMs: number;
}

export const DEFAULT_LIFETIME_SECONDS = { ttl: 28800, idleTimeout: 3600, warning: 300 } as const;

/**
 * The spec's durations in milliseconds. `timeScale` multiplies them (1 in production); tests use a small scale
 * so that the schema's 60 s minimum lasts a few seconds, without lowering the schema itself.
 */
export function lifetimeOf(spec: Partial<Pick<DesktopSpec, 'ttlSeconds' | 'idleTimeoutSeconds' | 'warningSeconds'>>, timeScale = 1): Lifetime {
  const ms = (seconds: number): number => Math.round(seconds * 1000 * timeScale);
  const ttlMs = ms(spec.ttlSeconds ?? DEFAULT_LIFETIME_SECONDS.ttl);
  const idleTimeoutMs = ms(spec.idleTimeoutSeconds ?? DEFAULT_LIFETIME_SECONDS.idleTimeout);
  // A warning longer than a limit would fire before the desktop even exists: bound it by the shorter limit.
  const warningMs = Math.min(ms(spec.warningSeconds ?? DEFAULT_LIFETIME_SECONDS.warning), ttlMs, idleTimeoutMs);
  return { ttlMs, idleTimeoutMs, warningMs };
}

export function expiryOf(creationTimestamp: string, lifetime: Lifetime): number {
  return Date.parse(creationTimestamp) + lifetime.ttlMs;
}

export type Warning = 'ExpiringSoon' | 'IdleSoon';
export type ExpiryReason = 'TTLExpired' | 'IdleTimeout';

export interface LifetimeState {
  now: number;
  expiresAt: number;
  /** Start of the current idle period (no session seen since); undefined while someone is connected. */
  idleSince?: number;
  expiryWarnedAt?: number;
  idleWarnedAt?: number;
}

export interface LifetimeStep {
  /** Warnings to record now (the one of a deadline reached without warning included, so it still comes first). */
  warnings: Warning[];
  expire?: ExpiryReason;
  /** The next instant something is due (a warning or a deadline); undefined when nothing is. */
  nextAt?: number;
  /** Deadlines, for messages. */
  idleDeadline?: number;
}

interface Deadlines {
  ttlWarnAt: number;
  ttlWarned: boolean;
  idleDeadline?: number;
  idleWarnAt?: number;
  idleWarned: boolean;
}

function deadlines(state: LifetimeState, lifetime: Lifetime): Deadlines {
  const ttlWarnAt = state.expiresAt - lifetime.warningMs;
  // A warning counts for the deadline it announced: a longer TTL or a new idle period warns again.
  const ttlWarned = state.expiryWarnedAt !== undefined && state.expiryWarnedAt >= ttlWarnAt;
  if (state.idleSince === undefined) return { ttlWarnAt, ttlWarned, idleWarned: false };
  const idleDeadline = state.idleSince + lifetime.idleTimeoutMs;
  const idleWarnAt = idleDeadline - lifetime.warningMs;
  const idleWarned = state.idleWarnedAt !== undefined && state.idleWarnedAt >= idleWarnAt;
  return { ttlWarnAt, ttlWarned, idleDeadline, idleWarnAt, idleWarned };
}

function dueWarnings(now: number, expiresAt: number, d: Deadlines): Warning[] {
  const warnings: Warning[] = [];
  if (!d.ttlWarned && now >= d.ttlWarnAt) warnings.push('ExpiringSoon');
  if (!d.idleWarned && d.idleWarnAt !== undefined && now >= d.idleWarnAt && now < expiresAt) warnings.push('IdleSoon');
  return warnings;
}

function expiryReason(now: number, expiresAt: number, d: Deadlines): ExpiryReason | undefined {
  if (now >= expiresAt) return 'TTLExpired';
  if (d.idleDeadline !== undefined && now >= d.idleDeadline) return 'IdleTimeout';
  return undefined;
}

export function lifetimeStep(state: LifetimeState, lifetime: Lifetime): LifetimeStep {
  const { now, expiresAt } = state;
  const d = deadlines(state, lifetime);
  const expire = expiryReason(now, expiresAt, d);
  const future = [d.ttlWarned ? undefined : d.ttlWarnAt, expiresAt, d.idleWarned ? undefined : d.idleWarnAt, d.idleDeadline].filter(
    (t): t is number => t !== undefined && t > now,
  );
  return {
    warnings: dueWarnings(now, expiresAt, d),
    ...(expire ? { expire } : {}),
    ...(future.length > 0 ? { nextAt: Math.min(...future) } : {}),
    ...(d.idleDeadline !== undefined ? { idleDeadline: d.idleDeadline } : {}),
  };
}

export interface IdleState {
  idleSince?: string;
  lastActivityAt?: string;
  idleWarnedAt?: string;
  sessions?: number;
}

/** The idle part of the status after a check that saw `sessions` sessions at `now`. */
export function afterIdleCheck(previous: IdleState, sessions: number, now: Date): IdleState {
  if (sessions > 0) {
    return { lastActivityAt: now.toISOString(), sessions };
  }
  return {
    ...(previous.lastActivityAt ? { lastActivityAt: previous.lastActivityAt } : {}),
    idleSince: previous.idleSince ?? now.toISOString(),
    ...(previous.idleWarnedAt ? { idleWarnedAt: previous.idleWarnedAt } : {}),
    sessions: 0,
  };
}
