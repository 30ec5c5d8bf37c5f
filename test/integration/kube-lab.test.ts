// A Lab in Kubernetes mode end to end: a real kube-apiserver and etcd, Orion's controllers in-process on the
// KubeStore (startKubeOrion), real OpenTofu with the dmacvicar/libvirt provider and a real libvirtd (QEMU/TCG) in
// its own network namespace. `kubectl apply` of a Lab makes its machine run; `kubectl wait` sees it Ready; the
// Terraform state lives in Secrets owned by the Lab. The local workspaces are scratch: wiped while Orion is down
// (a restarted pod), the state still comes from the Secrets, so deleting the Lab destroys the machine before the
// finalizer goes, and then the state Secrets go too. The machine boots no OS (a blank 1 GiB qcow2 disk). Where it is
// made is the admin's: a cluster-scoped Hypervisor and MachineClass, which a tenant ServiceAccount with the example
// role cannot create (403 from the API server).
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HypervisorResource, LabResource, MachineClassResource } from '../../src/api/types.js';
import { stateResourceAddresses } from '../../src/exec/terraform/state.js';
import { KubeStateBackends } from '../../src/kube/state-backend.js';
import { STATE_OF_LABEL } from '../../src/kube/state-secrets.js';
import { KubeBed, NAMESPACE, waitFor } from '../harness/kube-bed.js';
import { hypervisorManifest, machineClassManifest } from '../harness/manifest-files.js';
import { startLibvirt, type LibvirtEnv } from '../harness/libvirt.js';
import { ensureTofu, type TofuTools } from '../harness/tofu.js';

const LISTEN = '127.0.0.1:23010';
const DOMAIN = `${NAMESPACE}.k1.web-0`;

interface SecretJson {
  metadata: { name: string; ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }> };
}

