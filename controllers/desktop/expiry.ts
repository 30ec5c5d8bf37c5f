// The end of a Desktop's life, as the controller applies it: the warnings that are due (a Warning event and the
// status saying which deadline was announced), then at its TTL or after its idle timeout the machine destroyed
// through the machine pipeline, and the Desktop Expired: Ready False and Stalled, as Orion will do nothing more for it.
import { refKey, refOf } from '../../src/api/refs.js';
import type { DesktopResource, DesktopStatus } from '../../src/api/types.js';
import type { StatusDraft } from '../../src/store/status-writer.js';
import type { Store } from '../../src/store/store.js';
import type { Logger } from '../../src/telemetry/logger.js';
import type { MachinePipeline } from '../machine/pipeline.js';
import { lifetimeStep, type ExpiryReason, type Lifetime, type LifetimeState, type Warning } from './lifetime.js';
import { ADMITTED } from './quota.js';

const WARNING_TEXT: Record<Warning, string> = {
  ExpiringSoon: 'its time to live ends',
  IdleSoon: 'nobody has used it for too long',
};
const EXPIRY_TEXT: Record<ExpiryReason, string> = {
  TTLExpired: 'its time to live has ended',
  IdleTimeout: 'it had no session for its idle timeout',
};

/**
 * The lifetime inputs from the status. While the last session check failed (InUse Unknown), nobody knows whether
 * the desktop is used: the idle clock is suspended (never destroy a desktop in use on a guess); the TTL still runs.
 */
export function lifetimeState(status: DesktopStatus, now = Date.now()): LifetimeState {
  const time = (iso: string | undefined): number | undefined => (iso ? Date.parse(iso) : undefined);
  const inUseUnknown = status.conditions?.some((c) => c.type === 'InUse' && c.status === 'Unknown') ?? false;
  return {
    now,
    expiresAt: time(status.expiresAt) ?? Number.POSITIVE_INFINITY,
    ...(status.idleSince && !inUseUnknown ? { idleSince: Date.parse(status.idleSince) } : {}),
    ...(status.expiryWarnedAt ? { expiryWarnedAt: Date.parse(status.expiryWarnedAt) } : {}),
    ...(status.idleWarnedAt ? { idleWarnedAt: Date.parse(status.idleWarnedAt) } : {}),
  };
}

export class DesktopExpiry {
  constructor(
    private readonly store: Store,
    private readonly pipeline: MachinePipeline<DesktopResource>,
    /** Forgets what the controller keeps in memory about a desktop. */
    private readonly forget: (key: string) => void,
  ) {}

  /** Records the warnings that are due and destroys the desktop when its TTL or idle timeout has passed; whether it did. */
  async check(draft: StatusDraft<DesktopResource>, lifetime: Lifetime, signal: AbortSignal, log: Logger): Promise<boolean> {
    const status = draft.obj.status ?? {};
    const step = lifetimeStep(lifetimeState(status), lifetime);
    for (const warning of step.warnings) await this.warn(draft, warning, warning === 'ExpiringSoon' ? Date.parse(status.expiresAt ?? '') : step.idleDeadline);
    if (!step.expire) return false;
    await this.expire(draft, step.expire, signal, log);
    return true;
  }

  private async warn(draft: StatusDraft<DesktopResource>, warning: Warning, deadline: number | undefined): Promise<void> {
    const at = deadline !== undefined && !Number.isNaN(deadline) ? new Date(deadline).toISOString() : 'now';
    await this.store.recordEvent(draft.obj, { type: 'Warning', reason: warning, message: `the desktop will be destroyed at ${at}: ${WARNING_TEXT[warning]}` });
    const now = new Date().toISOString();
    draft.set({ fields: warning === 'ExpiringSoon' ? { warnedAt: now, expiryWarnedAt: now } : { warnedAt: now, idleWarnedAt: now } });
  }

  private async expire(draft: StatusDraft<DesktopResource>, reason: ExpiryReason, signal: AbortSignal, log: Logger): Promise<void> {
    const message = `destroyed: ${EXPIRY_TEXT[reason]}`;
    await this.pipeline.destroy(draft, signal, { phase: 'Expiring', conditions: [{ type: 'Ready', status: 'False', reason, message: `destroying: ${EXPIRY_TEXT[reason]}` }] });
    // The event first: whoever sees the Expired status finds the event that says why.
    await this.store.recordEvent(draft.obj, { type: 'Normal', reason: 'Expired', message: `the desktop was ${message}` });
    const desktop = await draft.write({
      phase: 'Expired',
      conditions: [
        { type: 'Ready', status: 'False', reason, message },
        { type: ADMITTED, status: 'False', reason: 'Expired', message: 'the desktop no longer holds a slot' },
      ],
      fields: { expiredAt: new Date().toISOString(), rdp: undefined, machine: undefined, sessions: undefined },
      stalled: true,
    });
    log.info({ reason }, 'desktop expired and destroyed');
    this.forget(refKey(refOf(desktop)));
  }
}
