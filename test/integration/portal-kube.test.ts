// The portal in Kubernetes mode on the real kube-apiserver: a ServiceAccount token is checked with a TokenReview
// and every action with a SubjectAccessReview, so RBAC is the one policy — a tenant whose Role lets it create
// Rentals in one namespace rents there (a real sshd node, a real create_user) and nowhere else; without RBAC, 403.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeResource, RentalResource } from '../../src/api/types.js';
import { KubeBed, NAMESPACE, waitFor } from '../harness/kube-bed.js';
import { sshLogin } from '../harness/tenant.js';

const OTHER = 'orion-other';

describe('the portal in Kubernetes mode (TokenReview, SubjectAccessReview, real kube-apiserver and sshd)', () => {
  let bed: KubeBed;
  let url: string;
  let tenantA: string;
  let tenantB: string;

  beforeAll(async () => {
    bed = await KubeBed.create({ workers: 1, basePort: 24400 });
    await bed.mustKubectl(['create', 'namespace', OTHER]);
    await bed.apply([bed.keySecret(), bed.nodeManifest('w0', bed.workers[0]?.port ?? 0)]);
    await bed.apply([
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'tenant-a' } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'tenant-b' } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'renter' },
        rules: [
          { apiGroups: ['orion.lab'], resources: ['rentals'], verbs: ['create', 'get', 'list', 'watch', 'delete'] },
          { apiGroups: ['orion.lab'], resources: ['rentals/log'], verbs: ['get'] },
          { apiGroups: ['orion.lab'], resources: ['nodes'], verbs: ['get', 'list'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'tenant-a-renter' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'renter' },
        subjects: [{ kind: 'ServiceAccount', name: 'tenant-a', namespace: NAMESPACE }],
      },
    ]);
    tenantA = (await bed.mustKubectl(['create', 'token', 'tenant-a', '-n', NAMESPACE, '--duration=1h'])).trim();
    tenantB = (await bed.mustKubectl(['create', 'token', 'tenant-b', '-n', NAMESPACE, '--duration=1h'])).trim();
    const orion = await bed.startOrion({ portal: { rentWaitSeconds: 120 } });
    url = `http://127.0.0.1:${(orion.server.address() as AddressInfo).port}`;
    await waitFor('w0 Alive', () => orion.store.get<NodeResource>({ kind: 'Node', namespace: NAMESPACE, name: 'w0' })?.status?.health === 'Alive', 60_000);
  }, 600_000);

  afterAll(async () => {
    await bed?.destroy();
  });

  const api = async (token: string | undefined, method: string, path: string, body?: unknown) => {
    const response = await fetch(url + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json().catch(() => ({}))) as Record<string, unknown> };
  };

  it('answers 401 without a valid token', async () => {
    expect((await api(undefined, 'GET', `/api/v1/namespaces/${NAMESPACE}/rentals`)).status).toBe(401);
    expect((await api('not-a-service-account-token', 'GET', `/api/v1/namespaces/${NAMESPACE}/rentals`)).status).toBe(401);
  });

  it('lets a tenant with RBAC in one namespace rent there and nowhere else; without RBAC, 403', async () => {
    const keys = { sshPublicKeys: [bed.tenantKey.publicKey] };
    const rent = await api(tenantA, 'POST', '/api/rent', keys);
    expect(rent.status, JSON.stringify(rent.body)).toBe(200);
    expect(rent.body).toMatchObject({ host: '127.0.0.1', port: bed.workers[0]?.port, user: 'tenant-a', node: 'w0' });
    const login = await sshLogin(bed.tenantKey.privateKeyPath, '127.0.0.1', Number(rent.body.port), 'tenant-a');
    expect(login.ok, login.output).toBe(true);
    const rental = await bed.getJson<RentalResource>('rentals.orion.lab', String(rent.body.name));
    expect(rental?.metadata.annotations?.['orion.lab/owner']).toBe(`system:serviceaccount:${NAMESPACE}:tenant-a`);

    const elsewhere = await api(tenantA, 'POST', `/api/v1/namespaces/${OTHER}/rentals`, { spec: { user: 'tenant-a', ...keys } });
    expect(elsewhere.status).toBe(403);
    expect(String(elsewhere.body.detail)).toMatch(/may not create Rental in namespace orion-other/);
    expect((await api(tenantA, 'GET', `/api/v1/namespaces/${OTHER}/rentals`)).status).toBe(403);
    expect((await api(tenantA, 'POST', `/api/v1/namespaces/${NAMESPACE}/desktops`, { spec: {} })).status).toBe(403);

    expect((await api(tenantB, 'POST', '/api/rent', keys)).status).toBe(403);
    expect((await api(tenantB, 'GET', `/api/v1/namespaces/${NAMESPACE}/rentals/${String(rent.body.name)}`)).status).toBe(403);
    const listed = await api(tenantA, 'GET', `/api/v1/namespaces/${NAMESPACE}/rentals`);
    expect((listed.body.items as RentalResource[]).map((r) => r.metadata.name)).toEqual([rent.body.name]);

    expect((await api(tenantA, 'DELETE', `/api/rent/${String(rent.body.name)}`)).status).toBe(202);
    await waitFor('the rental gone', async () => (await bed.getJson('rentals.orion.lab', String(rent.body.name))) === undefined, 90_000);
  });
});
