// RentalClass in Kubernetes mode, on the real kube-apiserver: the class is cluster-scoped (its CRD says so, the API
// server keeps it without a namespace), Orion's informer reads it without `/namespaces/<ns>` while watching one
// namespace, a Rental naming it binds on a real sshd node, a class's change reaches its rentals, and a tenant's
// ServiceAccount bound to the example tenant role cannot write a class: 403 from the API server itself.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeResource, RentalClassResource, RentalResource } from '../../src/api/types.js';
import { KubeBed, NAMESPACE, waitFor } from '../harness/kube-bed.js';
import { sshLogin } from '../harness/tenant.js';

const FIXTURE_PLAYBOOKS = join(import.meta.dirname, '..', 'fixtures', 'rental-playbooks');

describe('RentalClass on the real kube-apiserver (cluster-scoped, read by Orion, never written by tenants)', () => {
  let bed: KubeBed;
  /** kubectl as the student: only the ServiceAccount's token, no admin credentials. */
  let asStudent: Awaited<ReturnType<KubeBed['tenantKubectl']>>;

  beforeAll(async () => {
    bed = await KubeBed.create({ workers: 2, basePort: 24700 });
    const [w0, w1] = bed.workers;
    await bed.apply([bed.keySecret(), bed.nodeManifest('w0', w0?.port ?? 0), bed.nodeManifest('w1', w1?.port ?? 0)]);
    asStudent = await bed.tenantKubectl('student');
    await bed.startOrion({ playbookDirs: [FIXTURE_PLAYBOOKS] });
    await waitFor('w0 and w1 Alive', () => ['w0', 'w1'].every((name) =>
      bed.orion?.store.get<NodeResource>({ kind: 'Node', namespace: NAMESPACE, name })?.status?.health === 'Alive'), 90_000);
  }, 600_000);

  afterAll(async () => {
    await bed?.destroy();
  });

  const rental = (name: string): RentalResource | undefined => bed.orion?.store.get<RentalResource>({ kind: 'Rental', namespace: NAMESPACE, name });
  const readyCondition = (name: string) => rental(name)?.status?.conditions?.find((c) => c.type === 'Ready');


  it('a RentalClass is created cluster-scoped, and Orion reads it with an empty namespace', async () => {
    expect((await bed.mustKubectl(['get', 'crd', 'rentalclasses.orion.lab', '-o', 'jsonpath={.spec.scope}'])).trim()).toBe('Cluster');
    await bed.apply([bed.rentalClassManifest('lab-class', {
      playbooks: { create: 'create_student', delete: 'delete_student' },
      nodeSelector: { matchLabels: { pool: 'test' } },
      maxTtlSeconds: 86400,
    })]);
    const stored = JSON.parse(await bed.mustKubectl(['get', 'rentalclasses.orion.lab', 'lab-class', '-o', 'json'])) as RentalClassResource;
    expect(stored.metadata.namespace).toBeUndefined();
    expect(stored.spec).toMatchObject({ allowSudo: false, playbooks: { create: 'create_student', delete: 'delete_student' } }); // CRD defaults
    const seen = await waitFor('lab-class in Orion\'s cache', () => bed.orion?.store.get<RentalClassResource>({ kind: 'RentalClass', namespace: '', name: 'lab-class' }));
    expect(seen.metadata.namespace).toBe('');
    expect(bed.orion?.store.list('RentalClass').map((c) => c.metadata.name)).toEqual(['lab-class']);
  });

  it('a Rental naming the class binds, and the class\'s own create playbook makes the tenant', async () => {
    await bed.apply([bed.rentalManifest('kara', { className: 'lab-class', ttlSeconds: 3600 })]);
    const kara = await waitFor('kara Ready', () => rental('kara')?.status?.phase === 'Ready' && rental('kara'), 120_000);
    expect(kara.status?.releasePlaybook).toBe('delete_student');
    const worker = bed.workers.find((w) => w.port === kara.status?.connection?.port);
    expect((await worker?.exec(['cat', '/home/kara/WELCOME-STUDENT']))?.stdout).toBe('created by the students class');
    const login = await sshLogin(bed.tenantKey.privateKeyPath, '127.0.0.1', kara.status?.connection?.port ?? 0, 'kara');
    expect(login.ok, login.output).toBe(true);
  });

  it('a Rental asking sudo is refused by the class; when the admin allows sudo, the class\'s change binds it', async () => {
    await bed.apply([bed.rentalManifest('kurt', { className: 'lab-class', sudo: true, ttlSeconds: 3600 })]);
    await waitFor('kurt refused', () => readyCondition('kurt')?.reason === 'ClassRefused', 60_000);
    expect(readyCondition('kurt')?.message).toBe('RentalClass "lab-class" does not allow sudo; ask without sudo, or name a class that allows it');
    expect(rental('kurt')?.status?.nodeName).toBeUndefined();
    await bed.mustKubectl(['patch', 'rentalclasses.orion.lab', 'lab-class', '--type=merge', '-p', JSON.stringify({ spec: { allowSudo: true } })]);
    const kurt = await waitFor('kurt Ready', () => rental('kurt')?.status?.phase === 'Ready' && rental('kurt'), 120_000);
    const worker = bed.workers.find((w) => w.port === kurt.status?.connection?.port);
    expect((await worker?.exec(['test', '-f', '/etc/sudoers.d/orion-kurt']))?.exitCode).toBe(0);
  });

  it('a tenant ServiceAccount with the example role rents, but cannot create a RentalClass: 403 from the API server', async () => {
    const ownRental = await asStudent(['create', '--dry-run=server', '-n', NAMESPACE, '-f', '-'], JSON.stringify(bed.rentalManifest('student')));
    expect(ownRental.exitCode, ownRental.stderr).toBe(0);
    const evil = bed.rentalClassManifest('evil', { allowSudo: true, playbooks: { delete: 'create_user' } }, true);
    const created = await asStudent(['create', '-v=6', '-f', '-'], JSON.stringify(evil));
    expect(created.exitCode).not.toBe(0);
    expect(created.stderr).toMatch(/POST https:\/\/127\.0\.0\.1:\d+\/apis\/orion\.lab\/v1alpha1\/rentalclasses[^\n]* 403 Forbidden/);
    expect(created.stderr).toMatch(/cannot create resource "rentalclasses" in API group "orion\.lab" at the cluster scope/);
    const patched = await asStudent(['patch', 'rentalclasses.orion.lab', 'lab-class', '--type=merge', '-p', '{"spec":{"allowSudo":true}}'], '');
    expect(patched.stderr).toMatch(/forbidden/i);
    expect((await bed.kube.kubectl(['get', 'rentalclasses.orion.lab', 'evil'])).exitCode).not.toBe(0);
  });
});
