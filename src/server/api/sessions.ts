// Seed 001's sessions are Desktops: how one reads in the seed's fields, and the bounded wait of create and destroy.
import type { DesktopResource } from '../../api/types.js';
import { refOf } from '../../api/refs.js';
import type { Portal } from './context.js';

const STATUS: Record<string, string> = {
  Pending: 'creating',
  Provisioning: 'creating',
  Configuring: 'creating',
  Ready: 'active',
  Expiring: 'expiring',
  Expired: 'expired',
  Failed: 'failed',
  Deleting: 'destroying',
};

/** The seed's fields; `created` answers a create (status "ready" rather than "active", and a message). */
export function sessionView(desktop: DesktopResource, created: boolean): Record<string, unknown> {
  const ready = phaseOf(desktop) === 'Ready';
  return {
    session_id: desktop.metadata.name,
    vm_name: desktop.metadata.name,
    vm_ip: desktop.status?.rdp?.host ?? desktop.status?.machine?.address ?? null,
    rdp_port: desktop.status?.rdp?.port ?? 3389,
    username: desktop.spec.user,
    ...(created ? { session_user: null } : {}),
    status: statusOf(desktop, created),
    created_at: desktop.metadata.creationTimestamp,
    expires_at: desktop.status?.expiresAt ?? null,
    ...(created ? { message: ready ? 'Desktop ready: connect with RDP' : 'Desktop being created: follow it at the Location' } : {}),
  };
}

function phaseOf(desktop: DesktopResource): string {
  return desktop.metadata.deletionTimestamp ? 'Deleting' : desktop.status?.phase ?? 'Pending';
}

/** The seed's words: "ready" in a create's answer, "active" in the list. */
function statusOf(desktop: DesktopResource, created: boolean): string {
  const phase = phaseOf(desktop);
  if (created && phase === 'Ready') return 'ready';
  return STATUS[phase] ?? 'creating';
}

/**
 * Waits (bounded) until the desktop is Ready or Failed — or, with `gone`, until it no longer exists; returns the
 * desktop as it then is (undefined once gone).
 */
export function waitForSession(portal: Portal, desktop: DesktopResource, timeoutMs: number, gone = false): Promise<DesktopResource | undefined> {
  const ref = refOf(desktop);
  const settled = (): boolean => {
    const current = portal.store.get<DesktopResource>(ref);
    if (gone) return current === undefined;
    return current === undefined || current.status?.phase === 'Ready' || current.status?.phase === 'Failed';
  };
  return new Promise((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      off();
      resolve(portal.store.get<DesktopResource>(ref) ?? (gone ? undefined : desktop));
    };
    const off = portal.store.watch('Desktop', () => settled() && finish());
    const timer = setTimeout(finish, timeoutMs);
    if (settled()) finish();
  });
}
