// Admission of Desktops under the caps (quota.ts): a Desktop takes a slot once, or waits Pending with QuotaExceeded.
// One decision at a time, and this process remembers its own admissions, so two desktops are never admitted on one
// free slot even before the store shows the first. A slot that frees up (a Desktop gone or Expired) wakes the
// waiting ones.
import { isConditionTrue } from '../../src/api/conditions.js';
import { refKey, refOf } from '../../src/api/refs.js';
import type { DesktopResource } from '../../src/api/types.js';
import type { StatusDraft } from '../../src/store/status-writer.js';
import type { Store, WatchEvent } from '../../src/store/store.js';
import { ADMITTED, quotaVerdict, waitingForQuota, type QuotaLimits } from './quota.js';

export class DesktopAdmission {
  private readonly admitted = new Set<string>();
  private decisions: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly limits: QuotaLimits,
  ) {}

  /** Whether the desktop holds a slot (taken now if one is free); the draft says Admitted or QuotaExceeded. */
  admit(draft: StatusDraft<DesktopResource>): Promise<boolean> {
    const desktop = draft.obj;
    const key = refKey(refOf(desktop));
    if (this.admitted.has(key) || isConditionTrue(desktop.status?.conditions, ADMITTED)) {
      this.admitted.add(key);
      return Promise.resolve(true);
    }
    const decide = async (): Promise<boolean> => {
      const verdict = quotaVerdict(desktop, this.store.list<DesktopResource>('Desktop'), this.limits, this.admitted);
      if (!verdict.admit) {
        if (desktop.status?.phase !== 'Pending') await this.store.recordEvent(desktop, { type: 'Warning', reason: 'QuotaExceeded', message: verdict.message });
        draft.set({ phase: 'Pending', conditions: [
          { type: ADMITTED, status: 'False', reason: 'QuotaExceeded', message: verdict.message },
          { type: 'Ready', status: 'False', reason: 'QuotaExceeded', message: `waiting for a slot: ${verdict.message}` },
        ] });
        return false;
      }
      this.admitted.add(key);
      draft.set({ phase: 'Provisioning', conditions: [
        { type: ADMITTED, status: 'True', reason: 'SlotAvailable', message: `desktop of ${desktop.spec.user}` },
        { type: 'Ready', status: 'False', reason: 'Provisioning', message: 'creating the machine' },
      ] });
      return true;
    };
    const decision = this.decisions.then(decide, decide);
    this.decisions = decision.catch(() => undefined);
    return decision;
  }

  /** A slot may have freed up: the desktops waiting for one (the changed desktop's own key comes anyway). */
  waitingAfter(event: WatchEvent): string[] {
    const gone = event.type === 'DELETED' || (event.object as DesktopResource).status?.phase === 'Expired';
    if (!gone) return [];
    this.admitted.delete(refKey(refOf(event.object)));
    return waitingForQuota(this.store.list<DesktopResource>('Desktop'), this.admitted).map((d) => refKey(refOf(d)));
  }

  forget(key: string): void {
    this.admitted.delete(key);
  }
}
