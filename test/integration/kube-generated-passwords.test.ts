// Generated passwords in Kubernetes mode (a Desktop without spec.passwordSecretRef) against a real kube-apiserver:
// one Secret <desktop>-rdp owned by the Desktop, the same password on every call — also from a store whose cache
// has not seen the Secret yet — and gone on discard.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesktopResource } from '../../src/api/types.js';
import { KubeStore } from '../../src/kube/store.js';
import { KubeGeneratedPasswords } from '../../src/kube/generated-passwords.js';
import { KubeBed, NAMESPACE, waitFor } from '../harness/kube-bed.js';

describe('KubeGeneratedPasswords on a real kube-apiserver', () => {
  let bed: KubeBed;
  let store: KubeStore;

  beforeAll(async () => {
    bed = await KubeBed.create();
    await bed.apply([{
      apiVersion: 'orion.lab/v1alpha1',
      kind: 'Desktop',
      metadata: { name: 'd1' },
      spec: { user: 'alice', provider: { type: 'libvirt' }, template: 'debian-12-xfce.qcow2', sshKeySecretRef: { name: 'desktop-key' } },
    }]);
    store = new KubeStore({ kubeconfig: bed.kube.kubeconfig, namespace: NAMESPACE, kinds: ['Desktop'] });
    await store.start();
  });

  afterAll(async () => {
    await store?.stop();
    await bed?.destroy();
  });

  const desktop = () => store.get<DesktopResource>({ kind: 'Desktop', namespace: NAMESPACE, name: 'd1' }) as DesktopResource;

  it('creates one Secret owned by the Desktop and returns the same password every time', async () => {
    const passwords = new KubeGeneratedPasswords(store.client, store);
    const first = await passwords.ensure(desktop(), 'rdp');
    expect(first.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(first.reference).toEqual({ passwordSecretRef: { name: 'd1-rdp', key: 'password' } });

    // A cache that has not seen the new Secret yet: the create conflicts and the kept password is read instead.
    const blind = new KubeGeneratedPasswords(store.client, { readSecret: async () => undefined });
    expect((await blind.ensure(desktop(), 'rdp')).password).toBe(first.password);
    await waitFor('the Secret in the cache', async () => (await store.readSecret(NAMESPACE, 'd1-rdp'))?.password);
    expect((await passwords.ensure(desktop(), 'rdp')).password).toBe(first.password);

    const secret = JSON.parse(await bed.mustKubectl(['get', 'secret', '-n', NAMESPACE, 'd1-rdp', '-o', 'json'])) as {
      data: Record<string, string>;
      metadata: { ownerReferences: unknown[] };
    };
    expect(Buffer.from(secret.data.password ?? '', 'base64').toString()).toBe(first.password);
    expect(secret.metadata.ownerReferences).toEqual([
      { apiVersion: 'orion.lab/v1alpha1', kind: 'Desktop', name: 'd1', uid: desktop().metadata.uid, controller: true },
    ]);
  });

  it('discard deletes the Secret (and tolerates it being gone)', async () => {
    const passwords = new KubeGeneratedPasswords(store.client, store);
    await passwords.discard(desktop(), 'rdp');
    await passwords.discard(desktop(), 'rdp');
    const get = await bed.kubectl(['get', 'secret', '-n', NAMESPACE, 'd1-rdp']);
    expect(get.exitCode).not.toBe(0);
    expect(get.stderr).toMatch(/NotFound/);
  });
});
