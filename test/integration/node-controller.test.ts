// The Node controller against real sshd workers: Alive, Dead after failureThreshold, Alive again after
// successThreshold, host key pinned and a changed key flagged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeResource } from '../../src/api/types.js';
import { TestBed, waitFor } from '../harness/cluster.js';

describe('Node controller (real sshd)', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await TestBed.create({
      workers: 3,
      basePort: 22400,
      probe: { intervalSeconds: 1, timeoutSeconds: 2, failureThreshold: 3, successThreshold: 2 },
    });
    await bed.startOrion();
  });

  afterAll(async () => {
    await bed?.destroy();
  });

  const node = (name: string): NodeResource | undefined => bed.get<NodeResource>('Node', name);

  it('marks every reachable node Alive and pins its host key', async () => {
    for (const worker of bed.dataPlane.workers) {
      const alive = await waitFor(`${worker.name} Alive`, () => node(worker.name)?.status?.health === 'Alive' && node(worker.name));
      expect(alive.status?.hostKey?.key).toBe(await worker.hostPublicKey());
      expect(alive.status?.hostKey?.fingerprint).toMatch(/^SHA256:/);
      expect(alive.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', observedGeneration: 1 });
      expect(alive.status?.observedGeneration).toBe(1);
    }
  });

  it('declares a killed node Dead only after failureThreshold failed probes', async () => {
    const worker = bed.dataPlane.worker('worker-0');
    await worker.kill();
    // Right after the kill the node is still Alive: one failure is below the threshold of 3.
    const failing = await waitFor('a first failed probe', () => {
      const n = node('worker-0');
      return (n?.status?.consecutiveFailures ?? 0) >= 1 && n;
    });
    expect(failing.status?.health).toBe('Alive');
    expect(failing.status?.lastError).toMatch(/refused/i);
    const dead = await waitFor('worker-0 Dead', () => node('worker-0')?.status?.health === 'Dead' && node('worker-0'));
    expect(dead.status?.consecutiveFailures).toBe(3);
    expect(dead.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ProbeFailed' });
    // The event is recorded right after the status that says Dead (events follow, as in Kubernetes).
    await waitFor('the NodeDead event', () => bed.store.eventsOf(dead).some((e) => e.reason === 'NodeDead'), 10_000);
    // The other nodes are unaffected.
    expect(node('worker-1')?.status?.health).toBe('Alive');
  });

  it('brings a restarted node back to Alive after successThreshold successes', async () => {
    await bed.dataPlane.worker('worker-0').start();
    const recovering = await waitFor('one success', () => {
      const n = node('worker-0');
      return (n?.status?.consecutiveSuccesses ?? 0) >= 1 && n;
    });
    expect(recovering.status?.health).toBe('Dead'); // below successThreshold (2)
    const alive = await waitFor('worker-0 Alive again', () => node('worker-0')?.status?.health === 'Alive' && node('worker-0'));
    expect(alive.status?.consecutiveFailures).toBe(0);
  });

  it('flags a changed host key instead of trusting it', async () => {
    const worker = bed.dataPlane.worker('worker-2');
    const pinned = node('worker-2')?.status?.hostKey?.key;
    await worker.stop();
    await worker.rotateHostKey();
    await worker.start();
    const flagged = await waitFor('host key mismatch', () => {
      const n = node('worker-2');
      return n?.status?.conditions?.some((c) => c.reason === 'HostKeyChanged') && n;
    });
    expect(flagged.status?.hostKey?.key).toBe(pinned); // the pin is kept
    expect(flagged.status?.lastError).toMatch(/host key/i);
    expect(flagged.status?.lastError).toMatch(/orion\.lab\/accept-host-key=SHA256:/);
    await waitFor('worker-2 Dead with a changed key', () => node('worker-2')?.status?.health === 'Dead');
  });

  it('writes no status while a node is steady', async () => {
    const before = node('worker-1');
    await new Promise((r) => setTimeout(r, 3500)); // three probe intervals
    expect(node('worker-1')?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
  });
});
