// The portal in folder mode over real HTTP, with real sshd workers and Ansible: the door (401), the tenant wall
// (owner from the token, 404 across tenants, refused fields), rents (200 with a node the tenant logs in to, 503
// with nothing left behind), quotas, jobs on two real nodes followed live and resumed, refused recipes, the watch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeResource, PlaybookRunResource, RentalResource } from '../../src/api/types.js';
import { waitFor } from '../harness/cluster.js';
import { hypervisorManifest, machineClassManifest } from '../harness/manifest-files.js';
import { PortalBed, readEvents } from '../harness/portal-bed.js';
import { sshLogin } from '../harness/tenant.js';

const NS = '/api/v1/namespaces/default';

describe('the portal (folder mode, real sshd and Ansible)', () => {
  let bed: PortalBed;
  let admin: string;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    // The admin's MachineClass (and its Hypervisor) that tenants' Labs may name.
    const classes = [
      hypervisorManifest('local', { type: 'libvirt', libvirt: { uri: 'qemu+ssh://hv.example.org/system' } }),
      machineClassManifest('standard', 'local', { images: [{ name: 'debian', volume: 'debian-12.qcow2' }], limits: { cpu: 2 }, playbooks: ['lab-base'] }, true),
    ];
    bed = await PortalBed.create({ workers: 4, basePort: 24000, classes });
    [admin, alice, bob] = await Promise.all([bed.token('root-admin', true), bed.token('alice'), bed.token('bob')]);
    await waitFor('4 Alive nodes', () => bed.list<NodeResource>('Node').filter((n) => n.status?.health === 'Alive').length === 4, 60_000);
  }, 120_000);

  afterAll(async () => {
    await bed?.destroy();
  });

  const rentalsOf = (owner: string): RentalResource[] => bed.list<RentalResource>('Rental').filter((r) => r.metadata.annotations?.['orion.lab/owner'] === owner);
  const releasedAll = (): Promise<unknown> => waitFor('every rental gone and every node free', () =>
    bed.list('Rental').length === 0 && bed.list<NodeResource>('Node').every((n) => !n.status?.allocation), 120_000);

  it('answers 401 to every route without a valid token', async () => {
    const routes: Array<[string, string]> = [
      ['GET', '/api/v1/rentals'], ['GET', `${NS}/rentals`], ['POST', `${NS}/rentals`], ['GET', `${NS}/rentals/x`], ['DELETE', `${NS}/rentals/x`],
      ['GET', '/api/v1/nodes'], ['GET', `${NS}/desktops/x/runs`], ['GET', `${NS}/labs/x/log`], ['POST', `${NS}/desktops/x/extend`],
      ['POST', `${NS}/labs/x/power`], ['POST', `${NS}/labs/x/restart`], ['GET', '/api/v1/runs/x'], ['GET', '/api/v1/runs/x/log'],
      ['GET', '/api/v1/watch'], ['POST', '/api/rent'], ['DELETE', '/api/rent/x'], ['POST', '/api/session/create'],
      ['POST', '/api/session/destroy'], ['GET', '/api/sessions'], ['POST', '/ansible/run'], ['GET', '/ansible/jobs/x'],
      ['GET', '/ansible/jobs/x/log'], ['GET', '/api/v1alpha1/rentals'], ['GET', '/api/nothing'],
    ];
    for (const [method, path] of routes) {
      for (const token of [undefined, 'orion_not-a-real-token', alice.slice(0, -2)]) {
        const answer = await bed.api(token, method, path);
        expect(answer.status, `${method} ${path}`).toBe(401);
        expect(answer.headers.get('content-type')).toContain('application/problem+json');
        expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="orion"');
      }
    }
    expect((await bed.api(undefined, 'GET', '/api/v1/openapi.json')).status).toBe(200); // the document, no data
  });

  it('sets the owner from the token, refuses what a body may not set, and keeps tenants apart', async () => {
    const spec = { sshPublicKeys: [bed.tenantKey.publicKey] };
    const refused: Array<[unknown, RegExp]> = [
      [{ metadata: { annotations: { 'orion.lab/owner': 'bob' } }, spec }, /metadata\.annotations\.orion\.lab\/owner/],
      [{ metadata: { labels: { 'orion.lab/owner': 'bob' } }, spec }, /metadata\.labels\.orion\.lab\/owner/],
      [{ metadata: { namespace: 'other' }, spec }, /metadata\.namespace/],
      [{ metadata: { finalizers: ['x'] }, spec }, /metadata\.finalizers/],
      [{ spec, status: { phase: 'Ready' } }, /status/],
      [{ spec: { ...spec, user: 'bob' } }, /spec\.user must be your own login "alice"/],
      [{ spec: { ...spec, sudo: true } }, /does not allow sudo/],
      [{ spec: { ...spec, className: 'gpu' } }, /RentalClass "gpu" does not exist/],
    ];
    for (const [body, message] of refused) {
      const answer = await bed.api<{ detail: string }>(alice, 'POST', `${NS}/rentals`, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.detail).toMatch(message);
    }
    // A Rental no longer chooses its playbooks: its class does.
    const playbooks = await bed.api<{ detail: string }>(alice, 'POST', `${NS}/rentals`, { spec: { ...spec, playbooks: { delete: 'create_user' } } });
    expect(playbooks.status).toBe(422);
    expect(playbooks.body.detail).toMatch(/spec\.playbooks removed: .*name a RentalClass/);
    const invalid = await bed.api<{ errors: Array<{ field: string }> }>(alice, 'POST', `${NS}/rentals`, { spec: { sshPublicKeys: ['not a key'] } });
    expect(invalid.status).toBe(422);
    expect(invalid.body.errors.map((e) => e.field)).toContain('spec.sshPublicKeys[0]');
    expect(bed.list('Rental')).toHaveLength(0);

    const created = await bed.api<RentalResource>(alice, 'POST', `${NS}/rentals`, { metadata: { name: 'alice-one' }, spec });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`${NS}/rentals/alice-one`);
    expect(created.headers.get('link')).toContain('rel="watch"');
    expect(created.body.metadata.annotations?.['orion.lab/owner']).toBe('alice');
    expect(created.body.spec.user).toBe('alice');
    const stored = bed.orion.store.get<RentalResource>({ kind: 'Rental', namespace: 'default', name: 'alice-one' });
    expect(bed.orion.store.eventsOf(stored as RentalResource).map((e) => e.message)).toContain('created by alice through the portal');

    expect((await bed.api(bob, 'GET', `${NS}/rentals/alice-one`)).status).toBe(404);
    expect((await bed.api(bob, 'DELETE', `${NS}/rentals/alice-one`)).status).toBe(404);
    expect((await bed.api<{ items: unknown[] }>(bob, 'GET', '/api/v1/rentals')).body.items).toEqual([]);
    expect((await bed.api<{ items: RentalResource[] }>(admin, 'GET', '/api/v1/rentals')).body.items.map((r) => r.metadata.name)).toEqual(['alice-one']);
    expect((await bed.api(alice, 'GET', `${NS}/rentals/alice-one`)).status).toBe(200);
    // A tenant sees nodes, but not whose rentals are on them.
    await waitFor('alice-one Ready', () => bed.orion.store.get<RentalResource>({ kind: 'Rental', namespace: 'default', name: 'alice-one' })?.status?.phase === 'Ready', 90_000);
    const nodes = (await bed.api<{ items: NodeResource[] }>(bob, 'GET', '/api/v1/nodes')).body.items;
    expect(nodes).toHaveLength(4);
    expect(nodes.some((n) => n.status?.allocation)).toBe(false);
    expect((await bed.api<{ items: NodeResource[] }>(alice, 'GET', '/api/v1/nodes')).body.items.filter((n) => n.status?.allocation)).toHaveLength(1);
    expect((await bed.api(alice, 'POST', `${NS}/nodes`, { spec: {} })).status).toBe(405);

    const second = await bed.api<{ detail: string }>(alice, 'POST', `${NS}/rentals`, { spec });
    expect(second.status).toBe(403);
    expect(second.body.detail).toMatch(/quota: alice may hold at most 1 Rental/);

    const deleted = await bed.api(alice, 'DELETE', `${NS}/rentals/alice-one`);
    expect(deleted.status).toBe(202);
    await releasedAll();
  });

  it('rents a node the tenant logs in to (POST /api/rent) and releases it (DELETE /api/rent/NAME)', async () => {
    const rent = await bed.api<{ name: string; host: string; port: number; user: string; node: string }>(alice, 'POST', '/api/rent');
    expect(rent.status, rent.text).toBe(200);
    expect(rent.body).toMatchObject({ host: '127.0.0.1', user: 'alice' });
    const login = await sshLogin(bed.tenantKey.privateKeyPath, rent.body.host, rent.body.port, 'alice');
    expect(login.ok, login.output).toBe(true);
    const events = bed.orion.store.eventsOf(rentalsOf('alice')[0] as RentalResource).map((e) => e.message);
    expect(events).toContain('created by alice through the portal');
    expect((await bed.api(bob, 'DELETE', `/api/rent/${rent.body.name}`)).status).toBe(404);
    expect((await bed.api(alice, 'DELETE', `/api/rent/${rent.body.name}`)).status).toBe(202);
    await releasedAll();
  });

  it('answers 503 with Retry-After when no node is free, and leaves no Rental behind', async () => {
    const tenants = await Promise.all(['t0', 't1', 't2', 't3'].map((n) => bed.token(n)));
    const rents = await Promise.all(tenants.map((t) => bed.api<{ name: string }>(t, 'POST', '/api/rent')));
    expect(rents.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const refused = await bed.api<{ detail: string }>(bob, 'POST', '/api/rent');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.body.detail).toMatch(/no healthy node is free/);
    expect(rentalsOf('bob')).toEqual([]);
    await new Promise((r) => setTimeout(r, 1000));
    expect(rentalsOf('bob')).toEqual([]);
    await Promise.all(rents.map((r, i) => bed.api(tenants[i] as string, 'DELETE', `/api/rent/${r.body.name}`)));
    await releasedAll();
  });

  it('runs a job on two real nodes to SUCCESS, with its log followed live and resumed', async () => {
    expect((await bed.api(alice, 'POST', '/ansible/run', { nodes: ['n0', 'n1'], recipe: 'base' })).status).toBe(403);
    const started = await bed.api<{ jobId: string }>(admin, 'POST', '/ansible/run', { nodes: ['n0', 'n1'], recipe: 'base' });
    expect(started.status).toBe(202);
    const { jobId } = started.body;
    const live = await readEvents(`${bed.url}${NS}/playbookruns/${jobId}/log?follow=true`, admin, (events) => events.some((e) => e.event === 'end'));
    const end = JSON.parse(live.find((e) => e.event === 'end')?.data ?? '{}') as { state: string; endedAt: string };
    expect(end.state).toBe('SUCCESS');
    const lines = live.filter((e) => e.event === 'message').map((e) => e.data);
    expect(lines.join('\n')).toMatch(/TASK \[Ping\]/);
    expect(lines.join('\n')).toMatch(/n0 .*ok=1/);

    const job = await bed.api<{ status: string; startedAt: string; endedAt: string }>(admin, 'GET', `/ansible/jobs/${jobId}`);
    expect(job.body.status).toBe('SUCCESS');
    expect(Date.parse(job.body.endedAt)).toBeGreaterThanOrEqual(Date.parse(job.body.startedAt));
    const log = await bed.api(admin, 'GET', `/ansible/jobs/${jobId}/log`);
    expect(log.text).toMatch(/n1 .*ok=1/);
    const run = bed.orion.store.get<PlaybookRunResource>({ kind: 'PlaybookRun', namespace: 'default', name: jobId });
    expect(run?.status?.hosts?.map((h) => h.node).sort()).toEqual(['n0', 'n1']);

    // Resume: from the id of the third line, exactly the lines after it, then the end.
    const runs = await bed.api<{ items: Array<{ id: string; state: string }> }>(admin, 'GET', `${NS}/playbookruns/${jobId}/runs`);
    const runId = runs.body.items.at(-1)?.id ?? '';
    const third = live.filter((e) => e.event === 'message')[2];
    const resumed = await readEvents(`${bed.url}/api/v1/runs/${runId}/log?follow=true`, admin, (events) => events.some((e) => e.event === 'end'), { headers: { 'last-event-id': third?.id ?? '' } });
    expect(resumed.filter((e) => e.event === 'message').map((e) => e.data)).toEqual(lines.slice(3));
    expect((await bed.api(bob, 'GET', `/api/v1/runs/${runId}`)).status).toBe(404);
  });

  it('refuses a recipe that is not allowed with 400, and runs nothing', async () => {
    const before = bed.list('PlaybookRun').length;
    for (const recipe of ['../../etc/passwd', '/bin/sh', 'create_user', 'base; reboot', '{{ lookup("pipe","id") }}', '', 42]) {
      const answer = await bed.api<{ detail: string }>(admin, 'POST', '/ansible/run', { nodes: ['n0'], recipe });
      expect(answer.status, String(recipe)).toBe(400);
      expect(answer.body.detail).toMatch(/is not allowed \(allowed: base\)/);
    }
    const direct = await bed.api(admin, 'POST', `${NS}/playbookruns`, { spec: { playbook: 'create_user', nodes: ['n0'] } });
    expect(direct.status).toBe(400);
    expect(bed.list('PlaybookRun')).toHaveLength(before);
  });

  it('streams changes to what the caller may see only', async () => {
    const spec = { sshPublicKeys: [bed.tenantKey.publicKey] };
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const watching = readEvents(`${bed.url}/api/v1/watch?kind=rentals`, alice, (events) => events.some((e) => e.event === 'DELETED'), { onOpen: () => opened() });
    await open;
    await new Promise((r) => setTimeout(r, 300));
    expect((await bed.api(bob, 'POST', `${NS}/rentals`, { metadata: { name: 'bob-w' }, spec })).status).toBe(201);
    expect((await bed.api(alice, 'POST', `${NS}/rentals`, { metadata: { name: 'alice-w' }, spec })).status).toBe(201);
    await waitFor('both Ready', () => bed.list<RentalResource>('Rental').filter((r) => r.status?.phase === 'Ready').length === 2, 90_000);
    await bed.api(alice, 'DELETE', `${NS}/rentals/alice-w`);
    const events = await watching;
    const names = new Set(events.filter((e) => e.event !== 'SYNCED').map((e) => (JSON.parse(e.data) as { object: RentalResource }).object.metadata.name));
    expect([...names]).toEqual(['alice-w']);
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['SYNCED', 'ADDED', 'MODIFIED', 'DELETED']));
    await bed.api(bob, 'DELETE', `${NS}/rentals/bob-w`);
    await releasedAll();
  });

  it('lists the admin\'s RentalClasses to admins only, and never writes one', async () => {
    expect((await bed.api<{ kind: string; items: unknown[] }>(admin, 'GET', '/api/v1/rentalclasses')).body).toMatchObject({ kind: 'RentalClassList', items: [] });
    expect((await bed.api(alice, 'GET', '/api/v1/rentalclasses')).status).toBe(403);
    const body = { metadata: { name: 'mine' }, spec: { allowSudo: true } };
    expect((await bed.api(alice, 'POST', `${NS}/rentalclasses`, body)).status).toBe(404);
    expect((await bed.api(admin, 'POST', `${NS}/rentalclasses`, body)).status).toBe(404);
    expect(bed.list('RentalClass')).toEqual([]);
    const choices = await bed.api<{ rental: { classes: unknown[] } }>(alice, 'GET', '/api/v1/choices');
    expect(choices.body.rental.classes).toEqual([]);
  });

  it('holds a tenant\'s Lab to its MachineClass (a 400 naming it, nothing created) and lists the classes without their Hypervisor', async () => {
    const lab = (machine: Record<string, unknown>, spec: Record<string, unknown> = {}) => ({ spec: { machines: [{ name: 'vm', ...machine }], ...spec } });
    const refused: Array<[unknown, RegExp]> = [
      [lab({ image: 'lab1-disk' }), /spec\.className: MachineClass "standard" has no image "lab1-disk"/],
      [lab({ image: 'debian', cpu: 4 }), /MachineClass "standard" allows cpu of at most 2/],
      [lab({ image: 'debian' }, { ansible: { playbook: 'create_user' } }), /MachineClass "standard" does not allow playbook "create_user"/],
      [lab({ image: 'debian' }, { className: 'gpu' }), /MachineClass "gpu" does not exist/],
    ];
    for (const [body, message] of refused) {
      const answer = await bed.api<{ detail: string }>(alice, 'POST', `${NS}/labs`, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.detail).toMatch(message);
    }
    const retired = await bed.api<{ detail: string }>(alice, 'POST', `${NS}/labs`, lab({ kernel: '/boot/vmlinuz' }));
    expect(retired.status).toBe(422);
    expect(retired.body.detail).toMatch(/name a MachineClass in spec\.className/);
    expect(bed.list('Lab')).toHaveLength(0);

    const choices = await bed.api<{ lab: { offered: boolean; classes: unknown[] } }>(alice, 'GET', '/api/v1/choices');
    expect(choices.body.lab.offered).toBe(true);
    expect(choices.body.lab.classes).toEqual([{ name: 'standard', default: true, images: ['debian'], limits: { cpu: 2 }, playbooks: ['lab-base'] }]);
    expect(choices.text).not.toMatch(/hv\.example\.org|qemu|debian-12\.qcow2|"local"/);

    for (const plural of ['machineclasses', 'hypervisors']) {
      expect((await bed.api<{ items: unknown[] }>(admin, 'GET', `/api/v1/${plural}`)).body.items).toHaveLength(1);
      expect((await bed.api(alice, 'GET', `/api/v1/${plural}`)).status).toBe(403);
      for (const token of [alice, admin]) {
        expect((await bed.api(token, 'POST', `/api/v1/${plural}`, { metadata: { name: 'mine' }, spec: {} })).status).toBe(405);
        expect((await bed.api(token, 'DELETE', `/api/v1/${plural}/standard`)).status).toBe(405);
        expect((await bed.api(token, 'POST', `${NS}/${plural}`, { metadata: { name: 'mine' }, spec: {} })).status).toBe(404);
      }
    }
    expect(bed.list('MachineClass')).toHaveLength(1);
    expect(bed.list('Hypervisor')).toHaveLength(1);
  });
});
