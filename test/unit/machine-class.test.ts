// MachineClass and Hypervisor: how a Lab's class is found (named, default, unknown, two defaults, none, no class at
// all), what it refuses (an image it does not offer, sizes and machine counts above its limits, a playbook it does not
// allow, a missing Hypervisor), the fields a Lab may no longer have, the Hypervisor's https-only endpoint, the resolved
// MachineSpec the pipeline gets (libvirt volume, file, direct boot; Proxmox template with its Secrets' namespace), what
// a class change does to a Lab that has machines, which Labs a change concerns, how a Lab whose class is gone is
// destroyed, and what the portal makes of it (a 400 naming the class, choices without the hypervisor).
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getCommand } from '../../src/cli/get.js';
import { clusterRef } from '../../src/api/refs.js';
import { FolderStore } from '../../src/folder/store.js';
import { labClassAffected, labTermsChange } from '../../controllers/lab/class.js';
import { labMachineSpec } from '../../controllers/lab/machine-spec.js';
import { labView, type LabClasses } from '../../controllers/lab/view.js';
import { providerSecretNeeds, readSecrets } from '../../controllers/machine/secrets.js';
import { isMachineRefusal, resolveMachineTerms, type MachineTerms } from '../../src/api/machine-terms.js';
import type { HypervisorResource, LabResource, MachineClassResource } from '../../src/api/types.js';
import { validateManifest } from '../../src/api/validate.js';
import { RetryLater, TerminalError } from '../../src/runtime/errors.js';
import { checkLabClassQuota, machineClassChoices, machineTermsForRequest } from '../../src/server/api/machine-classes.js';
import { ApiProblem } from '../../src/server/problem.js';
import type { Store } from '../../src/store/store.js';

