// The Kubernetes store against a real kube-apiserver and etcd: cache and informers, status writes with
// conflicts, finalizers, Secrets, Events, an API server restart, and Lease-based leader election.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RentalResource, RentalStatus } from '../../src/api/types.js';
import { ConflictError } from '../../src/store/errors.js';
import { LeaderElector } from '../../src/kube/leader.js';
import { KubeStore } from '../../src/kube/store.js';
import { KubeClient, type RequestInfo } from '../../src/kube/client.js';
import type { WatchEvent } from '../../src/store/store.js';
import { KubeBed, NAMESPACE, waitFor } from '../harness/kube-bed.js';

const ref = (name: string) => ({ kind: 'Rental' as const, namespace: NAMESPACE, name });

describe('KubeStore against a real kube-apiserver', () => {
  let bed: KubeBed;
  let store: KubeStore;
  const requests: RequestInfo[] = [];
  const events: WatchEvent[] = [];

  beforeAll(async () => {
    bed = await KubeBed.create();
    await bed.apply([bed.rentalManifest('alpha'), bed.rentalManifest('beta')]);
    store = new KubeStore({ kubeconfig: bed.kube.kubeconfig, namespace: NAMESPACE, informer: { watchTimeoutSeconds: 5 }, secrets: { freshMs: 1000 } });
    store.client.observe((info) => requests.push(info));
    store.watch('Rental', (e) => events.push(e));
    await store.start();
  });

  afterAll(async () => {
    await store?.stop();
    await bed?.destroy();
  });

  const rental = (name: string) => store.get<RentalResource>(ref(name));

  it('lists on start and hands out frozen objects with the defaults of the CRD', () => {
    expect(store.synced).toBe(true);
    expect(store.list('Rental').map((r) => r.metadata.name).sort()).toEqual(['alpha', 'beta']);
    const alpha = rental('alpha');
    expect(Object.isFrozen(alpha?.metadata)).toBe(true);
    expect(alpha?.metadata.uid).toMatch(/-/);
    expect(alpha?.spec).toMatchObject({ sudo: false, nodeSelector: {} });
  });

  it('writes status through the status subresource; the next read sees it at once; an equal status is not sent', async () => {
    const alpha = rental('alpha') as RentalResource;
    const status: RentalStatus = { phase: 'Pending', observedGeneration: 1 };
    const written = await store.updateStatus(alpha, status);
    expect(written.metadata.resourceVersion).not.toBe(alpha.metadata.resourceVersion);
    expect(rental('alpha')).toBe(written);
    const before = requests.length;
    await store.updateStatus(written, { observedGeneration: 1, phase: 'Pending' });
    expect(requests.length).toBe(before);
    const onServer = await bed.getJson<RentalResource>('rental', 'alpha');
    expect(onServer?.status?.phase).toBe('Pending');
  });

  it('a status changed by another writer between read and write is a ConflictError (HTTP 409), never overwritten', async () => {
    const stale = rental('alpha') as RentalResource;
    await bed.mustKubectl(['patch', '-n', NAMESPACE, 'rental', 'alpha', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Failed"}}']);
    await waitFor('the informer to see the other write', () => rental('alpha')?.status?.phase === 'Failed');
    const before = requests.length;
    await expect(store.updateStatus(stale, { phase: 'Ready' })).rejects.toBeInstanceOf(ConflictError);
    expect(requests.slice(before)).toEqual([{ verb: 'update', resource: 'rentals/status', code: '409' }]);
    expect((await bed.getJson<RentalResource>('rental', 'alpha'))?.status?.phase).toBe('Failed');
  });

  it('adds and removes finalizers with a resourceVersion guard; removing the last one of a deleted object releases it', async () => {
    const beta = rental('beta') as RentalResource;
    const guarded = await store.addFinalizer(beta, 'orion.lab/finalizer');
    expect(guarded.metadata.finalizers).toEqual(['orion.lab/finalizer']);
    await expect(store.addFinalizer(beta, 'orion.lab/other')).rejects.toBeInstanceOf(ConflictError);
    await bed.mustKubectl(['delete', '-n', NAMESPACE, 'rental', 'beta', '--wait=false']);
    const deleting = await waitFor('deletionTimestamp', () => (rental('beta')?.metadata.deletionTimestamp ? rental('beta') : undefined));
    expect(await store.removeFinalizer(deleting, 'orion.lab/finalizer')).toBeUndefined();
    expect(rental('beta')).toBeUndefined();
    await waitFor('beta gone on the server', async () => (await bed.getJson('rental', 'beta')) === undefined);
    expect(events.filter((e) => e.object.metadata.name === 'beta' && e.type === 'DELETED')).toHaveLength(1);
  });

  it('reads a Secret a resource names on demand, and tells when one it was asked for appears or changes', async () => {
    expect(await store.readSecret(NAMESPACE, 'late-key')).toBeUndefined();
    const seen: string[] = [];
    const off = store.watchSecrets((ns, name) => seen.push(`${ns}/${name}`));
    await bed.apply([bed.keySecret('late-key')]);
    await waitFor('the secret event', () => seen.includes(`${NAMESPACE}/late-key`));
    expect((await store.readSecret(NAMESPACE, 'late-key'))?.privateKey).toContain('PRIVATE KEY');
    seen.length = 0;
    await bed.mustKubectl(['patch', '-n', NAMESPACE, 'secret', 'late-key', '--type=merge', '-p', '{"stringData":{"privateKey":"rotated PRIVATE KEY"}}']);
    await waitFor('the change event', () => seen.includes(`${NAMESPACE}/late-key`));
    expect((await store.readSecret(NAMESPACE, 'late-key'))?.privateKey).toBe('rotated PRIVATE KEY');
    off();
  });

  it('holds only Orion\'s own Secrets in its informer, and a bounded number of the others it read', async () => {
    const others = Array.from({ length: 12 }, (_, i) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `someone-${i}` }, stringData: { token: `t${i}` } }));
    const own = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'orions-own', labels: { 'orion.lab/owner-uid': 'u-1' } }, stringData: { password: 'p' } };
    await bed.apply([...others, own]);
    const small = new KubeStore({ kubeconfig: bed.kube.kubeconfig, namespace: NAMESPACE, kinds: ['Rental'], secrets: { maxEntries: 4 } });
    await small.start();
    try {
      await waitFor('its own Secret in the informer', () => small.secrets.own.keys().includes(`${NAMESPACE}/orions-own`));
      // The informer listed the namespace with its label selector: none of the others, nor the key Secrets, are in it.
      expect(small.secrets.own.keys()).toEqual([`${NAMESPACE}/orions-own`]);
      expect(await small.readOwnSecret(NAMESPACE, 'orions-own', 'u-1')).toEqual({ password: 'p' });
      expect(await small.readOwnSecret(NAMESPACE, 'orions-own', 'u-2')).toBeUndefined();
      expect(small.secrets.cached().keys).toEqual([]);
      // Others are read by name when asked for, and at most maxEntries of them are kept (the least recently read go).
      for (let i = 0; i < 12; i++) expect(await small.readSecret(NAMESPACE, `someone-${i}`)).toEqual({ token: `t${i}` });
      expect(small.secrets.cached().keys).toEqual([8, 9, 10, 11].map((i) => `${NAMESPACE}/someone-${i}`));
      expect(await small.readSecret(NAMESPACE, 'no-such-secret')).toBeUndefined();
      expect(small.secrets.cached().keys).toHaveLength(4);
    } finally {
      await small.stop();
    }
  });

  it('records events.k8s.io/v1 Events and counts repeats without a write each', async () => {
    const alpha = rental('alpha') as RentalResource;
    const before = requests.filter((r) => r.resource === 'events').length;
    for (let i = 0; i < 5; i++) await store.recordEvent(alpha, { type: 'Warning', reason: 'TestReason', message: 'something happened' });
    expect(requests.filter((r) => r.resource === 'events').length - before).toBe(1);
    const out = await bed.mustKubectl(['get', 'events.events.k8s.io', '-n', NAMESPACE, '-o', 'json']);
    const items = (JSON.parse(out) as { items: Array<{ reason: string; regarding: { name: string }; reportingController: string }> }).items;
    expect(items.find((e) => e.reason === 'TestReason')).toMatchObject({ regarding: { name: 'alpha' }, reportingController: 'orion.lab/orion' });
  });

  it('recovers its watches after a kube-apiserver restart and sees changes made after it', async () => {
    await bed.kube.restartApiServer();
    await bed.apply([bed.rentalManifest('gamma')]);
    await bed.mustKubectl(['label', '-n', NAMESPACE, 'rental', 'alpha', 'after=restart']);
    await waitFor('gamma in the cache', () => rental('gamma'), 60_000);
    await waitFor('the new label', () => rental('alpha')?.metadata.labels?.after === 'restart', 60_000);
    expect(store.synced).toBe(true);
  });
});

