// The Rental controller against real SSH workers and real Ansible: binding, login, failover, cleanup,
// waiting for a free node, flapping, bad input and failed playbooks (named by the admin's RentalClasses).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeResource, RentalResource } from '../../src/api/types.js';
import { logsCommand } from '../../src/cli/logs.js';
import type { SshWorker } from '../../src/dataplane/workers.js';
import { TestBed, waitFor } from '../harness/cluster.js';
import { sshLogin } from '../harness/tenant.js';

const FIXTURE_PLAYBOOKS = join(import.meta.dirname, '..', 'fixtures', 'rental-playbooks');

describe('Rental controller (real sshd and Ansible)', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await TestBed.create({ workers: 4, basePort: 22500, extraPlaybookDirs: [FIXTURE_PLAYBOOKS] });
    // The admin's classes: the default one (Orion's own playbooks) and two whose create playbook fails.
    await bed.write('classes.yaml', [
      bed.rentalClassManifest('standard', {}, true),
      bed.rentalClassManifest('fails', { playbooks: { create: 'create_fails' } }),
      bed.rentalClassManifest('unreachable', { playbooks: { create: 'create_unreachable' } }),
    ]);
    await bed.startOrion();
    await waitFor('4 Alive nodes', () => bed.list<NodeResource>('Node').filter((n) => n.status?.health === 'Alive').length === 4);
  });

  afterAll(async () => {
    await bed?.destroy();
  });

  const rental = (name: string): RentalResource | undefined => bed.get<RentalResource>('Rental', name);
  const readyRental = (name: string): Promise<RentalResource> =>
    waitFor(`${name} Ready`, () => rental(name)?.status?.phase === 'Ready' && rental(name), 90_000);
  const workerOf = (r: RentalResource): SshWorker => bed.dataPlane.worker(r.status?.nodeName ?? '');
  const userExists = async (worker: SshWorker, user: string): Promise<boolean> => (await worker.exec(['id', '-u', user])).exitCode === 0;

  it('binds a rental, creates the tenant on that node only, and the tenant logs in', async () => {
    await bed.write('alice.yaml', [bed.rentalManifest('alice')]);
    const alice = await readyRental('alice');
    const { host, port, user } = alice.status?.connection ?? {};
    expect(user).toBe('alice');
    expect(port).toBe(workerOf(alice).port);
    const login = await sshLogin(bed.tenantKey.privateKeyPath, host ?? '', port ?? 0, 'alice');
    expect(login.ok, login.output).toBe(true);
    for (const worker of bed.dataPlane.workers) {
      expect(await userExists(worker, 'alice')).toBe(worker.name === alice.status?.nodeName);
    }
    const node = bed.get<NodeResource>('Node', alice.status?.nodeName ?? '');
    expect(node?.status?.allocation?.rental).toBe('default/alice');
    expect(alice.status?.conditions?.map((c) => [c.type, c.status])).toEqual(
      expect.arrayContaining([['Scheduled', 'True'], ['Provisioned', 'True'], ['Ready', 'True']]),
    );
  });

  it('moves the rental when its node dies, and cleans the old node when it comes back', async () => {
    const before = await readyRental('alice');
    const oldWorker = workerOf(before);
    await oldWorker.kill();
    const moved = await waitFor(
      'alice Ready elsewhere',
      () => {
        const r = rental('alice');
        return r?.status?.phase === 'Ready' && r.status.nodeName !== oldWorker.name && r;
      },
      90_000,
    );
    const login = await sshLogin(bed.tenantKey.privateKeyPath, '127.0.0.1', moved.status?.connection?.port ?? 0, 'alice');
    expect(login.ok, login.output).toBe(true);
    expect(moved.status?.history?.map((h) => h.reason)).toEqual(['Scheduled', 'Failover']);
    expect(moved.status?.history?.[0]?.to).toBeDefined();
    expect(bed.store.eventsOf(moved).some((e) => e.reason === 'NodeDead')).toBe(true);
    const oldNode = bed.get<NodeResource>('Node', oldWorker.name);
    expect(oldNode?.status?.allocation).toBeUndefined();
    expect(oldNode?.status?.cleanup?.map((c) => c.user)).toEqual(['alice']);

    await oldWorker.start(); // it comes back with alice still in its /etc/passwd
    await waitFor('old node cleaned', () => {
      const n = bed.get<NodeResource>('Node', oldWorker.name);
      return n?.status?.health === 'Alive' && (n.status.cleanup ?? []).length === 0;
    }, 90_000);
    expect(await userExists(oldWorker, 'alice')).toBe(false);
    expect(await userExists(workerOf(moved), 'alice')).toBe(true);
  });

  it('reports Unschedulable when no node is free, and binds as soon as one is', async () => {
    await bed.write('fill.yaml', ['bob', 'carol', 'dave'].map((n) => bed.rentalManifest(n)));
    await Promise.all(['bob', 'carol', 'dave'].map(readyRental));
    await bed.write('erin.yaml', [bed.rentalManifest('erin')]);
    const waiting = await waitFor('erin Unschedulable', () => rental('erin')?.status?.phase === 'Unschedulable' && rental('erin'));
    expect(waiting.status?.conditions?.find((c) => c.type === 'Scheduled')).toMatchObject({ status: 'False', reason: 'NoHealthyNode' });
    const bobNode = rental('bob')?.status?.nodeName;
    await bed.write('fill.yaml', ['carol', 'dave'].map((n) => bed.rentalManifest(n))); // bob is deleted
    await waitFor('bob released', () => rental('bob') === undefined, 90_000);
    expect(await userExists(bed.dataPlane.worker(bobNode ?? ''), 'bob')).toBe(false);
    const erin = await readyRental('erin');
    expect(erin.status?.nodeName).toBe(bobNode);
  });

  it('does not move a rental when its node flaps faster than the thresholds', async () => {
    // failureThreshold 2 at a 1 s interval: a worker down for well under one interval never reaches it.
    const carol = await readyRental('carol');
    const worker = workerOf(carol);
    for (let i = 0; i < 3; i++) {
      await worker.kill();
      await new Promise((r) => setTimeout(r, 300));
      await worker.start();
      await new Promise((r) => setTimeout(r, 1500));
    }
    const after = rental('carol');
    expect(after?.status?.nodeName).toBe(carol.status?.nodeName);
    expect(after?.status?.history).toHaveLength(1);
    expect(bed.get<NodeResource>('Node', worker.name)?.status?.health).toBe('Alive');
  });

  it('rejects bad input with a clear error and runs nothing', async () => {
    const bad = ['root', '../x', 'a;reboot', '$(id)', 'x'.repeat(300)].map((user, i) => ({
      ...(bed.rentalManifest(`bad-${i}`) as { spec: object }),
      spec: { ...(bed.rentalManifest('x') as { spec: object }).spec, user },
    }));
    for (const [i, doc] of bad.entries()) await bed.write(`bad-${i}.yaml`, [doc]);
    await bed.write('bad-playbook.yaml', [bed.rentalManifest('frank', { playbooks: { create: '../create_user' } })]);
    await bed.write('bad-class.yaml', [bed.rentalClassManifest('evil', { playbooks: { create: '../create_user' } })]);
    await bed.store.flush();
    await waitFor('errors reported', () => new Set(bed.store.invalid.map((e) => e.file)).size >= 7);
    const userErrorFiles = new Set(bed.store.invalid.filter((e) => e.field === 'spec.user').map((e) => e.file));
    expect(userErrorFiles.size).toBe(5);
    expect(bed.store.invalid.find((e) => e.file.endsWith('bad-4.yaml'))?.message).toMatch(/more than 32/);
    expect(bed.store.invalid.find((e) => e.file.endsWith('bad-0.yaml'))?.message).toMatch(/reserved/);
    expect(bed.store.invalid.find((e) => e.file.endsWith('bad-1.yaml'))?.message).toMatch(/must match/);
    expect(bed.store.invalid.find((e) => e.file.endsWith('bad-playbook.yaml'))).toMatchObject({ field: 'spec.playbooks', message: expect.stringMatching(/name a RentalClass/) });
    expect(bed.store.invalid.find((e) => e.field === 'spec.playbooks.create')?.message).toMatch(/must match/);
    expect(bed.store.invalid.every((e) => e.line > 0)).toBe(true);
    expect(bed.list('Rental').some((r) => r.metadata.name.startsWith('bad-') || r.metadata.name === 'frank')).toBe(false);

    await bed.write('nomatch.yaml', [bed.rentalManifest('gina', { nodeSelector: { matchLabels: { pool: 'gpu' } } })]);
    const gina = await waitFor('gina unschedulable', () => rental('gina')?.status?.phase === 'Unschedulable' && rental('gina'));
    expect(gina.status?.conditions?.find((c) => c.type === 'Scheduled')).toMatchObject({ reason: 'NoMatchingNode' });
    expect(gina.status?.conditions?.find((c) => c.type === 'Scheduled')?.message).toMatch(/pool=gpu/);
    expect(await logsCommand('rental/gina', { stateDir: bed.store.state.root, namespace: 'default' })).toMatch(/No runs recorded/);
    for (const file of ['bad-0', 'bad-1', 'bad-2', 'bad-3', 'bad-4', 'bad-playbook', 'bad-class', 'nomatch']) await bed.remove(`${file}.yaml`);
  });

  it('leaves a Failed, retrying status with the task and message when a playbook fails', async () => {
    await bed.write('fill.yaml', []); // free two nodes
    await bed.remove('fill.yaml');
    await waitFor('carol and dave released', () => !rental('carol') && !rental('dave'), 90_000);
    await bed.write('broken.yaml', [
      bed.rentalManifest('henry', { className: 'fails' }),
      bed.rentalManifest('ivy', { className: 'unreachable' }),
    ]);
    const henry = await waitFor('henry Failed', () => rental('henry')?.status?.phase === 'Failed' && rental('henry'), 90_000);
    expect(henry.status?.lastRun).toMatchObject({ result: 'failed', failedTask: 'Refuse the tenant' });
    expect(henry.status?.lastRun?.message).toMatch(/quota exceeded for henry/);
    expect(henry.status?.conditions?.find((c) => c.type === 'Ready')?.message).toMatch(/Refuse the tenant/);
    const ivy = await waitFor('ivy Failed', () => rental('ivy')?.status?.phase === 'Failed' && rental('ivy'), 90_000);
    expect(ivy.status?.lastRun?.result).toBe('unreachable');
    const log = await logsCommand('rental/henry', { stateDir: bed.store.state.root, namespace: 'default', all: true });
    expect(log).toMatch(/Refuse the tenant/);
    expect(log).toMatch(/quota exceeded/);
    // Retrying: a second run is recorded after the backoff.
    await waitFor('a retry of henry', async () => {
      const list = await logsCommand('rental/henry', { stateDir: bed.store.state.root, namespace: 'default', list: true });
      return list.trim().split('\n').length >= 2;
    }, 30_000);
  });

  it('removes the old login when a tenant is renamed', async () => {
    const before = await readyRental('erin');
    const worker = workerOf(before);
    await bed.write('erin.yaml', [bed.rentalManifest('erin', { user: 'erin2' })]);
    const renamed = await waitFor('erin Ready as erin2', () => {
      const r = rental('erin');
      return r?.status?.phase === 'Ready' && r.status.connection?.user === 'erin2' && r;
    }, 90_000);
    expect(renamed.status?.nodeName).toBe(worker.name);
    await waitFor('old login removed', async () => !(await userExists(worker, 'erin')), 60_000);
    expect(await userExists(worker, 'erin2')).toBe(true);
    expect(bed.get<NodeResource>('Node', worker.name)?.status?.allocation?.rental).toBe('default/erin');
  });
});
