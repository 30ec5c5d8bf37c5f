import { describe, expect, it } from 'vitest';
import { holdsSlot, quotaVerdict, waitingForQuota } from '../../controllers/desktop/quota.js';
import type { DesktopResource } from '../../src/api/types.js';

function desktop(name: string, user: string, phase?: string, admitted?: boolean, created = '2025-01-01T00:00:00Z'): DesktopResource {
  return {
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'Desktop',
    metadata: { name, namespace: 'default', uid: name, generation: 1, resourceVersion: '1', creationTimestamp: created },
    spec: { user, image: 't' },
    status: {
      ...(phase ? { phase } : {}),
      ...(admitted !== undefined ? { conditions: [{ type: 'Admitted', status: admitted ? 'True' : 'False', reason: 'x' }] } : {}),
    },
  } as DesktopResource;
}

describe('desktop quota', () => {
  const none = new Set<string>();

  it('admits under the caps and refuses a third desktop of a user with a cap of 2', () => {
    const all = [desktop('a', 'bob', 'Ready', true), desktop('b', 'bob', 'Provisioning', true), desktop('c', 'bob')];
    expect(quotaVerdict(all[2] as DesktopResource, all, { maxDesktopsPerUser: 2 }, none)).toEqual({
      admit: false,
      message: 'user bob already has 2 desktop(s), the limit per user is 2',
    });
    expect(quotaVerdict(desktop('d', 'carol'), all, { maxDesktopsPerUser: 2 }, none)).toEqual({ admit: true });
    expect(quotaVerdict(desktop('d', 'carol'), all, { maxDesktopsPerUser: 2, maxDesktops: 2 }, none)).toMatchObject({ admit: false });
  });

  it('frees the slot of an expired desktop', () => {
    const all = [desktop('a', 'bob', 'Expired', false), desktop('b', 'bob', 'Ready', true), desktop('c', 'bob')];
    expect(holdsSlot(all[0] as DesktopResource, none)).toBe(false);
    expect(quotaVerdict(all[2] as DesktopResource, all, { maxDesktopsPerUser: 2 }, none)).toEqual({ admit: true });
  });

  it("counts the controller's own admissions before the store shows them", () => {
    const all = [desktop('a', 'bob'), desktop('c', 'bob')];
    expect(quotaVerdict(all[1] as DesktopResource, all, { maxDesktopsPerUser: 1 }, new Set(['Desktop/default/a']))).toMatchObject({ admit: false });
  });

  it('lists the waiting desktops oldest first', () => {
    const all = [
      desktop('late', 'bob', 'Pending', false, '2025-01-01T00:02:00Z'),
      desktop('held', 'bob', 'Ready', true),
      desktop('early', 'bob', 'Pending', false, '2025-01-01T00:01:00Z'),
      desktop('done', 'bob', 'Expired', false),
    ];
    expect(waitingForQuota(all, none).map((d) => d.metadata.name)).toEqual(['early', 'late']);
  });
});
