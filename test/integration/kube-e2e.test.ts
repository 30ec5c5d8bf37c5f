// Orion in Kubernetes mode end to end: a real kube-apiserver and etcd, real SSH workers, real Ansible, and
// the resources driven with kubectl. Nodes become Alive, Rentals Ready (kubectl wait works), a clobbered
// status converges, deletion runs delete_user before the finalizer goes, an API server restart is
// survived, a missing key Secret is reported and recovered from, and two leader-elected processes hand
// over when the leader is killed without provisioning anything twice.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeResource, RentalResource } from '../../src/api/types.js';
import { listRunLogs } from '../../src/exec/run-logs.js';
import { KubeBed, NAMESPACE, waitFor, type OrionProcess } from '../harness/kube-bed.js';

const WORKERS = 4;
const BASE_PORT = 22600;

describe('Orion on a real kube-apiserver (kubectl, sshd, Ansible)', () => {
  let bed: KubeBed;

  beforeAll(async () => {
    bed = await KubeBed.create({ workers: WORKERS, basePort: BASE_PORT });
    await bed.apply([bed.keySecret(), ...bed.workers.map((w) => bed.nodeManifest(w.name, w.port))]);
    await bed.startOrion();
  });

  afterAll(async () => {
    await bed?.destroy();
  });

  const store = () => bed.orion?.store;
  const node = (name: string) => store()?.get<NodeResource>({ kind: 'Node', namespace: NAMESPACE, name });
  const rental = (name: string) => store()?.get<RentalResource>({ kind: 'Rental', namespace: NAMESPACE, name });
  const userExists = async (nodeName: string, user: string) => (await bed.dataPlane?.worker(nodeName).exec(['id', user]))?.exitCode === 0;
  const readyRental = (name: string, timeoutMs = 90_000) =>
    waitFor(`rental ${name} Ready`, () => rental(name)?.status?.phase === 'Ready' && rental(name), timeoutMs);

  it('Nodes become Alive and Rentals Ready; kubectl wait and the printer columns work', async () => {
    await waitFor('nodes Alive', () => bed.workers.every((w) => node(w.name)?.status?.health === 'Alive'), 60_000);
    await bed.apply([bed.rentalManifest('alice'), bed.rentalManifest('bob')]);
    const wait = await bed.kubectl(['wait', '-n', NAMESPACE, '--for=condition=Ready', '--timeout=120s', 'rental/alice', 'rental/bob']);
    expect(wait.exitCode, wait.stderr).toBe(0);
    const alice = await readyRental('alice');
    expect(await userExists(alice.status?.nodeName ?? '', 'alice')).toBe(true);
    const table = await bed.mustKubectl(['get', 'rentals', '-n', NAMESPACE]);
    expect(table.split('\n')[0]).toMatch(/NAME\s+USER\s+PHASE\s+NODE\s+HOST\s+PORT/);
    expect(table).toMatch(/alice\s+alice\s+Ready\s+worker-\d/);
    const nodes = await bed.mustKubectl(['get', 'nodes.orion.lab', '-n', NAMESPACE]);
    expect(nodes).toMatch(/worker-1/);
    const onServer = await bed.getJson<RentalResource>('rental', 'alice');
    expect(onServer?.status?.observedGeneration).toBe(onServer?.metadata.generation);
    expect(onServer?.metadata.finalizers).toContain('orion.lab/finalizer');
  });

  it('a status clobbered by another writer converges back to the right status', async () => {
    const before = await readyRental('bob');
    await bed.mustKubectl(['patch', '-n', NAMESPACE, 'rental', 'bob', '--subresource=status', '--type=merge',
      '-p', '{"status":{"phase":"Pending","provisionedHash":null,"conditions":null}}']);
    await waitFor('the clobbered status seen', () => rental('bob')?.status?.phase !== 'Ready' || rental('bob')?.metadata.resourceVersion !== before.metadata.resourceVersion);
    const after = await readyRental('bob');
    expect(after.status?.nodeName).toBe(before.status?.nodeName);
    expect(after.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('deleting a Rental runs delete_user before the finalizer goes, and leaves no node allocated', async () => {
    const bob = await readyRental('bob');
    const nodeName = bob.status?.nodeName ?? '';
    await bed.mustKubectl(['delete', '-n', NAMESPACE, 'rental', 'bob', '--wait=true', '--timeout=120s']);
    expect(await userExists(nodeName, 'bob')).toBe(false);
    await waitFor('node released', () => node(nodeName)?.status?.allocation === undefined);
    const onServer = await bed.getJson<NodeResource>('node.orion.lab', nodeName);
    expect(onServer?.status?.allocation).toBeUndefined();
    const runs = await listRunLogs(join(bed.root, 'state', 'runs'), { kind: 'Rental', namespace: NAMESPACE, name: 'bob' });
    expect(runs.map((r) => r.playbook)).toContain('delete_user');
  });

  it('survives a kube-apiserver restart without restarting Orion, and sees changes made after it', async () => {
    const orion = bed.orion;
    await bed.kube.restartApiServer();
    await bed.apply([bed.rentalManifest('carol')]);
    const carol = await readyRental('carol', 120_000);
    expect(bed.orion).toBe(orion);
    expect(await userExists(carol.status?.nodeName ?? '', 'carol')).toBe(true);
  });

  it('a Node whose key Secret is missing says so, and recovers when the Secret is created', async () => {
    const worker = bed.workers[0];
    if (!worker) throw new Error('no worker');
    await bed.apply([
      bed.nodeManifest('lonely', worker.port, 'lonely-key', { pool: 'lonely' }),
      bed.rentalManifest('dave', { nodeSelector: { matchLabels: { pool: 'lonely' } } }),
    ]);
    const missing = await waitFor('SecretMissing', () => node('lonely')?.status?.conditions?.find((c) => c.reason === 'SecretMissing') && node('lonely'));
    expect(missing.status?.lastError).toMatch(/secret "lonely-key" not found/);
    await waitFor('dave Unschedulable', () => rental('dave')?.status?.phase === 'Unschedulable');
    await bed.apply([bed.keySecret('lonely-key')]);
    await waitFor('lonely Alive', () => node('lonely')?.status?.health === 'Alive', 60_000);
    const dave = await readyRental('dave');
    expect(dave.status?.nodeName).toBe('lonely');
  });

  it('two leader-elected processes: one reconciles; kill -9 it and the other takes over without double work', async () => {
    await bed.orion?.stop();
    bed.orion = undefined;
    const procs: OrionProcess[] = [await bed.spawnOrion('a', ['--leader-elect']), await bed.spawnOrion('b', ['--leader-elect'])];
    try {
      const leaderOf = async () => (await leaseHolder(bed)) ?? '';
      await waitFor('both ready', async () => (await Promise.all(procs.map((p) => p.ready()))).every(Boolean), 60_000);
      const holder = await waitFor('a leader', async () => (await leaderOf()) || undefined, 30_000);
      await bed.apply([bed.rentalManifest('erin')]);
      await waitFor('erin Ready', async () => (await bed.getJson<RentalResource>('rental', 'erin'))?.status?.phase === 'Ready', 120_000);
      const leader = await whichProcess(procs, holder);
      const standby = procs.find((p) => p !== leader) as OrionProcess;
      expect(await standby.ready()).toBe(true);

      leader.kill('SIGKILL');
      const killedAt = Date.now();
      await bed.apply([bed.rentalManifest('frank')]);
      const newHolder = await waitFor('a new leader', async () => {
        const h = await leaderOf();
        return h && h !== holder ? h : undefined;
      }, 40_000);
      const takeoverMs = Date.now() - killedAt;
      expect(await whichProcess(procs, newHolder)).toBe(standby);
      expect(takeoverMs).toBeLessThan(25_000);
      await waitFor('frank Ready', async () => (await bed.getJson<RentalResource>('rental', 'frank'))?.status?.phase === 'Ready', 120_000);

      const runsOf = async (name: string) => {
        const all = await Promise.all(procs.map((p) => listRunLogs(join(bed.root, `state-${p.name}`, 'runs'), { kind: 'Rental', namespace: NAMESPACE, name })));
        return all.flat().filter((r) => r.playbook === 'create_user').length;
      };
      expect(await runsOf('erin')).toBe(1);
      expect(await runsOf('frank')).toBe(1);
    } catch (err) {
      const { readFile } = await import('node:fs/promises');
      const tails = await Promise.all(procs.map(async (p) => `--- ${p.name}:\n${(await readFile(p.logFile, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n')}`));
      throw new Error(`${(err as Error).message}\n${tails.join('\n')}`);
    } finally {
      for (const p of procs) p.kill('SIGTERM');
      await Promise.all(procs.map((p) => p.exited()));
    }
  }, 300_000);
});

async function leaseHolder(bed: KubeBed): Promise<string | undefined> {
  const lease = await bed.getJson<{ spec: { holderIdentity?: string } }>('lease', 'orion-leader');
  return lease?.spec.holderIdentity || undefined;
}

/** The process whose log says it became leader with this identity. */
async function whichProcess(procs: OrionProcess[], identity: string): Promise<OrionProcess> {
  const { readFile } = await import('node:fs/promises');
  for (const p of procs) {
    const log = await readFile(p.logFile, 'utf8').catch(() => '');
    if (log.includes(`"identity":"${identity}"`) && log.includes('became leader')) return p;
  }
  throw new Error(`no process has identity ${identity}`);
}
