// Exclusive binding under concurrency: 40 Rentals against 20 Nodes, eight reconciles at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeResource, RentalResource } from '../../src/api/types.js';
import { TestBed, waitFor } from '../harness/cluster.js';

const NODES = 20;
const RENTALS = 40;

describe('Rental binding at scale (real sshd and Ansible)', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await TestBed.create({
      workers: NODES,
      basePort: 22540,
      rentalConcurrency: 8,
      probe: { intervalSeconds: 5, timeoutSeconds: 5, failureThreshold: 3, successThreshold: 1 },
    });
    await bed.startOrion();
    await waitFor(`${NODES} Alive nodes`, () => bed.list<NodeResource>('Node').filter((n) => n.status?.health === 'Alive').length === NODES, 120_000);
  });

  afterAll(async () => {
    await bed?.destroy();
  });

  const rentals = (): RentalResource[] => bed.list<RentalResource>('Rental');
  const tenant = (i: number): string => `tenant-${String(i).padStart(2, '0')}`;

  /** Every allocation, seen from both sides, must be one rental to one node. */
  function expectExclusive(): void {
    const nodes = bed.list<NodeResource>('Node');
    const holders = nodes.map((n) => n.status?.allocation?.rental).filter((r): r is string => Boolean(r));
    expect(new Set(holders).size).toBe(holders.length);
    const bound = rentals().filter((r) => r.status?.nodeName);
    expect(new Set(bound.map((r) => r.status?.nodeName)).size).toBe(bound.length);
    for (const r of bound) {
      const node = nodes.find((n) => n.metadata.name === r.status?.nodeName);
      expect(node?.status?.allocation?.rental).toBe(`default/${r.metadata.name}`);
    }
  }

  it('binds exactly 20 of 40 rentals, never two on one node, then the next 10 after 10 are deleted', async () => {
    const all = Array.from({ length: RENTALS }, (_, i) => bed.rentalManifest(tenant(i)));
    await bed.write('rentals.yaml', all);
    await waitFor('20 Ready and 20 Unschedulable', () => {
      const list = rentals();
      return list.filter((r) => r.status?.phase === 'Ready').length === NODES &&
        list.filter((r) => r.status?.phase === 'Unschedulable').length === RENTALS - NODES;
    }, 600_000);
    expectExclusive();

    const ready = rentals().filter((r) => r.status?.phase === 'Ready').map((r) => r.metadata.name).sort();
    const deleted = new Set(ready.slice(0, 10));
    const formerNodes = new Map([...deleted].map((name) => [name, bed.get<RentalResource>('Rental', name)?.status?.nodeName ?? '']));
    await bed.write('rentals.yaml', all.filter((doc) => !deleted.has((doc as { metadata: { name: string } }).metadata.name)));
    await waitFor('the deleted rentals released and 20 Ready again', () => {
      const list = rentals();
      return list.length === RENTALS - 10 && list.filter((r) => r.status?.phase === 'Ready').length === NODES;
    }, 600_000);
    expectExclusive();
    expect(rentals().filter((r) => r.status?.phase === 'Unschedulable')).toHaveLength(RENTALS - 10 - NODES);
    for (const [name, nodeName] of formerNodes) {
      const gone = await bed.dataPlane.worker(nodeName).exec(['id', '-u', name]);
      expect(gone.exitCode, `${name} still exists on ${nodeName}`).not.toBe(0);
    }
  }, 1_200_000);
});