describe('Lease leader election against a real kube-apiserver', () => {
  let bed: KubeBed;
  let client: KubeClient;

  beforeAll(async () => {
    bed = await KubeBed.create();
    client = KubeClient.connect({ kubeconfig: bed.kube.kubeconfig });
  });

  afterAll(async () => {
    client?.close();
    await bed?.destroy();
  });

  const elector = (identity: string, lost: string[]) =>
    new LeaderElector({ client, namespace: NAMESPACE, identity, leaseDurationSeconds: 3, renewDeadlineSeconds: 2, retryPeriodSeconds: 0.5, onLost: () => lost.push(identity) });

  it('elects one leader; a standby takes over at once when the leader releases, and after expiry when it vanishes', async () => {
    const lost: string[] = [];
    const a = elector('a', lost);
    const b = elector('b', lost);
    await a.acquire();
    let bLeads = false;
    const bAcquired = b.acquire().then(() => (bLeads = true));
    await new Promise((r) => setTimeout(r, 2000));
    expect(bLeads).toBe(false);
    const lease = JSON.parse(await bed.mustKubectl(['get', 'lease', '-n', NAMESPACE, 'orion-leader', '-o', 'json'])) as { spec: { holderIdentity: string } };
    expect(lease.spec.holderIdentity).toBe('a');
    const releasedAt = Date.now();
    await a.release();
    await bAcquired;
    expect(Date.now() - releasedAt).toBeLessThan(2000);

    // A third candidate waits while b renews; b vanishes (stops renewing without releasing): c takes over after expiry.
    const c = elector('c', lost);
    const cAcquired = c.acquire();
    await new Promise((r) => setTimeout(r, 1500));
    (b as unknown as { stopped: boolean }).stopped = true; // a crash: no release
    const crashedAt = Date.now();
    await cAcquired;
    expect(Date.now() - crashedAt).toBeGreaterThan(2000);
    await c.release();
    expect(lost).toEqual([]);
  });
});
