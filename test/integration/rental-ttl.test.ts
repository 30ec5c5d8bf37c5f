// A Rental's TTL: when it passes, the tenant is removed and the node freed, as on deletion, and the
// rental stays as Expired.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeResource, RentalResource } from '../../src/api/types.js';
import { TestBed, waitFor } from '../harness/cluster.js';

describe('Rental TTL (real sshd and Ansible)', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await TestBed.create({ workers: 2, basePort: 22580 });
    await bed.startOrion();
  });

  afterAll(async () => {
    await bed?.destroy();
  });

  it('releases the node and removes the tenant when ttlSeconds have passed', async () => {
    await bed.write('kim.yaml', [bed.rentalManifest('kim', { ttlSeconds: 60 })]);
    const ready = await waitFor('kim Ready', () => {
      const r = bed.get<RentalResource>('Rental', 'kim');
      return r?.status?.phase === 'Ready' && r;
    }, 90_000);
    const nodeName = ready.status?.nodeName ?? '';
    const worker = bed.dataPlane.worker(nodeName);
    expect((await worker.exec(['id', '-u', 'kim'])).exitCode).toBe(0);

    const expired = await waitFor('kim Expired', () => {
      const r = bed.get<RentalResource>('Rental', 'kim');
      return r?.status?.phase === 'Expired' && r;
    }, 150_000);
    expect(Date.now() - Date.parse(expired.metadata.creationTimestamp)).toBeGreaterThanOrEqual(60_000);
    expect(expired.status?.nodeName).toBeUndefined();
    expect(expired.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'Expired' });
    expect(bed.store.eventsOf(expired).some((e) => e.reason === 'Expired')).toBe(true);
    expect((await worker.exec(['id', '-u', 'kim'])).exitCode).not.toBe(0);
    expect(bed.get<NodeResource>('Node', nodeName)?.status?.allocation).toBeUndefined();
  }, 300_000);
});