const META = { namespace: '', generation: 1, resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z' };

function hypervisor(name: string, spec: HypervisorResource['spec']): HypervisorResource {
  return { apiVersion: 'orion.lab/v1alpha1', kind: 'Hypervisor', metadata: { name, uid: `hv-${name}`, ...META }, spec };
}

function machineClass(name: string, spec: Partial<MachineClassResource['spec']> & { hypervisor: string }, isDefault = false): MachineClassResource {
  return {
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'MachineClass',
    metadata: { name, uid: `mc-${name}`, ...META, ...(isDefault ? { annotations: { 'orion.lab/default-class': 'true' } } : {}) },
    spec: { images: [{ name: 'debian', volume: 'debian-12.qcow2' }], playbooks: [], ...spec },
  };
}

function lab(spec: Partial<LabResource['spec']> = {}, extra: Partial<Pick<LabResource, 'status'>> & { finalizers?: string[] } = {}): LabResource {
  return {
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'Lab',
    metadata: { name: 'course', namespace: 'team', uid: 'lab-uid', generation: 3, resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z', ...(extra.finalizers ? { finalizers: extra.finalizers } : {}) },
    spec: { machines: [{ name: 'vm', count: 1, cpu: 1, memoryMiB: 1024, diskGiB: 10, image: 'debian' }], powerState: 'Running', driftDetection: { intervalSeconds: 600, autoRepair: false }, ...spec },
    ...(extra.status ? { status: extra.status } : {}),
  };
}

const LOCAL = hypervisor('local', { type: 'libvirt', libvirt: { uri: 'qemu:///system', pool: 'default', network: 'default', domainType: 'kvm' } });
const PVE = hypervisor('pve', {
  type: 'proxmox',
  proxmox: { endpoint: 'https://pve.example.org:8006', node: 'pve1', tokenSecretRef: { name: 'pve-token' }, caSecretRef: { namespace: 'infra', name: 'pve-ca' }, tlsInsecure: false, storage: 'local-lvm', bridge: 'vmbr0' },
});

const terms = (l: LabResource, classes: MachineClassResource[], hypervisors = [LOCAL, PVE]): MachineTerms => {
  const result = resolveMachineTerms(l, classes, hypervisors);
  if (isMachineRefusal(result)) throw new Error(`refused: ${result.message}`);
  return result;
};

const refusal = (l: LabResource, classes: MachineClassResource[], hypervisors = [LOCAL, PVE]) => {
  const result = resolveMachineTerms(l, classes, hypervisors);
  if (!isMachineRefusal(result)) throw new Error('not refused');
  return result;
};

describe('MachineClass resolution', () => {
  const standard = machineClass('standard', { hypervisor: 'local' }, true);
  const big = machineClass('big', { hypervisor: 'local', limits: { cpu: 8 } });

  it('the class the Lab names, else the single default', () => {
    expect(terms(lab({ className: 'big' }), [standard, big]).className).toBe('big');
    expect(terms(lab(), [standard, big]).className).toBe('standard');
    expect(terms(lab(), [standard, big]).hypervisor.metadata.name).toBe('local');
  });

  it('an unknown class is refused, naming it', () => {
    expect(refusal(lab({ className: 'gpu' }), [standard])).toEqual({ refused: 'UnknownClass', message: 'MachineClass "gpu" does not exist' });
  });

  it('two defaults are refused, naming both', () => {
    const other = machineClass('other', { hypervisor: 'local' }, true);
    expect(refusal(lab(), [standard, other])).toMatchObject({ refused: 'AmbiguousDefaultClass', message: expect.stringContaining('"other" and "standard"') });
  });

  it('classes without a default refuse a Lab that names none, listing them', () => {
    expect(refusal(lab(), [big])).toMatchObject({ refused: 'NoDefaultClass', message: expect.stringContaining('"big"') });
  });

  it('no class at all: refused (no built-in hypervisor), saying an admin must declare one', () => {
    expect(refusal(lab(), [])).toMatchObject({ refused: 'NoClass', message: expect.stringMatching(/no MachineClass exists.*an admin must declare one/) });
  });

  it('a class whose Hypervisor does not exist is refused, naming both', () => {
    expect(refusal(lab(), [machineClass('lost', { hypervisor: 'gone' }, true)])).toEqual({
      refused: 'HypervisorMissing', message: 'MachineClass "lost" names Hypervisor "gone", which does not exist',
    });
  });

  it('an image the class does not offer (another Lab\'s disk, say) is refused, listing the class\'s images', () => {
    const machines = [{ name: 'vm', count: 1, cpu: 1, memoryMiB: 1024, diskGiB: 10, image: 'lab1-disk' }];
    expect(refusal(lab({ machines }), [standard])).toEqual({
      refused: 'ImageNotInClass', message: 'MachineClass "standard" has no image "lab1-disk" (machine "vm"); its images: "debian"',
    });
  });

  it('a Proxmox machine names an image (a template to clone); a libvirt one may have an empty disk', () => {
    const pve = machineClass('pve', { hypervisor: 'pve', images: [{ name: 'debian', template: 'debian-12' }] }, true);
    const blank = [{ name: 'vm', count: 1, cpu: 1, memoryMiB: 1024, diskGiB: 10 }];
    expect(refusal(lab({ machines: blank }), [pve])).toMatchObject({ refused: 'ImageNotInClass', message: expect.stringContaining('a Proxmox machine is cloned from one') });
    expect(terms(lab({ machines: blank }), [standard]).className).toBe('standard');
  });

  it('an image for the other hypervisor type is refused (a template on libvirt)', () => {
    const odd = machineClass('odd', { hypervisor: 'local', images: [{ name: 'debian', template: 'debian-12' }] }, true);
    expect(refusal(lab(), [odd])).toMatchObject({ refused: 'ImageNotForHypervisor', message: expect.stringContaining('Hypervisor "local" is libvirt') });
  });

  it.each([
    ['cpu', { cpu: 4 }, { cpu: 2 }, 'MachineClass "small" allows cpu of at most 2; machine "vm" asks 4'],
    ['memory', { memoryMiB: 4096 }, { memoryMiB: 2048 }, 'MachineClass "small" allows memoryMiB of at most 2048 MiB; machine "vm" asks 4096 MiB'],
    ['disk', { diskGiB: 50 }, { diskGiB: 20 }, 'MachineClass "small" allows diskGiB of at most 20 GiB; machine "vm" asks 50 GiB'],
    ['machines (counts add up)', { count: 3 }, { machines: 2 }, 'MachineClass "small" allows at most 2 machine(s) per Lab; the Lab asks 3'],
  ])('%s above the class limits is refused', (_what, machine, limits, message) => {
    const small = machineClass('small', { hypervisor: 'local', limits }, true);
    const machines = [{ name: 'vm', count: 1, cpu: 1, memoryMiB: 1024, diskGiB: 10, image: 'debian', ...machine }];
    expect(refusal(lab({ machines }), [small])).toEqual({ refused: 'AboveClassLimits', message });
    const within = machines.map((m) => ({ ...m, ...Object.fromEntries(Object.entries(machine).map(([k]) => [k, 1])) }));
    expect(terms(lab({ machines: within }), [small]).className).toBe('small');
  });

  it('a playbook the class does not allow is refused; one it allows passes, with or without .yml', () => {
    const withPlaybook = machineClass('pb', { hypervisor: 'local', playbooks: ['lab-base'] }, true);
    expect(refusal(lab({ ansible: { playbook: 'create_user', user: 'root' } }), [withPlaybook])).toEqual({
      refused: 'PlaybookNotAllowed', message: 'MachineClass "pb" does not allow playbook "create_user"; its playbooks: "lab-base"',
    });
    expect(refusal(lab({ ansible: { playbook: 'lab-base', user: 'root' } }), [standard])).toMatchObject({ message: expect.stringContaining('it allows none') });
    expect(terms(lab({ ansible: { playbook: 'lab-base.yml', user: 'root' } }), [withPlaybook]).className).toBe('pb');
  });
});

describe('the schemas: what a Lab may no longer say, what a Hypervisor and a MachineClass must', () => {
  const labDoc = (spec: Record<string, unknown>) => ({ apiVersion: 'orion.lab/v1alpha1', kind: 'Lab', metadata: { name: 'l' }, spec });
  const errorsOf = (doc: unknown) => {
    const result = validateManifest(doc);
    if (result.ok) throw new Error('valid');
    return result.errors;
  };

  it.each([
    ['provider', { provider: { type: 'libvirt' }, machines: [{ name: 'vm' }] }, 'spec.provider'],
    ['template', { machines: [{ name: 'vm', template: 'debian' }] }, 'spec.machines[0].template'],
    ['kernel', { machines: [{ name: 'vm', kernel: '/boot/vmlinuz' }] }, 'spec.machines[0].kernel'],
    ['initrd', { machines: [{ name: 'vm', initrd: '/boot/initrd' }] }, 'spec.machines[0].initrd'],
    ['cmdline', { machines: [{ name: 'ok' }, { name: 'vm', cmdline: 'init=/bin/sh' }] }, 'spec.machines[1].cmdline'],
  ])('a Lab with %s is refused, with a message that says to use a MachineClass', (_what, spec, field) => {
    expect(errorsOf(labDoc(spec))).toEqual([{ field, path: expect.any(Array), message: expect.stringContaining('name a MachineClass in spec.className') }]);
  });

  it('a Lab\'s image is an image name (a DNS label): never a path or a volume', () => {
    for (const image of ['/etc/shadow', 'default.lab1.web-0.qcow2', '../x']) {
      expect(errorsOf(labDoc({ machines: [{ name: 'vm', image }] }))[0]).toMatchObject({ field: 'spec.machines[0].image', message: expect.stringContaining('must match') });
    }
    expect(validateManifest(labDoc({ className: 'standard', machines: [{ name: 'vm', image: 'debian-12' }] })).ok).toBe(true);
  });

  it('a Hypervisor\'s Proxmox endpoint is https only; the Secrets it names may carry a namespace', () => {
    const hv = (endpoint: string) => ({
      apiVersion: 'orion.lab/v1alpha1', kind: 'Hypervisor', metadata: { name: 'pve' },
      spec: { type: 'proxmox', proxmox: { endpoint, node: 'pve1', tokenSecretRef: { namespace: 'orion-system', name: 'pve-token' } } },
    });
    expect(errorsOf(hv('http://pve.example.org:8006'))[0]).toMatchObject({ field: 'spec.proxmox.endpoint', message: expect.stringContaining('must match') });
    expect(validateManifest(hv('https://pve.example.org:8006')).ok).toBe(true);
    expect(errorsOf({ ...hv('https://pve:8006'), metadata: { name: 'pve', namespace: 'default' } })[0]).toMatchObject({ field: 'metadata.namespace' });
  });

  it('a MachineClass image has exactly one of volume, path or template', () => {
    const mc = (image: Record<string, unknown>) => ({ apiVersion: 'orion.lab/v1alpha1', kind: 'MachineClass', metadata: { name: 'c' }, spec: { hypervisor: 'local', images: [{ name: 'i', ...image }] } });
    expect(validateManifest(mc({ volume: 'a.qcow2' })).ok).toBe(true);
    expect(validateManifest(mc({ path: '/var/lib/orion/images/a.qcow2', kernel: '/var/lib/orion/images/vmlinuz' })).ok).toBe(true);
    expect(validateManifest(mc({})).ok).toBe(false);
    expect(validateManifest(mc({ volume: 'a.qcow2', template: 'debian' })).ok).toBe(false);
    expect(validateManifest(mc({ volume: '../a' })).ok).toBe(false);
    expect(validateManifest(mc({ path: 'relative/a.qcow2' })).ok).toBe(false);
  });
});

describe('the resolved MachineSpec the pipeline gets', () => {
  const images = [
    { name: 'vol', volume: 'debian-12.qcow2' },
    { name: 'file', path: '/var/lib/orion/images/debian.qcow2' },
    { name: 'boot', path: '/var/lib/orion/images/root.img', kernel: '/var/lib/orion/images/vmlinuz', initrd: '/var/lib/orion/images/initrd.img', cmdline: 'root=/dev/vda rw' },
  ];
  const local = machineClass('local', { hypervisor: 'local', images }, true);
  const machine = (name: string, image: string) => ({ name, count: 1, cpu: 1, memoryMiB: 1024, diskGiB: 10, image, userData: '#cloud-config\n${HOME}' });

  it('libvirt: a pool volume, an allowed file, direct boot; the provider is the Hypervisor\'s; userData as written', () => {
    const l = lab({ machines: [machine('a', 'vol'), machine('b', 'file'), machine('c', 'boot')] });
    const spec = labMachineSpec(l, terms(l, [local]), 'default');
    expect(spec.provider).toEqual({ type: 'libvirt', libvirt: { uri: 'qemu:///system', pool: 'default', network: 'default', domainType: 'kvm' } });
    expect(spec.machines).toEqual([
      { name: 'a', count: 1, cpu: 1, memoryMiB: 1024, diskGiB: 10, userData: '#cloud-config\n${HOME}', image: 'debian-12.qcow2' },
      { name: 'b', count: 1, cpu: 1, memoryMiB: 1024, diskGiB: 10, userData: '#cloud-config\n${HOME}', image: '/var/lib/orion/images/debian.qcow2' },
      {
        name: 'c', count: 1, cpu: 1, memoryMiB: 1024, diskGiB: 10, userData: '#cloud-config\n${HOME}', image: '/var/lib/orion/images/root.img',
        kernel: '/var/lib/orion/images/vmlinuz', initrd: '/var/lib/orion/images/initrd.img', cmdline: 'root=/dev/vda rw',
      },
    ]);
    expect(spec).not.toHaveProperty('className');
  });

  it('Proxmox: a template; the Secrets the Hypervisor names carry their namespace (its own, else Orion\'s)', () => {
    const pve = machineClass('pve', { hypervisor: 'pve', images: [{ name: 'debian', template: 'debian-12-tpl' }] }, true);
    const l = lab();
    const spec = labMachineSpec(l, terms(l, [pve]), 'orion-system');
    expect(spec.machines[0]).toMatchObject({ name: 'vm', template: 'debian-12-tpl' });
    expect(spec.machines[0]).not.toHaveProperty('image');
    expect(spec.provider.proxmox).toMatchObject({ endpoint: 'https://pve.example.org:8006', tokenSecretRef: { namespace: 'orion-system', name: 'pve-token' }, caSecretRef: { namespace: 'infra', name: 'pve-ca' } });
    expect(providerSecretNeeds(spec.provider).map((n) => `${n.namespace}/${n.name}`)).toEqual(['orion-system/pve-token', 'infra/pve-ca']);
  });
});

describe('a class change and a Lab that has machines', () => {
  const standard = machineClass('standard', { hypervisor: 'local' }, true);
  const world = (classes: MachineClassResource[], hypervisors = [LOCAL]): LabClasses => ({ machineClasses: () => classes, hypervisors: () => hypervisors, secretNamespace: 'default' });
  const provisioned = { finalizers: ['orion.lab/finalizer'], status: { hypervisor: 'local', appliedHash: 'sha256:x' } };

  it('a Lab without machines its class refuses: TerminalError ClassRefused (no finalizer follows)', () => {
    const l = lab({ className: 'gone' });
    expect(() => labTermsChange(l, resolveMachineTerms(l, [standard], [LOCAL]))).toThrow(TerminalError);
    try {
      labTermsChange(l, resolveMachineTerms(l, [standard], [LOCAL]));
    } catch (err) {
      expect((err as TerminalError).status).toMatchObject({ reason: 'ClassRefused', phase: 'Failed', message: 'MachineClass "gone" does not exist' });
    }
  });

  it('a Lab with machines its class now refuses keeps them: ClassTerms=False, nothing applied', async () => {
    const l = lab({}, provisioned);
    const decision = labTermsChange(l, resolveMachineTerms(l, [], [LOCAL]));
    const written: unknown[] = [];
    const store = { updateStatus: async (_obj: unknown, status: unknown) => void written.push(status) } as unknown as Store;
    await decision.kept?.(store);
    expect(written).toHaveLength(1);
    expect((written[0] as LabResource['status'])?.conditions?.find((c) => c.type === 'ClassTerms')).toMatchObject({
      status: 'False', reason: 'ClassRefused', observedGeneration: 3, message: expect.stringContaining('no MachineClass exists'),
    });
  });

  it('a class now naming another Hypervisor never moves the machines', () => {
    const moved = machineClass('standard', { hypervisor: 'pve', images: [{ name: 'debian', template: 'd' }] }, true);
    const l = lab({}, provisioned);
    expect(labTermsChange(l, resolveMachineTerms(l, [moved], [LOCAL, PVE])).kept).toBeDefined();
    expect(labTermsChange(l, resolveMachineTerms(l, [standard], [LOCAL])).kept).toBeUndefined();
  });

  it('which Labs a change concerns: those of the class, those naming none, those on the hypervisor', () => {
    const labs = [
      lab({ className: 'standard' }), lab({ className: 'other' }), lab(),
    ].map((l, i) => ({ ...l, metadata: { ...l.metadata, name: `l${i}` } }));
    const onPve = { ...lab({ className: 'other' }, { status: { hypervisor: 'pve' } }), metadata: { ...lab().metadata, name: 'l3' } };
    const store = { list: (kind: string) => (kind === 'Lab' ? [...labs, onPve] : []) } as unknown as Store;
    const classes = world([standard, machineClass('other', { hypervisor: 'local' })]);
    expect(labClassAffected(store, classes, { type: 'MODIFIED', object: standard })).toEqual(['Lab/team/l0', 'Lab/team/l2']);
    expect(labClassAffected(store, classes, { type: 'DELETED', object: PVE })).toEqual(['Lab/team/l2', 'Lab/team/l3']);
    // l3's class is on local too (its machines on pve): both concern it.
    expect(labClassAffected(store, classes, { type: 'MODIFIED', object: LOCAL })).toEqual(['Lab/team/l0', 'Lab/team/l1', 'Lab/team/l2', 'Lab/team/l3']);
  });

  it('deleting a Lab whose class is gone destroys on the Hypervisor it recorded; a gone Hypervisor keeps it (RetryLater)', () => {
    const l = lab({}, provisioned);
    const spec = labView(world([])).destroySpec?.(l);
    expect(spec?.provider).toMatchObject({ type: 'libvirt', libvirt: { uri: 'qemu:///system' } });
    expect(() => labView(world([], [])).destroySpec?.(l)).toThrow(RetryLater);
    expect(() => labView(world([], [])).destroySpec?.(l)).toThrow(/Hypervisor "local", where its machines were made, does not exist/);
  });
});

describe('the portal and MachineClasses', () => {
  const store = (classes: MachineClassResource[], hypervisors = [LOCAL, PVE]) =>
    ({ list: (kind: string) => (kind === 'MachineClass' ? classes : kind === 'Hypervisor' ? hypervisors : []) }) as unknown as Store;

  it('a Lab naming an image outside its class is a 400 naming the class', () => {
    const s = store([machineClass('standard', { hypervisor: 'local' }, true)]);
    const ask = () => machineTermsForRequest(s, lab({ machines: [{ name: 'vm', count: 1, cpu: 1, memoryMiB: 1024, diskGiB: 10, image: 'windows' }] }).spec);
    expect(ask).toThrow(ApiProblem);
    expect(ask).toThrow(/spec\.className: MachineClass "standard" has no image "windows"/);
  });

  it('the choices list classes with their images, limits and playbooks, never the hypervisor', () => {
    const s = store([
      machineClass('pve', { hypervisor: 'pve', images: [{ name: 'debian', template: 'tpl' }], limits: { cpu: 2 }, playbooks: ['lab-base'] }),
      machineClass('standard', { hypervisor: 'local' }, true),
    ]);
    const choices = machineClassChoices(s);
    expect(choices).toEqual([
      { name: 'standard', default: true, images: ['debian'], limits: {}, playbooks: [] },
      { name: 'pve', default: false, images: ['debian'], limits: { cpu: 2 }, playbooks: ['lab-base'] },
    ]);
    const text = JSON.stringify(choices);
    for (const secret of ['pve.example.org', 'qemu:///', 'pve-token', 'pve-ca', 'tpl', 'debian-12.qcow2', 'local']) expect(text).not.toContain(secret);
  });

  it('quota.labsPerUser: a person holding that many Labs of the class gets a 403; other classes and admins are not counted', () => {
    const limited = machineClass('standard', { hypervisor: 'local', quota: { labsPerUser: 1 } }, true);
    const other = machineClass('other', { hypervisor: 'local' });
    const owned = (name: string, className?: string): LabResource => {
      const l = lab(className ? { className } : {});
      return { ...l, metadata: { ...l.metadata, name, labels: { 'orion.lab/owner': 'alice' }, annotations: { 'orion.lab/owner': 'alice' } } };
    };
    const alice = { name: 'alice', groups: [], admin: false, via: 'token' as const };
    const withLabs = (labs: LabResource[]) =>
      ({ list: (kind: string) => (kind === 'MachineClass' ? [limited, other] : kind === 'Hypervisor' ? [LOCAL] : kind === 'Lab' ? labs : []) }) as unknown as Store;
    const asked = terms(lab(), [limited, other]);
    expect(() => checkLabClassQuota(withLabs([owned('l1', 'other')]), alice, asked)).not.toThrow();
    expect(() => checkLabClassQuota(withLabs([owned('l1')]), alice, asked)).toThrow(/may hold at most 1 Lab\(s\) of MachineClass "standard" and holds 1/);
    expect(() => checkLabClassQuota(withLabs([owned('l1')]), { ...alice, admin: true }, asked)).not.toThrow();
  });

});

describe('the cluster-scoped kinds in the shared pieces', () => {
  it('folder store: a Hypervisor and a MachineClass without namespace are stored under an empty namespace; orion get lists them', async () => {
    const root = mkdtempSync(join(tmpdir(), 'orion-mclass-'));
    try {
      const dir = join(root, 'manifests');
      mkdirSync(dir);
      writeFileSync(join(dir, 'classes.yaml'), [
        'apiVersion: orion.lab/v1alpha1', 'kind: Hypervisor', 'metadata: { name: local }', 'spec: { type: libvirt, libvirt: { uri: "qemu:///system" } }', '---',
        'apiVersion: orion.lab/v1alpha1', 'kind: MachineClass', 'metadata:', '  name: standard', '  annotations: { orion.lab/default-class: "true" }',
        'spec:', '  hypervisor: local', '  images: [{ name: debian, volume: debian-12.qcow2 }]', '  limits: { machines: 4 }', '',
      ].join('\n'));
      const folder = new FolderStore({ dir, stateDir: join(root, 'state') });
      await folder.start();
      expect(folder.get<MachineClassResource>(clusterRef('MachineClass', 'standard'))?.spec).toMatchObject({ hypervisor: 'local', playbooks: [] });
      expect(folder.get<HypervisorResource>(clusterRef('Hypervisor', 'local'))?.spec.libvirt).toEqual({ uri: 'qemu:///system', pool: 'default', network: 'default', domainType: 'kvm' });
      await folder.stop();
      const state = { stateDir: join(root, 'state'), namespace: 'team-a' };
      expect(await getCommand('mc', undefined, state)).toMatch(/^NAME\s+HYPERVISOR\s+MACHINES\s+DEFAULT\s+AGE\n\s*standard\s+local\s+4\s+true/);
      expect(await getCommand('hv', undefined, state)).toMatch(/^NAME\s+TYPE\s+URI\s+ENDPOINT\s+AGE\n\s*local\s+libvirt\s+qemu:\/\/\/system\s+<none>/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('folder store: a Lab in one namespace reads the Hypervisor\'s Secrets from the namespace they name', async () => {
    const root = mkdtempSync(join(tmpdir(), 'orion-mclass-secrets-'));
    try {
      const dir = join(root, 'manifests');
      mkdirSync(dir);
      const secret = (namespace: string, name: string, data: Record<string, string>) =>
        ['apiVersion: v1', 'kind: Secret', `metadata: { name: ${name}, namespace: ${namespace} }`, 'stringData:', ...Object.entries(data).map(([k, v]) => `  ${k}: "${v}"`)].join('\n');
      writeFileSync(join(dir, 'secrets.yaml'), [
        secret('infra', 'pve-ca', { 'ca.crt': 'CA-OF-INFRA' }),
        secret('default', 'pve-token', { tokenId: 'orion@pve!t', tokenSecret: 'from-default' }),
        secret('team', 'pve-token', { tokenId: 'tenant@pve!t', tokenSecret: 'from-team' }),
      ].join('\n---\n'));
      const folder = new FolderStore({ dir, stateDir: join(root, 'state') });
      await folder.start();
      const pve = machineClass('pve', { hypervisor: 'pve', images: [{ name: 'debian', template: 'tpl' }] }, true);
      const l = lab(); // namespace "team", which has a pve-token of its own: never read for the Hypervisor
      const spec = labMachineSpec(l, terms(l, [pve]), 'default');
      const secrets = await readSecrets(folder, l.metadata.namespace, providerSecretNeeds(spec.provider));
      expect(secrets).toEqual({ proxmoxToken: { id: 'orion@pve!t', secret: 'from-default' }, ca: 'CA-OF-INFRA' });
      await expect(readSecrets(folder, 'team', providerSecretNeeds(labMachineSpec(l, terms(l, [pve]), 'elsewhere').provider)))
        .rejects.toThrow('secret "elsewhere/pve-token" not found');
      await folder.stop();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