describe('a Lab in Kubernetes mode (kube-apiserver, OpenTofu, libvirtd)', () => {
  let bed: KubeBed;
  let virt: LibvirtEnv;
  let tools: TofuTools;

  beforeAll(async () => {
    [bed, virt, tools] = await Promise.all([KubeBed.create(), startLibvirt({ id: `orkl${randomBytes(3).toString('hex')}` }), ensureTofu('all')]);
    await startOrion();
  }, 900_000);

  afterAll(async () => {
    await bed?.destroy();
    await virt?.stop();
  });

  const startOrion = () =>
    bed.startOrion({
      listen: LISTEN,
      terraform: tools.tofu,
      terraformEnv: tools.env,
      imageDirs: [virt.poolDir],
      lab: { shutdownGraceMs: 1500, pollMs: 500 },
    });

  const labManifest = () => ({
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'Lab',
    metadata: { name: 'k1' },
    spec: {
      className: 'local',
      machines: [{ name: 'web', count: 1, cpu: 1, memoryMiB: 256, diskGiB: 1 }],
      driftDetection: { intervalSeconds: 0 },
    },
  });

  const domains = async (): Promise<Map<string, string>> => {
    const rows = new Map<string, string>();
    for (const line of (await virt.virsh('list', '--all')).split('\n')) {
      const m = /^\s*(?:\d+|-)\s+(\S+)\s+(.+?)\s*$/.exec(line);
      if (m) rows.set(m[1] as string, m[2] as string);
    }
    return rows;
  };
  const stateSecrets = async (): Promise<SecretJson[]> =>
    (JSON.parse(await bed.mustKubectl(['get', 'secrets', '-n', NAMESPACE, '-l', `${STATE_OF_LABEL}=lab.k1`, '-o', 'json'])) as { items: SecretJson[] }).items;

  const classes = () => [
    hypervisorManifest('local', { type: 'libvirt', libvirt: { uri: virt.uri, pool: virt.pool, network: virt.network, domainType: 'qemu' } }),
    machineClassManifest('local', 'local', { images: [{ name: 'base', volume: 'base.qcow2' }], limits: { machines: 2 } }),
  ];

  it('a Hypervisor and a MachineClass are created cluster-scoped, and Orion reads them with an empty namespace', async () => {
    for (const crd of ['hypervisors.orion.lab', 'machineclasses.orion.lab']) {
      expect((await bed.mustKubectl(['get', 'crd', crd, '-o', 'jsonpath={.spec.scope}'])).trim()).toBe('Cluster');
    }
    await bed.apply(classes());
    const stored = JSON.parse(await bed.mustKubectl(['get', 'machineclasses.orion.lab', 'local', '-o', 'json'])) as MachineClassResource;
    expect(stored.metadata.namespace).toBeUndefined();
    expect(stored.spec).toMatchObject({ hypervisor: 'local', playbooks: [] }); // CRD default
    await waitFor('the class in Orion\'s cache', () => bed.orion?.store.get<MachineClassResource>({ kind: 'MachineClass', namespace: '', name: 'local' }));
    const hv = await waitFor('the hypervisor in Orion\'s cache', () => bed.orion?.store.get<HypervisorResource>({ kind: 'Hypervisor', namespace: '', name: 'local' }));
    expect(hv.metadata.namespace).toBe('');
  });

  it('kubectl apply of a Lab: Ready (kubectl wait), its machine running, its state in Secrets owned by the Lab', async () => {
    await bed.apply([bed.keySecret(), labManifest()]);
    const wait = await bed.kubectl(['wait', '-n', NAMESPACE, '--for=condition=Ready', '--timeout=300s', 'lab/k1']);
    expect(wait.exitCode, wait.stderr).toBe(0);
    expect((await domains()).get(DOMAIN)).toBe('running');

    const lab = await bed.getJson<LabResource>('lab', 'k1');
    expect(lab?.status?.phase).toBe('Ready');
    expect(lab?.status?.hypervisor).toBe('local');
    expect(lab?.status?.observedGeneration).toBe(lab?.metadata.generation);
    expect(lab?.metadata.finalizers).toContain('orion.lab/finalizer');
    expect(lab?.status?.lastTerraformRun).toMatchObject({ op: 'apply', result: 'success' });

    const secrets = await stateSecrets();
    expect(secrets.map((s) => s.metadata.name)).toEqual(expect.arrayContaining(['tfstate-lab-k1', expect.stringMatching(/^tfstate-lab-k1-g\d+-c0$/)]));
    for (const secret of secrets) {
      expect(secret.metadata.ownerReferences).toEqual([{ apiVersion: 'orion.lab/v1alpha1', kind: 'Lab', name: 'k1', uid: lab?.metadata.uid, controller: true }]);
    }
    const orion = bed.orion;
    if (!orion) throw new Error('orion is not running');
    const state = await new KubeStateBackends({ client: orion.store.client, owners: orion.store }).forWorkspace({ kind: 'lab', namespace: NAMESPACE, name: 'k1' }).load();
    expect(state).toBeDefined();
    expect(stateResourceAddresses(state as Buffer)).toEqual(expect.arrayContaining([expect.stringMatching(/libvirt_domain/), expect.stringMatching(/libvirt_volume/)]));
    // Orion's Secret caches (its own Secrets; those a resource names, read by name) hold none of the (large) state
    // Secrets, which their backend reads itself.
    const cached = [...orion.store.secrets.cached().keys, ...orion.store.secrets.own.keys()];
    for (const secret of secrets) expect(cached).not.toContain(`${NAMESPACE}/${secret.metadata.name}`);
  }, 400_000);

  it('with its workspace wiped (a restarted pod), deleting the Lab destroys the machine from the Secret state, then the Secrets go', async () => {
    await bed.orion?.stop();
    bed.orion = undefined;
    await rm(join(bed.root, 'state', 'terraform'), { recursive: true, force: true });
    await startOrion();
    await waitFor('k1 in the new cache', () => bed.orion?.store.get<LabResource>({ kind: 'Lab', namespace: NAMESPACE, name: 'k1' }));

    const deleted = await bed.kubectl(['delete', '-n', NAMESPACE, 'lab', 'k1', '--wait=true', '--timeout=300s']);
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    // The finalizer went only after destroy: nothing of the Lab is left on the hypervisor once the object is gone.
    expect([...(await domains()).keys()].filter((d) => d.startsWith(`${NAMESPACE}.k1.`))).toEqual([]);
    const volumes = (await virt.virsh('vol-list', virt.pool)).split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '');
    expect(volumes.filter((v) => v.startsWith(`${NAMESPACE}.k1.`))).toEqual([]);
    expect(await stateSecrets()).toEqual([]);
  }, 400_000);

  it('a tenant ServiceAccount with the example role may create a Lab or a Desktop, but not a MachineClass or a Hypervisor: 403 from the API server', async () => {
    const asStudent = await bed.tenantKubectl('student');

    const ownLab = await asStudent(['create', '--dry-run=server', '-n', NAMESPACE, '-f', '-'], JSON.stringify({ ...labManifest(), metadata: { name: 'mine' } }));
    expect(ownLab.exitCode, ownLab.stderr).toBe(0);
    const ownDesktop = await asStudent(['create', '--dry-run=server', '-n', NAMESPACE, '-f', '-'], JSON.stringify({ apiVersion: 'orion.lab/v1alpha1', kind: 'Desktop', metadata: { name: 'mine' }, spec: { user: 'student', image: 'debian' } }));
    expect(ownDesktop.exitCode, ownDesktop.stderr).toBe(0);
    const evil = [
      ['hypervisors', hypervisorManifest('evil', { type: 'libvirt', libvirt: { uri: 'qemu+ssh://attacker.example/system' } })],
      ['machineclasses', machineClassManifest('evil', 'local', { images: [{ name: 'disk', volume: `${NAMESPACE}.k1.web-0.qcow2` }] }, true)],
    ] as const;
    for (const [plural, doc] of evil) {
      const created = await asStudent(['create', '-v=6', '-f', '-'], JSON.stringify(doc));
      expect(created.exitCode).not.toBe(0);
      expect(created.stderr).toMatch(new RegExp(`POST https://127\\.0\\.0\\.1:\\d+/apis/orion\\.lab/v1alpha1/${plural}[^\\n]* 403 Forbidden`));
      expect(created.stderr).toMatch(new RegExp(`cannot create resource "${plural}" in API group "orion\\.lab" at the cluster scope`));
      expect((await bed.kube.kubectl(['get', `${plural}.orion.lab`, 'evil'])).exitCode).not.toBe(0);
    }
    const patched = await asStudent(['patch', 'machineclasses.orion.lab', 'local', '--type=merge', '-p', '{"spec":{"limits":{"machines":50}}}'], '');
    expect(patched.stderr).toMatch(/forbidden/i);
    // Nor point the class's home share at a server of theirs (pam_mount would send users' passwords there).
    const share = await asStudent(['patch', 'machineclasses.orion.lab', 'local', '--type=merge', '-p', '{"spec":{"desktop":{"pamMount":{"server":"attacker.example","share":"x"}}}}'], '');
    expect(share.exitCode).not.toBe(0);
    expect(share.stderr).toMatch(/forbidden/i);
  });
});
