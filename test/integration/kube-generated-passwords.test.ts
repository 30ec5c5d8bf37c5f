// Generated passwords in Kubernetes mode (a Desktop without spec.passwordSecretRef) against a real kube-apiserver:
// one Secret <desktop>-rdp owned by the Desktop, the same password on every call — also from a store whose cache
// has not seen the Secret yet — and gone on discard. A Secret of that name that Orion did not make for this Desktop
// (a user's, or one left by an earlier Desktop of the same name) is neither used, replaced nor deleted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesktopResource } from '../../src/api/types.js';
import { KubeStore } from '../../src/kube/store.js';
import { KubeGeneratedPasswords } from '../../src/kube/generated-passwords.js';
import { GeneratedSecretConflict } from '../../src/store/generated-passwords.js';
import { KubeBed, NAMESPACE, waitFor } from '../harness/kube-bed.js';

interface SecretJson {
  metadata: { name: string; uid: string; resourceVersion: string; labels?: Record<string, string>; ownerReferences?: unknown[] };
  data: Record<string, string>;
}

describe('KubeGeneratedPasswords on a real kube-apiserver', () => {
  let bed: KubeBed;
  let store: KubeStore;

  const desktopManifest = (name: string) => ({
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'Desktop',
    metadata: { name },
    spec: { user: 'alice', image: 'xfce', sshKeySecretRef: { name: 'desktop-key' } },
  });

  beforeAll(async () => {
    bed = await KubeBed.create();
    await bed.apply(['d1', 'd2', 'd3'].map(desktopManifest));
    store = new KubeStore({ kubeconfig: bed.kube.kubeconfig, namespace: NAMESPACE, kinds: ['Desktop'] });
    await store.start();
  });

  afterAll(async () => {
    await store?.stop();
    await bed?.destroy();
  });

  const desktop = (name = 'd1') => store.get<DesktopResource>({ kind: 'Desktop', namespace: NAMESPACE, name }) as DesktopResource;
  const secretJson = async (name: string) => bed.getJson<SecretJson>('secret', name);

  it('creates one Secret owned by the Desktop and returns the same password every time', async () => {
    const passwords = new KubeGeneratedPasswords(store.client, store);
    const first = await passwords.ensure(desktop(), 'rdp');
    expect(first.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(first.reference).toEqual({ passwordSecretRef: { name: 'd1-rdp', key: 'password' } });

    // A cache that has not seen the new Secret yet: the create conflicts and the kept password is read instead.
    const blind = new KubeGeneratedPasswords(store.client, { readOwnSecret: async () => undefined });
    expect((await blind.ensure(desktop(), 'rdp')).password).toBe(first.password);
    await waitFor('the Secret in the cache of Orion\'s own Secrets', () => store.secrets.own.keys().includes(`${NAMESPACE}/d1-rdp`));
    expect((await passwords.ensure(desktop(), 'rdp')).password).toBe(first.password);

    const secret = (await secretJson('d1-rdp')) as SecretJson;
    expect(Buffer.from(secret.data.password ?? '', 'base64').toString()).toBe(first.password);
    expect(secret.metadata.ownerReferences).toEqual([
      { apiVersion: 'orion.lab/v1alpha1', kind: 'Desktop', name: 'd1', uid: desktop().metadata.uid, controller: true },
    ]);
    expect(secret.metadata.labels?.['orion.lab/owner-uid']).toBe(desktop().metadata.uid);
  });

  it('discard deletes the Secret (and tolerates it being gone)', async () => {
    const passwords = new KubeGeneratedPasswords(store.client, store);
    await passwords.discard(desktop(), 'rdp');
    await passwords.discard(desktop(), 'rdp');
    const get = await bed.kubectl(['get', 'secret', '-n', NAMESPACE, 'd1-rdp']);
    expect(get.exitCode).not.toBe(0);
    expect(get.stderr).toMatch(/NotFound/);
  });

  // Secrets named <desktop>-rdp that Orion did not make for that Desktop: each must come out of ensure and discard
  // exactly as it went in (same uid, same resourceVersion, same data).
  const foreign: Array<{ what: string; desktop: string; secret: (uid: string) => object }> = [
    {
      what: 'a user\'s own Secret',
      desktop: 'd2',
      secret: () => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'd2-rdp' }, stringData: { password: 'the-users-own-password' } }),
    },
    {
      what: 'one labelled and owned for another uid (an earlier Desktop of the same name)',
      desktop: 'd3',
      secret: () => ({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 'd3-rdp',
          labels: { 'orion.lab/owner-uid': '00000000-0000-0000-0000-000000000000', 'orion.lab/generated-for': 'desktop.d3' },
          ownerReferences: [{ apiVersion: 'orion.lab/v1alpha1', kind: 'Desktop', name: 'd3', uid: '00000000-0000-0000-0000-000000000000', controller: true }],
        },
        stringData: { password: 'an-older-desktops-password' },
      }),
    },
  ];

  it.each(foreign)('never uses, replaces or deletes $what', async ({ desktop: name, secret }) => {
    await bed.apply([secret(desktop(name).metadata.uid)]);
    const before = (await secretJson(`${name}-rdp`)) as SecretJson;
    const passwords = new KubeGeneratedPasswords(store.client, store);

    const ensured = passwords.ensure(desktop(name), 'rdp');
    await expect(ensured).rejects.toBeInstanceOf(GeneratedSecretConflict);
    await expect(ensured).rejects.toThrow(new RegExp(`Secret ${NAMESPACE}/${name}-rdp exists and was not made by Orion for Desktop ${name}`));
    await passwords.discard(desktop(name), 'rdp');

    const after = (await secretJson(`${name}-rdp`)) as SecretJson;
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.data).toEqual(before.data);
  });
});
