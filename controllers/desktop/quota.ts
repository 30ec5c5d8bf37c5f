// The cap on concurrent desktops, per user and overall. A desktop holds a slot from its admission until it has
// expired or is gone (a Desktop being deleted still holds one until its machine is destroyed). Pure: the
// controller decides under a lock and remembers its own admissions, so two desktops are never admitted on one
// free slot even before the store shows the first admission.
import { isConditionTrue } from '../../src/api/conditions.js';
import type { DesktopResource } from '../../src/api/types.js';
import { refKey, refOf } from '../../src/api/refs.js';

export interface QuotaLimits {
  /** Desktops one user may have at once (default: no cap). */
  maxDesktopsPerUser?: number;
  /** Desktops at once, all users together (default: no cap). */
  maxDesktops?: number;
}

export const ADMITTED = 'Admitted';

export function holdsSlot(desktop: DesktopResource, admitted: ReadonlySet<string>): boolean {
  if (desktop.status?.phase === 'Expired') return false;
  return admitted.has(refKey(refOf(desktop))) || isConditionTrue(desktop.status?.conditions, ADMITTED);
}

export type QuotaVerdict = { admit: true } | { admit: false; message: string };

/** Whether `desktop` may take a slot now, given every Desktop of the cluster. */
export function quotaVerdict(desktop: DesktopResource, all: DesktopResource[], limits: QuotaLimits, admitted: ReadonlySet<string>): QuotaVerdict {
  const key = refKey(refOf(desktop));
  const holders = all.filter((d) => refKey(refOf(d)) !== key && holdsSlot(d, admitted));
  const user = desktop.spec.user;
  const mine = holders.filter((d) => d.spec.user === user).length;
  if (limits.maxDesktopsPerUser !== undefined && mine >= limits.maxDesktopsPerUser) {
    return { admit: false, message: `user ${user} already has ${mine} desktop(s), the limit per user is ${limits.maxDesktopsPerUser}` };
  }
  if (limits.maxDesktops !== undefined && holders.length >= limits.maxDesktops) {
    return { admit: false, message: `${holders.length} desktop(s) are running, the limit is ${limits.maxDesktops}` };
  }
  return { admit: true };
}

/** Desktops waiting for a slot, oldest first: what to look at again when a slot frees up. */
export function waitingForQuota(all: DesktopResource[], admitted: ReadonlySet<string>): DesktopResource[] {
  return all
    .filter((d) => !d.metadata.deletionTimestamp && d.status?.phase !== 'Expired' && !holdsSlot(d, admitted))
    .sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp));
}
