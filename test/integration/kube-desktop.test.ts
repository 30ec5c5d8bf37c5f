// A Desktop in Kubernetes mode without spec.passwordSecretRef: Orion generates its RDP password into a Secret the
// Desktop owns, points status.rdp at it, and desktop.yml sets it on the machine; the Terraform state sits in Secrets
// the Desktop owns; deleting the Desktop destroys the machine, then both go. Real kube-apiserver and etcd, real
// OpenTofu and Ansible; the machine is the named stand-in of test/harness/desktop-standin.ts (a Terraform record and
// a loopback sshd worker), as in desktop.test.ts. Secrets Orion did not make are never its to delete: a user's
// passwordSecretRef named exactly <desktop>-rdp survives the Desktop's deletion, and a user's Secret in the place of
// the generated one is neither used nor deleted (the Desktop says SecretConflict).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesktopResource } from '../../src/api/types.js';
import { defaultPlaybookDir } from '../../src/exec/ansible/playbooks.js';
import { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import { STATE_OF_LABEL } from '../../src/kube/state-secrets.js';
import { DesktopBed, STANDIN_CLASS, STANDIN_MODULE, standInClasses, standInRenderer } from '../harness/desktop-standin.js';
import { KubeBed, NAMESPACE } from '../harness/kube-bed.js';
import { ensureTofu } from '../harness/tofu.js';

const WORKER_PORT = 23020;
const LISTEN = '127.0.0.1:23011';

interface SecretJson {
  metadata: { name: string; uid: string; resourceVersion: string; ownerReferences?: Array<{ kind: string; name: string; uid: string; controller?: boolean }> };
  data?: Record<string, string>;
}

/** Every file under a directory (the test's whole scratch state), to check that the password is in none. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('a Desktop in Kubernetes mode with a generated RDP password', () => {
  let kube: KubeBed;
  // Used for its stand-in machine (module, sshd worker, key, ansible wrapper); its own folder-mode controller
  // watches an empty folder and does nothing.
  let machines: DesktopBed;

  beforeAll(async () => {
    [kube, machines] = await Promise.all([KubeBed.create(), DesktopBed.create({ basePort: WORKER_PORT, workers: 1 })]);
    const tools = await ensureTofu('core');
    await kube.apply([{
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'desktop-key' },
      stringData: { privateKey: machines.key.privateKey, publicKey: machines.key.publicKey },
    }, ...standInClasses()]);
    await kube.startOrion({
      listen: LISTEN,
      terraform: tools.tofu,
      terraformEnv: tools.env,
      desktop: {
        ansible: new AnsibleRunner({
          playbookDirs: [defaultPlaybookDir()],
          runsDir: join(kube.root, 'state', 'runs'),
          ansiblePlaybook: join(machines.root, 'bin', 'ansible-playbook-standin'),
        }),
        modulesDir: join(machines.root, 'modules'),
        machineModule: { name: STANDIN_MODULE, render: standInRenderer(machines.records, () => WORKER_PORT) },
        pollMs: 300,
      },
    });
  }, 900_000);

  afterAll(async () => {
    await kube?.destroy();
    await machines?.destroy();
  });

  const secrets = async (selector: string): Promise<SecretJson[]> =>
    (JSON.parse(await kube.mustKubectl(['get', 'secrets', '-n', NAMESPACE, '-l', selector, '-o', 'json'])) as { items: SecretJson[] }).items;

  it('naming a cluster-scoped MachineClass, is Ready with status.rdp naming the generated password Secret, which the machine accepts', async () => {
    await kube.apply([machines.desktopManifest('d1', { className: STANDIN_CLASS, ttlSeconds: 3600, idleTimeoutSeconds: 3600 })]);
    const wait = await kube.kubectl(['wait', '-n', NAMESPACE, '--for=condition=Ready', '--timeout=300s', 'desktop/d1']);
    expect(wait.exitCode, wait.stderr).toBe(0);
    const desktop = (await kube.getJson<DesktopResource>('desktop', 'd1')) as DesktopResource;
    expect(desktop.status?.hypervisor).toBe('local');
    expect(desktop.status?.rdp).toEqual({ host: '127.0.0.1', port: 3389, user: 'alice', passwordSecretRef: { name: 'd1-rdp', key: 'password' } });

    const [secret] = (await secrets('orion.lab/generated-for=desktop.d1'));
    expect(secret?.metadata.name).toBe('d1-rdp');
    expect(secret?.metadata.ownerReferences).toEqual([{ apiVersion: 'orion.lab/v1alpha1', kind: 'Desktop', name: 'd1', uid: desktop.metadata.uid, controller: true }]);
    const password = Buffer.from(secret?.data?.password ?? '', 'base64').toString();
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);

    // desktop.yml set it as alice's password: the shadow hash verifies it.
    const worker = machines.workers[0];
    if (!worker) throw new Error('no worker');
    const shadow = (await worker.exec(['getent', 'shadow', 'alice'])).stdout.split(':')[1] ?? '';
    expect(shadow).toMatch(/^\$6\$/);
    const verify = 'import crypt, sys; print(crypt.crypt(sys.argv[1], sys.argv[2]) == sys.argv[2])';
    expect((await worker.exec(['python3', '-W', 'ignore', '-c', verify, password, shadow])).stdout.trim()).toBe('True');
    expect((await worker.exec(['python3', '-W', 'ignore', '-c', verify, `${password}x`, shadow])).stdout.trim()).toBe('False');

    // The Terraform state is in Secrets owned by the Desktop; the password is in no file Orion wrote.
    const state = await secrets(`${STATE_OF_LABEL}=desktop.d1`);
    expect(state.length).toBeGreaterThanOrEqual(2);
    for (const s of state) expect(s.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Desktop', name: 'd1', uid: desktop.metadata.uid });
    for (const file of await filesUnder(join(kube.root, 'state'))) {
      expect((await readFile(file)).includes(password), file).toBe(false);
    }
  }, 400_000);

  it('deleting the Desktop destroys its machine, then its password and state Secrets go', async () => {
    expect(await machines.machines()).toEqual([`${NAMESPACE}.d1.json`]);
    const deleted = await kube.kubectl(['delete', '-n', NAMESPACE, 'desktop', 'd1', '--wait=true', '--timeout=300s']);
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    expect(await machines.machines()).toEqual([]);
    expect(await secrets('orion.lab/generated-for=desktop.d1')).toEqual([]);
    expect(await secrets(`${STATE_OF_LABEL}=desktop.d1`)).toEqual([]);
  }, 400_000);

  const usersSecret = (name: string, password: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: { password } });
  const unchanged = async (name: string, before: SecretJson | undefined) => {
    const after = await kube.getJson<SecretJson>('secret', name);
    expect(after?.metadata.uid).toBe(before?.metadata.uid);
    expect(after?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
    expect(after?.data).toEqual(before?.data);
  };

  it('a user\'s passwordSecretRef, even one named <desktop>-rdp, survives deleting the Desktop', async () => {
    await kube.apply([usersSecret('d2-rdp', 'users-own-password-1')]);
    const before = await kube.getJson<SecretJson>('secret', 'd2-rdp');
    await kube.apply([machines.desktopManifest('d2', { ttlSeconds: 3600, idleTimeoutSeconds: 3600, passwordSecretRef: { name: 'd2-rdp' } })]);
    const wait = await kube.kubectl(['wait', '-n', NAMESPACE, '--for=condition=Ready', '--timeout=300s', 'desktop/d2']);
    expect(wait.exitCode, wait.stderr).toBe(0);
    const deleted = await kube.kubectl(['delete', '-n', NAMESPACE, 'desktop', 'd2', '--wait=true', '--timeout=300s']);
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    expect(await machines.machines()).toEqual([]);
    await unchanged('d2-rdp', before);
  }, 400_000);

  it('a user\'s Secret where the generated password would go is neither used nor deleted', async () => {
    await kube.apply([usersSecret('d3-rdp', 'users-own-password-2')]);
    const before = await kube.getJson<SecretJson>('secret', 'd3-rdp');
    await kube.apply([machines.desktopManifest('d3', { ttlSeconds: 3600, idleTimeoutSeconds: 3600 })]);
    const wait = await kube.kubectl(['wait', '-n', NAMESPACE, '--for=jsonpath={.status.conditions[?(@.type=="Ready")].reason}=SecretConflict', '--timeout=120s', 'desktop/d3']);
    expect(wait.exitCode, wait.stderr).toBe(0);
    const desktop = await kube.getJson<DesktopResource>('desktop', 'd3');
    expect(desktop?.status?.conditions?.find((c) => c.type === 'Ready')?.message).toMatch(/Secret orion-test\/d3-rdp exists and was not made by Orion for Desktop d3/);
    expect(await machines.machines()).toEqual([]); // nothing was made with it
    const deleted = await kube.kubectl(['delete', '-n', NAMESPACE, 'desktop', 'd3', '--wait=true', '--timeout=300s']);
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    await unchanged('d3-rdp', before);
  }, 400_000);
});
