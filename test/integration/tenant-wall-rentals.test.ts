// Rentals and Nodes on the tenant wall, with Orion's controllers in folder mode against real sshd workers and real
// Ansible: a rental naming an account Orion did not make fails with AccountExists and changes nothing; the node's
// own login can never be a tenant; a Node that goes away removes its tenants first (or keeps CleanupPending while it
// cannot, or lets go when an admin says so); an allocation whose rental is gone is cleared and its tenant removed.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCondition } from '../../src/api/conditions.js';
import type { NodeResource, RentalResource } from '../../src/api/types.js';
import { logsCommand } from '../../src/cli/logs.js';
import type { SshWorker } from '../../src/dataplane/workers.js';
import { TestBed, waitFor } from '../harness/cluster.js';
import { sshLogin } from '../harness/tenant.js';

describe('Rentals and Nodes on the tenant wall (real sshd and Ansible)', () => {
  let bed: TestBed;
  let w: SshWorker[];

  const rental = (name: string) => bed.get<RentalResource>('Rental', name);
  const node = (name: string) => bed.get<NodeResource>('Node', name);
  const userExists = async (worker: SshWorker, user: string) => (await worker.exec(['id', '-u', user])).exitCode === 0;
  const sh = async (worker: SshWorker, script: string) => {
    const result = await worker.exec(['sh', '-c', script]);
    if (result.exitCode !== 0) throw new Error(`${script}: ${result.stderr}`);
    return result.stdout;
  };
  const snapshot = (worker: SshWorker, user: string) =>
    sh(worker, `getent passwd ${user}; getent shadow ${user}; getent group ${user}; find /home/${user} -printf '%p %u %g %m %s\\n' | sort
      find /home/${user} -type f -exec sha256sum {} + | sort; sha256sum /etc/sudoers.d/* | sort; ls /etc/orion/tenants 2>/dev/null; true`);

  /** One file per Node, so that removing a file deletes one Node. */
  const writeNode = (worker: SshWorker, pool: string, extra: { user?: string; annotations?: Record<string, string> } = {}) => {
    const manifest = bed.nodeManifest(worker, { pool }) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
    if (extra.annotations) manifest.metadata.annotations = extra.annotations;
    if (extra.user) manifest.spec.user = extra.user;
    return bed.write(`node-${worker.name}.yaml`, [manifest]);
  };
  const inPool = (name: string, pool: string) => bed.rentalManifest(name, { nodeSelector: { matchLabels: { pool } } });

  beforeAll(async () => {
    bed = await TestBed.create({ workers: 4, basePort: 22940 });
    w = bed.dataPlane.workers;
    await bed.remove('nodes.yaml');
    // w2's login for Orion is ops (sudo, Orion's key), as an admin would set it up instead of root.
    await sh(w[2] as SshWorker, `useradd -m -s /bin/bash ops && install -d -m 700 -o ops -g ops /home/ops/.ssh
      printf '%s\\n' '${bed.orchestratorKey.publicKey}' > /home/ops/.ssh/authorized_keys && chown ops:ops /home/ops/.ssh/authorized_keys
      echo 'ops ALL=(ALL:ALL) NOPASSWD: ALL' > /etc/sudoers.d/ops && chmod 440 /etc/sudoers.d/ops`);
    await writeNode(w[0] as SshWorker, 'test');
    await writeNode(w[1] as SshWorker, 'test');
    await writeNode(w[2] as SshWorker, 'ops', { user: 'ops' });
    await writeNode(w[3] as SshWorker, 'spare');
    await bed.startOrion();
    await waitFor('4 Alive nodes with the finalizer', () =>
      bed.list<NodeResource>('Node').filter((n) => n.status?.health === 'Alive' && n.metadata.finalizers?.includes('orion.lab/finalizer')).length === 4);
  }, 180_000);

  afterAll(async () => {
    await bed?.destroy();
  });

  it('a rental naming an account Orion did not make fails with AccountExists, and nothing on the node changes', async () => {
    for (const worker of [w[0], w[1]] as SshWorker[]) {
      await sh(worker, `useradd -m -s /bin/bash carol && usermod -p '$6$x$handmadehash' carol && echo mine > /home/carol/notes
        install -d -m 700 -o carol -g carol /home/carol/.ssh && echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHandMade carol@desk' > /home/carol/.ssh/authorized_keys
        echo 'carol ALL=(ALL:ALL) ALL' > /etc/sudoers.d/carol && chmod 440 /etc/sudoers.d/carol`);
    }
    const before = await Promise.all([w[0], w[1]].map((worker) => snapshot(worker as SshWorker, 'carol')));
    await bed.write('carol.yaml', [inPool('carol', 'test')]);
    const failed = await waitFor('carol Failed', () => rental('carol')?.status?.phase === 'Failed' && rental('carol'), 120_000);
    expect(getCondition(failed.status?.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'AccountExists' });
    expect(failed.status?.lastRun?.message).toMatch(/^AccountExists: carol already exists on this node \(user, group, home\)/);
    expect(await Promise.all([w[0], w[1]].map((worker) => snapshot(worker as SshWorker, 'carol')))).toEqual(before);

    // Releasing it runs delete_user, which leaves the account alone; the node is free again.
    const held = failed.status?.nodeName ?? '';
    await bed.remove('carol.yaml');
    await waitFor('carol released', () => rental('carol') === undefined, 120_000);
    expect(await Promise.all([w[0], w[1]].map((worker) => snapshot(worker as SshWorker, 'carol')))).toEqual(before);
    expect(node(held)?.status?.allocation).toBeUndefined();
    expect(node(held)?.status?.cleanup ?? []).toEqual([]);
  }, 300_000);

  it('the node\'s own login can never be a tenant: the rental fails with AdminLogin and no playbook runs', async () => {
    const before = await snapshot(w[2] as SshWorker, 'ops');
    await bed.write('ops.yaml', [inPool('ops', 'ops')]);
    const failed = await waitFor('ops Failed', () => rental('ops')?.status?.phase === 'Failed' && rental('ops'), 120_000);
    expect(getCondition(failed.status?.conditions, 'Ready')).toMatchObject({ reason: 'AdminLogin', message: `user ops is the login Orion uses on node ${w[2]?.name}: it can never be a tenant` });
    await bed.remove('ops.yaml');
    await waitFor('ops released', () => rental('ops') === undefined, 60_000);
    expect(await logsCommand('rental/ops', { stateDir: bed.store.state.root, namespace: 'default' })).toMatch(/No runs recorded/);
    expect(await snapshot(w[2] as SshWorker, 'ops')).toBe(before);
    expect(node(w[2]?.name ?? '')?.status?.health).toBe('Alive'); // Orion still logs in as ops
  }, 180_000);

  let first: SshWorker;
  let second: SshWorker;

  it('a Node deleted with a tenant on it: the tenant moves, and delete_user runs there before the Node goes', async () => {
    await bed.write('dana.yaml', [inPool('dana', 'test')]);
    const ready = await waitFor('dana Ready', () => rental('dana')?.status?.phase === 'Ready' && rental('dana'), 120_000);
    first = bed.dataPlane.worker(ready.status?.nodeName ?? '');
    second = first === w[0] ? (w[1] as SshWorker) : (w[0] as SshWorker);
    expect(await userExists(first, 'dana')).toBe(true);

    await bed.remove(`node-${first.name}.yaml`);
    const moved = await waitFor('dana Ready on the other node', () => {
      const r = rental('dana');
      return r?.status?.phase === 'Ready' && r.status.nodeName === second.name && r;
    }, 120_000);
    expect(moved.status?.history?.map((h) => h.reason)).toEqual(['Scheduled', 'Failover']);
    await waitFor('the deleted Node gone', () => node(first.name) === undefined, 120_000);
    expect(await userExists(first, 'dana')).toBe(false);
    expect(await userExists(second, 'dana')).toBe(true);
    expect((await sshLogin(bed.tenantKey.privateKeyPath, '127.0.0.1', second.port, 'dana')).ok).toBe(true);
  }, 300_000);

  it('a Node deleted while unreachable keeps CleanupPending naming its tenant, and cleans up when it is back', async () => {
    await second.kill();
    await bed.remove(`node-${second.name}.yaml`);
    const pending = await waitFor('CleanupPending=True', () => {
      const n = node(second.name);
      const c = getCondition(n?.status?.conditions, 'CleanupPending');
      return c?.status === 'True' && /unreachable/.test(c.message ?? '') && n;
    }, 120_000);
    expect(pending.metadata.deletionTimestamp).toBeDefined();
    expect(getCondition(pending.status?.conditions, 'CleanupPending')?.message).toMatch(/^dana \(default\/dana\): delete_user dana: unreachable/);
    expect(pending.status?.cleanup?.map((c) => [c.user, c.uid])).toEqual([['dana', rental('dana')?.metadata.uid]]);
    await new Promise((r) => setTimeout(r, 3000));
    expect(node(second.name)?.metadata.deletionTimestamp).toBeDefined(); // still there, retrying

    await second.start();
    await waitFor('the Node gone once delete_user ran', () => node(second.name) === undefined, 150_000);
    expect(await userExists(second, 'dana')).toBe(false);
    await bed.remove('dana.yaml'); // no node of its pool is left: let it go
    await waitFor('dana gone', () => rental('dana') === undefined, 60_000);
  }, 400_000);

  it('an admin lets go of an unreachable Node with orion.lab/abandon-cleanup: its tenant stays on the machine', async () => {
    const spare = w[3] as SshWorker;
    await bed.write('erin.yaml', [inPool('erin', 'spare')]);
    await waitFor('erin Ready', () => rental('erin')?.status?.phase === 'Ready', 120_000);
    await spare.kill();
    await bed.remove(`node-${spare.name}.yaml`);
    const stuck = await waitFor('CleanupPending=True', () => {
      const n = node(spare.name);
      return getCondition(n?.status?.conditions, 'CleanupPending')?.status === 'True' && n;
    }, 120_000);
    // Folder mode: the admin puts the Node's file back with the annotation; the terminating Node takes it and lets go.
    await writeNode(spare, 'spare', { annotations: { 'orion.lab/abandon-cleanup': 'true' } });
    await waitFor('the Node let go (and made anew from the file)', () => node(spare.name)?.metadata.uid !== stuck.metadata.uid, 60_000);
    await bed.remove(`node-${spare.name}.yaml`);
    await waitFor('the new Node, which holds no one, gone', () => node(spare.name) === undefined, 60_000);
    await spare.start();
    expect(await userExists(spare, 'erin')).toBe(true);
    await bed.remove('erin.yaml');
    await waitFor('erin gone', () => rental('erin') === undefined, 60_000);
  }, 300_000);

  it('an allocation whose rental no longer exists is cleared, and its tenant removed', async () => {
    await writeNode(w[0] as SshWorker, 'test');
    await waitFor(`${w[0]?.name} back and free`, () => node(w[0]?.name ?? '')?.status?.health === 'Alive', 60_000);
    await bed.write('fay.yaml', [inPool('fay', 'test')]);
    const fay = await waitFor('fay Ready', () => rental('fay')?.status?.phase === 'Ready' && rental('fay'), 120_000);
    const held = bed.dataPlane.worker(fay.status?.nodeName ?? '');
    expect(await userExists(held, 'fay')).toBe(true);

    // The rental vanishes without its finalizer (its state lost while Orion was stopped, as a force-deleted object).
    await bed.stopOrion();
    await bed.remove('fay.yaml');
    await rm(join(bed.root, 'state', 'objects', 'Rental', 'default', 'fay.json'));
    await bed.startOrion();
    await waitFor('the stale allocation cleared and the tenant removed', async () => {
      const n = node(held.name);
      return !n?.status?.allocation && (n?.status?.cleanup ?? []).length === 0 && !(await userExists(held, 'fay'));
    }, 120_000);
    expect(bed.store.eventsOf(node(held.name) as NodeResource).map((e) => e.reason)).toEqual(expect.arrayContaining(['StaleAllocation', 'TenantRemoved']));
  }, 400_000);
});
