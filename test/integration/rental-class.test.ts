// RentalClass against real SSH workers and real Ansible (folder mode): what Orion runs for a Rental, whether it may
// have sudo and where it may bind are the admin's class's, never the Rental's. A class's own create and release
// playbooks run; a Rental asking what its class refuses stays unbound with a clear condition and nothing runs on
// any node (no run, no account); a tenant left on a node that died is removed there by its class's release playbook;
// a class that changes later is applied to its rentals (level-based); and a tenant can no longer choose the release
// playbook (a Rental with spec.playbooks is refused).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeResource, RentalResource } from '../../src/api/types.js';
import { logsCommand } from '../../src/cli/logs.js';
import type { SshWorker } from '../../src/dataplane/workers.js';
import { TestBed, waitFor } from '../harness/cluster.js';
import { sshLogin } from '../harness/tenant.js';

const FIXTURE_PLAYBOOKS = join(import.meta.dirname, '..', 'fixtures', 'rental-playbooks');

describe('RentalClass: the admin decides what runs for a Rental (real sshd and Ansible)', () => {
  let bed: TestBed;

  /** The admin's classes: students (default, its own playbooks, room b only), staff (sudo, at most one day). */
  const classes = (staff: Record<string, unknown> = { allowSudo: true, maxTtlSeconds: 86400 }): object[] => [
    bed.rentalClassManifest('students', {
      playbooks: { create: 'create_student', delete: 'delete_student' },
      nodeSelector: { matchLabels: { room: 'b' } },
    }, true),
    bed.rentalClassManifest('staff', staff),
  ];

  beforeAll(async () => {
    bed = await TestBed.create({ workers: 3, basePort: 22700, extraPlaybookDirs: [FIXTURE_PLAYBOOKS] });
    const [w0, w1, w2] = bed.dataPlane.workers as [SshWorker, SshWorker, SshWorker];
    await bed.write('nodes.yaml', [
      bed.nodeManifest(w0, { pool: 'test', room: 'a' }),
      bed.nodeManifest(w1, { pool: 'test', room: 'b' }),
      bed.nodeManifest(w2, { pool: 'test', room: 'b' }),
    ]);
    await bed.write('classes.yaml', classes());
    await bed.startOrion();
    await waitFor('3 Alive nodes', () => bed.list<NodeResource>('Node').filter((n) => n.status?.health === 'Alive').length === 3);
  }, 300_000);

  afterAll(async () => {
    await bed?.destroy();
  });

  const rental = (name: string): RentalResource | undefined => bed.get<RentalResource>('Rental', name);
  const ready = (name: string, timeoutMs = 90_000): Promise<RentalResource> =>
    waitFor(`${name} Ready`, () => rental(name)?.status?.phase === 'Ready' && rental(name), timeoutMs);
  const readyCondition = (name: string) => rental(name)?.status?.conditions?.find((c) => c.type === 'Ready');
  const userExists = async (worker: SshWorker, user: string): Promise<boolean> => (await worker.exec(['id', '-u', user])).exitCode === 0;
  const onAnyWorker = async (user: string): Promise<string[]> => {
    const found: string[] = [];
    for (const w of bed.dataPlane.workers) if (await userExists(w, user)) found.push(w.name);
    return found;
  };
  const runLog = (name: string): Promise<string> =>
    logsCommand(`rental/${name}`, { stateDir: bed.store.state.root, namespace: 'default', all: true });
  const nodeHolding = (name: string): NodeResource | undefined =>
    bed.list<NodeResource>('Node').find((n) => n.status?.allocation?.rental === `default/${name}`);

  it('the default class\'s own create and release playbooks run, and it binds only in the class\'s pool', async () => {
    await bed.write('sam.yaml', [bed.rentalManifest('sam')]);
    const sam = await ready('sam');
    const worker = bed.dataPlane.worker(sam.status?.nodeName ?? '');
    const node = bed.get<NodeResource>('Node', worker.name);
    expect(node?.metadata.labels?.room).toBe('b'); // the class's pool, whatever the tenant's selector (pool=test) allows
    expect(sam.status?.releasePlaybook).toBe('delete_student');
    expect(await runLog('sam')).toMatch(/Student class welcome note/);
    expect((await worker.exec(['cat', '/home/sam/WELCOME-STUDENT'])).stdout).toBe('created by the students class');
    const login = await sshLogin(bed.tenantKey.privateKeyPath, '127.0.0.1', worker.port, 'sam');
    expect(login.ok, login.output).toBe(true);

    await bed.remove('sam.yaml');
    await waitFor('sam released', () => !rental('sam'), 90_000);
    expect(await runLog('sam')).toMatch(/Student class goodbye note/);
    expect(await userExists(worker, 'sam')).toBe(false);
  });

  it('a tenant left on a node that died is removed by its class\'s release playbook once the node is back', async () => {
    await bed.write('sue.yaml', [bed.rentalManifest('sue')]);
    const first = bed.dataPlane.worker((await ready('sue')).status?.nodeName ?? '');
    await first.kill();
    await waitFor('sue Ready on the other node of the pool', () => {
      const r = rental('sue');
      return r?.status?.phase === 'Ready' && r.status.nodeName !== first.name;
    }, 150_000);
    // The rental left, and may be gone before the node is back: the node keeps the class's release playbook.
    const left = bed.get<NodeResource>('Node', first.name);
    expect(left?.status?.cleanup?.map((c) => [c.user, c.playbook, c.uid])).toEqual([['sue', 'delete_student', rental('sue')?.metadata.uid]]);

    await first.start();
    await waitFor('sue removed from the node that came back', async () =>
      (bed.get<NodeResource>('Node', first.name)?.status?.cleanup ?? []).length === 0 && !(await userExists(first, 'sue')), 150_000);
    expect(await logsCommand(`node/${first.name}`, { stateDir: bed.store.state.root, namespace: 'default', all: true })).toMatch(/Student class goodbye note/);
    await bed.remove('sue.yaml');
    await waitFor('sue released', () => !rental('sue'), 90_000);
  }, 400_000);

  it('a tenant\'s selector narrows the class\'s pool and never widens it', async () => {
    await bed.write('rita.yaml', [bed.rentalManifest('rita', { nodeSelector: { matchLabels: { room: 'a' } } })]);
    const rita = await waitFor('rita Unschedulable', () => rental('rita')?.status?.phase === 'Unschedulable' && rental('rita'));
    const scheduled = rita.status?.conditions?.find((c) => c.type === 'Scheduled');
    expect(scheduled).toMatchObject({ status: 'False', reason: 'NoMatchingNode' });
    expect(scheduled?.message).toMatch(/room=a within the class's pool room=b/);
    expect(await runLog('rita')).toMatch(/No runs recorded/);
    await bed.remove('rita.yaml');
  });

  it('sudo under a class that refuses it: not bound, Ready=False ClassRefused, no run and no account anywhere', async () => {
    await bed.write('tom.yaml', [bed.rentalManifest('tom', { sudo: true })]);
    const tom = await waitFor('tom refused', () => readyCondition('tom')?.reason === 'ClassRefused' && rental('tom'));
    expect(tom.status?.phase).toBe('Failed');
    expect(readyCondition('tom')).toMatchObject({
      status: 'False',
      message: 'RentalClass "students" does not allow sudo; ask without sudo, or name a class that allows it',
      observedGeneration: tom.metadata.generation,
    });
    expect(tom.status?.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('True');
    expect(tom.status?.nodeName).toBeUndefined();
    expect(nodeHolding('tom')).toBeUndefined();
    expect(bed.list('PlaybookRun')).toEqual([]);
    expect(await runLog('tom')).toMatch(/No runs recorded/);
    expect(await onAnyWorker('tom')).toEqual([]);
    // A finalizer guards external effects only: none was needed, none was added.
    expect(tom.metadata.finalizers ?? []).toEqual([]);
  });

  it('an unknown class, or a TTL above the class\'s longest: refused the same way, naming the class', async () => {
    await bed.write('refused.yaml', [
      bed.rentalManifest('una', { className: 'gpu' }),
      bed.rentalManifest('ted', { className: 'staff', ttlSeconds: 90000 }),
    ]);
    await waitFor('una and ted refused', () => readyCondition('una')?.reason === 'ClassRefused' && readyCondition('ted')?.reason === 'ClassRefused');
    expect(readyCondition('una')?.message).toBe('RentalClass "gpu" does not exist');
    expect(readyCondition('ted')?.message).toBe('RentalClass "staff" allows a ttlSeconds of at most 86400; asked 90000');
    for (const name of ['una', 'ted']) {
      expect(nodeHolding(name)).toBeUndefined();
      expect(await runLog(name)).toMatch(/No runs recorded/);
      expect(await onAnyWorker(name)).toEqual([]);
    }
    await bed.remove('refused.yaml');
  });

  it('a class that changes is applied to its rentals: sudo allowed binds tom with sudo; withdrawn, tom keeps his node and account, and nothing more runs', async () => {
    await bed.write('tom.yaml', [bed.rentalManifest('tom', { sudo: true, className: 'staff', ttlSeconds: 3600 })]);
    const tom = await ready('tom');
    const node = tom.status?.nodeName ?? '';
    const worker = bed.dataPlane.worker(node);
    expect((await worker.exec(['test', '-f', '/etc/sudoers.d/orion-tom'])).exitCode).toBe(0);
    expect(tom.status?.releasePlaybook).toBe('delete_user');

    // An admin's edit of a class never removes a tenant: the refusal is told, the rental keeps its node until it ends.
    await bed.write('classes.yaml', classes({ allowSudo: false, maxTtlSeconds: 86400 }));
    const refused = await waitFor('tom told his class refuses sudo', () => {
      const c = rental('tom')?.status?.conditions?.find((x) => x.type === 'ClassTerms');
      return c?.status === 'False' && c;
    }, 90_000);
    expect(refused.reason).toBe('ClassRefused');
    expect(refused.message).toBe(`RentalClass "staff" does not allow sudo; ask without sudo, or name a class that allows it; the tenant stays on ${node} as provisioned until the rental ends, and nothing more runs`);
    expect(nodeHolding('tom')?.metadata.name).toBe(node);
    expect(rental('tom')?.status?.phase).toBe('Ready');
    expect(await userExists(worker, 'tom')).toBe(true);
    expect((await worker.exec(['test', '-f', '/etc/sudoers.d/orion-tom'])).exitCode).toBe(0);

    // Allowed again: it fits its class again, still on its node.
    await bed.write('classes.yaml', classes({ allowSudo: true, maxTtlSeconds: 86400 }));
    await waitFor('tom fits his class again', () => rental('tom')?.status?.conditions?.find((x) => x.type === 'ClassTerms')?.status === 'True', 60_000);
    expect(nodeHolding('tom')?.metadata.name).toBe(node);
    await bed.remove('tom.yaml');
    await waitFor('tom gone', () => !rental('tom'), 60_000);
    expect(await userExists(worker, 'tom')).toBe(false);
    await bed.write('classes.yaml', classes());
  });

  it('a tenant can no longer make the release run create_user: a Rental with spec.playbooks is refused, never created', async () => {
    await bed.write('vic.yaml', [bed.rentalManifest('vic', { playbooks: { delete: 'create_user' } })]);
    await bed.store.flush();
    const error = await waitFor('vic reported', () => bed.store.invalid.find((e) => e.file.endsWith('vic.yaml')));
    expect(error).toMatchObject({ field: 'spec.playbooks', message: expect.stringMatching(/chosen by the admin; name a RentalClass in spec\.className/) });
    expect(error.line).toBeGreaterThan(0);
    expect(rental('vic')).toBeUndefined();
    expect(await onAnyWorker('vic')).toEqual([]);
    await bed.remove('vic.yaml');
  });
});
