// Desktops under MachineClass: how a Desktop's class is resolved and what it refuses (no desktop section, an image it
// does not offer or one for the other hypervisor, sizes above its limits, AD join or a home share it does not define,
// a TTL above its longest), the fields a Desktop may no longer have, the resolved MachineSpec (libvirt volume, Proxmox
// template, the Secrets' namespaces; AD and pam_mount values from the class), what a class change does to a Desktop
// that has a machine, the generated key pair (stable across reconciles, distinct per Desktop, gone with the Desktop),
// and what the portal makes of it (a 400 naming the class, choices without hypervisor or secrets, the quota).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { utils } from 'ssh2';
import { describe, expect, it } from 'vitest';
import { desktopSecretNeeds, desktopView } from '../../controllers/desktop/machine.js';
import { classAffected, classTermsChange, type MachineClasses } from '../../controllers/machine/classes.js';
import { discardGeneratedKey, generatedKey } from '../../controllers/machine/generated-key.js';
import { resolveDesktopTerms, type DesktopTerms } from '../../src/api/desktop-terms.js';
import { isMachineRefusal } from '../../src/api/machine-terms.js';
import { keyOf } from '../../src/api/refs.js';
import type { DesktopResource, HypervisorResource, MachineClassResource } from '../../src/api/types.js';
import { validateManifest } from '../../src/api/validate.js';
import { FolderGeneratedPasswords } from '../../src/folder/generated-passwords.js';
import { RetryLater, TerminalError } from '../../src/runtime/errors.js';
import { checkDesktopClassQuota, desktopClassChoices, desktopTermsForRequest } from '../../src/server/api/desktop-classes.js';
import { ApiProblem } from '../../src/server/problem.js';
import type { Store } from '../../src/store/store.js';

const META = { namespace: '', generation: 1, resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z' };

const hypervisor = (name: string, spec: HypervisorResource['spec']): HypervisorResource =>
  ({ apiVersion: 'orion.lab/v1alpha1', kind: 'Hypervisor', metadata: { name, uid: `hv-${name}`, ...META }, spec });

const LOCAL = hypervisor('local', { type: 'libvirt', libvirt: { uri: 'qemu:///system', pool: 'default', network: 'default', domainType: 'kvm' } });
const PVE = hypervisor('pve', {
  type: 'proxmox',
  proxmox: { endpoint: 'https://pve.example.org:8006', node: 'pve1', tokenSecretRef: { name: 'pve-token' }, caSecretRef: { namespace: 'infra', name: 'pve-ca' }, tlsInsecure: false, storage: 'local-lvm', bridge: 'vmbr0' },
});

const DESKTOP_TERMS = {
  playbook: 'desktop',
  maxTtlSeconds: 14400,
  adJoin: { domain: 'proto.lan', ouPath: 'OU=Desktops,DC=proto,DC=lan', credentialsSecretRef: { namespace: 'ad', name: 'ad-join' } },
  pamMount: { server: 'files.proto.lan', share: 'homes', mountpoint: '~/share' },
};

function machineClass(name: string, spec: Partial<MachineClassResource['spec']> & { hypervisor: string }, isDefault = false): MachineClassResource {
  return {
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'MachineClass',
    metadata: { name, uid: `mc-${name}`, ...META, ...(isDefault ? { annotations: { 'orion.lab/default-class': 'true' } } : {}) },
    spec: { images: [{ name: 'xfce', volume: 'debian-12-xfce.qcow2' }], playbooks: [], desktop: DESKTOP_TERMS, ...spec },
  };
}

function desktop(spec: Partial<DesktopResource['spec']> = {}, extra: { status?: DesktopResource['status']; finalizers?: string[]; name?: string; uid?: string } = {}): DesktopResource {
  return {
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'Desktop',
    metadata: {
      name: extra.name ?? 'tom-desk', namespace: 'team', uid: extra.uid ?? 'desk-uid', generation: 2, resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z',
      ...(extra.finalizers ? { finalizers: extra.finalizers } : {}),
    },
    spec: { user: 'tom', image: 'xfce', cpu: 1, memoryMiB: 1024, diskGiB: 10, ttlSeconds: 3600, idleTimeoutSeconds: 3600, warningSeconds: 300, ...spec },
    ...(extra.status ? { status: extra.status } : {}),
  };
}

const STANDARD = machineClass('standard', { hypervisor: 'local', limits: { cpu: 4, memoryMiB: 8192, diskGiB: 40 } }, true);
const PVE_CLASS = machineClass('pve', { hypervisor: 'pve', images: [{ name: 'xfce', template: 'ubuntu-xfce' }, { name: 'disk', volume: 'd.qcow2' }] });
const LABS_ONLY = machineClass('labs', { hypervisor: 'local', desktop: undefined });
const PLAIN = machineClass('plain', { hypervisor: 'local', desktop: { playbook: 'desktop' } });
const ALL = [STANDARD, PVE_CLASS, LABS_ONLY, PLAIN];

const terms = (d: DesktopResource, classes = ALL): DesktopTerms => {
  const result = resolveDesktopTerms(d, classes, [LOCAL, PVE]);
  if (isMachineRefusal(result)) throw new Error(`refused: ${result.message}`);
  return result;
};
const refusal = (d: DesktopResource, classes = ALL) => {
  const result = resolveDesktopTerms(d, classes, [LOCAL, PVE]);
  if (!isMachineRefusal(result)) throw new Error('not refused');
  return result;
};
const world = (classes = ALL, hypervisors = [LOCAL, PVE]): MachineClasses => ({ machineClasses: () => classes, hypervisors: () => hypervisors, secretNamespace: 'orion' });

describe('Desktop class resolution and refusals', () => {
  it('the class the Desktop names, else the single default; AD and the home share only when switched on', () => {
    expect(terms(desktop({ className: 'pve' })).className).toBe('pve');
    const plain = terms(desktop());
    expect(plain).toMatchObject({ className: 'standard', playbook: 'desktop', image: { name: 'xfce', volume: 'debian-12-xfce.qcow2' } });
    expect(plain.adJoin).toBeUndefined();
    expect(plain.pamMount).toBeUndefined();
    expect(terms(desktop({ adJoin: true, pamMount: true }))).toMatchObject({ adJoin: DESKTOP_TERMS.adJoin, pamMount: DESKTOP_TERMS.pamMount });
  });

  it('a class without a desktop section offers no desktops', () => {
    expect(refusal(desktop({ className: 'labs' }))).toEqual({ refused: 'NoDesktops', message: expect.stringMatching(/^MachineClass "labs" offers no desktops/) });
  });

  it('an image the class does not offer, or one for the other hypervisor type, is refused naming the class', () => {
    expect(refusal(desktop({ image: 'windows' }))).toEqual({ refused: 'ImageNotInClass', message: 'MachineClass "standard" has no image "windows" (the Desktop); its images: "xfce"' });
    expect(refusal(desktop({ className: 'pve', image: 'disk' }))).toMatchObject({ refused: 'ImageNotForHypervisor', message: expect.stringContaining('MachineClass "pve": image "disk" is a libvirt disk') });
  });

  it('sizes above the class limits are refused', () => {
    expect(refusal(desktop({ cpu: 8 }))).toEqual({ refused: 'AboveClassLimits', message: 'MachineClass "standard" allows cpu of at most 4; the Desktop asks 8' });
    expect(refusal(desktop({ memoryMiB: 16384 })).message).toMatch(/memoryMiB of at most 8192 MiB; the Desktop asks 16384 MiB/);
    expect(terms(desktop({ cpu: 4, memoryMiB: 8192, diskGiB: 40 })).className).toBe('standard');
  });

  it('adJoin or pamMount asked of a class that defines none is refused naming the class', () => {
    expect(refusal(desktop({ className: 'plain', adJoin: true }))).toEqual({ refused: 'AdJoinNotInClass', message: expect.stringMatching(/^MachineClass "plain" defines no AD join/) });
    expect(refusal(desktop({ className: 'plain', pamMount: true }))).toEqual({ refused: 'PamMountNotInClass', message: expect.stringMatching(/^MachineClass "plain" defines no home share/) });
    expect(terms(desktop({ className: 'plain', adJoin: false, pamMount: false })).className).toBe('plain');
  });

  it('a ttlSeconds above the class\'s longest is refused', () => {
    expect(refusal(desktop({ ttlSeconds: 28800 }))).toEqual({ refused: 'AboveClassTtl', message: 'MachineClass "standard" allows ttlSeconds of at most 14400; the Desktop asks 28800' });
    expect(terms(desktop({ className: 'plain', ttlSeconds: 2592000 })).className).toBe('plain');
  });

  it('unknown class, no class at all, missing Hypervisor', () => {
    expect(refusal(desktop({ className: 'gpu' }))).toEqual({ refused: 'UnknownClass', message: 'MachineClass "gpu" does not exist' });
    expect(refusal(desktop(), [])).toMatchObject({ refused: 'NoClass', message: expect.stringContaining('a Desktop\'s machines are made on an admin\'s Hypervisor') });
    expect(resolveDesktopTerms(desktop(), [STANDARD], [PVE])).toMatchObject({ refused: 'HypervisorMissing' });
  });
});

describe('the Desktop schema', () => {
  const manifest = (spec: Record<string, unknown>) => ({ apiVersion: 'orion.lab/v1alpha1', kind: 'Desktop', metadata: { name: 'd', namespace: 'team' }, spec: { user: 'tom', image: 'xfce', ...spec } });
  const errors = (spec: Record<string, unknown>) => {
    const result = validateManifest(manifest(spec));
    return result.ok ? [] : result.errors;
  };

  it('provider and template are refused with a message that says to name a MachineClass and an image', () => {
    expect(errors({ provider: { type: 'libvirt' } })).toContainEqual(expect.objectContaining({ field: 'spec.provider', message: expect.stringMatching(/removed: .*name a MachineClass in spec\.className .*spec\.image/) }));
    expect(errors({ template: 'debian.qcow2' })).toContainEqual(expect.objectContaining({ field: 'spec.template', message: expect.stringContaining('name a MachineClass') }));
  });

  it('adJoin and pamMount are booleans: the object forms (a domain, a server of the author\'s choice) are refused', () => {
    expect(errors({ adJoin: { domain: 'evil.example', credentialsSecretRef: { name: 'x' } } })).toContainEqual(expect.objectContaining({ field: 'spec.adJoin', message: expect.stringMatching(/boolean/) }));
    expect(errors({ pamMount: { server: 'evil.example', share: 's' } })).toContainEqual(expect.objectContaining({ field: 'spec.pamMount', message: expect.stringMatching(/boolean/) }));
    expect(errors({ adJoin: true, pamMount: false })).toEqual([]);
  });

  it('the image is a name, never a path or a volume of another Desktop', () => {
    expect(errors({ image: '/var/lib/libvirt/images/x.qcow2' }).map((e) => e.field)).toEqual(['spec.image']);
    expect(errors({}).length).toBe(0);
    expect(validateManifest({ ...manifest({}), spec: { user: 'tom' } }).ok).toBe(false);
  });
});

describe('the resolved MachineSpec of a Desktop', () => {
  it('libvirt: the class\'s volume, the hypervisor\'s connection, cloud-init with the public key; the class\'s playbook', () => {
    const view = desktopView('root', world());
    const spec = view.machineSpec(desktop(), 'ssh-ed25519 AAAA gen');
    expect(spec.provider).toEqual(LOCAL.spec);
    expect(spec.machines).toEqual([expect.objectContaining({ name: 'desktop', image: 'debian-12-xfce.qcow2', userData: expect.stringContaining('ssh-ed25519 AAAA gen') })]);
    expect(spec.ansible).toEqual({ playbook: 'desktop', user: 'root' });
    expect(spec.sshKeySecretRef).toBeUndefined();
  });

  it('Proxmox: the class\'s template; the token and CA Secrets carry their namespace (Orion\'s when the Hypervisor names none)', () => {
    const view = desktopView('root', world());
    const d = desktop({ className: 'pve' });
    const spec = view.machineSpec(d, 'ssh-ed25519 AAAA gen');
    expect(spec.machines[0]).toMatchObject({ template: 'ubuntu-xfce' });
    expect(spec.machines[0]?.userData).toBeUndefined();
    expect(spec.provider.proxmox).toMatchObject({ tokenSecretRef: { namespace: 'orion', name: 'pve-token' }, caSecretRef: { namespace: 'infra', name: 'pve-ca' } });
    const needs = view.secretNeeds(d).map((n) => `${n.namespace ?? '(own)'}/${n.name}`);
    expect(needs).toEqual(['orion/pve-token', 'infra/pve-ca']);
  });

  it('AD and pam_mount values come from the class; the join account is read from the namespace the class names', () => {
    const d = desktop({ adJoin: true, pamMount: true, passwordSecretRef: { name: 'tom-pw' }, sshKeySecretRef: { name: 'tom-key' } });
    const needs = desktopSecretNeeds(d, terms(d), undefined, 'orion').map((n) => `${n.namespace ?? '(own)'}/${n.name}`);
    expect(needs).toEqual(['(own)/tom-key', '(own)/tom-pw', 'ad/ad-join']);
    const view = desktopView('root', world());
    const run = view.playbook(d, view.machineSpec(d), { adCredentials: { username: 'svc', password: 'pw' } });
    expect(run?.vars).toMatchObject({ ad_join_domain: 'proto.lan', ad_join_ou: 'OU=Desktops,DC=proto,DC=lan', pam_mount_server: 'files.proto.lan', pam_mount_share: 'homes' });
    const off = view.playbook(desktop(), view.machineSpec(desktop()), { adCredentials: { username: 'svc', password: 'pw' } });
    expect(Object.keys(off?.vars ?? {}).filter((k) => k.startsWith('ad_') || k.startsWith('pam_'))).toEqual([]);
  });

  it('a class that refuses the Desktop: machineSpec is a TerminalError ClassRefused', () => {
    expect(() => desktopView('root', world()).machineSpec(desktop({ className: 'labs' }))).toThrow(TerminalError);
  });
});

describe('a class change and a Desktop', () => {
  it('without a machine: refused before anything (TerminalError, no finalizer follows)', () => {
    const d = desktop({ className: 'labs' });
    expect(() => classTermsChange(d, 'Desktop', resolveDesktopTerms(d, ALL, [LOCAL]))).toThrow(/MachineClass "labs" offers no desktops/);
  });

  it('with a machine: kept (ClassTerms=False), nothing applied; fits again: recorded', () => {
    const d = desktop({ ttlSeconds: 28800 }, { finalizers: ['orion.lab/finalizer'], status: { hypervisor: 'local', appliedHash: 'h' } });
    const decision = classTermsChange(d, 'Desktop', resolveDesktopTerms(d, ALL, [LOCAL]));
    expect(decision.kept).toBeDefined();
    const fits = classTermsChange(desktop({}, { finalizers: ['orion.lab/finalizer'] }), 'Desktop', resolveDesktopTerms(desktop(), ALL, [LOCAL]));
    expect(fits.kept).toBeUndefined();
  });

  it('a class change concerns the Desktops naming it, those naming none, and those on a changed Hypervisor', () => {
    const named = desktop({ className: 'pve' }, { name: 'a' });
    const none = desktop({}, { name: 'b' });
    const other = desktop({ className: 'plain' }, { name: 'c', status: { hypervisor: 'pve' } });
    const event = (object: object) => ({ type: 'MODIFIED' as const, object }) as unknown as Parameters<typeof classAffected>[2];
    expect(classAffected([named, none, other], world(), event(PVE_CLASS))).toEqual([keyOf(named), keyOf(none)]);
    expect(classAffected([named, none, other], world(), event(PLAIN))).toEqual([keyOf(none), keyOf(other)]);
    expect(classAffected([named, none, other], world(), event(PVE))).toEqual([keyOf(named), keyOf(none), keyOf(other)]);
    expect(classAffected([named, other], world(), event(LOCAL))).toEqual([keyOf(other)]);
  });

  it('deleting a Desktop whose class is gone destroys on the Hypervisor it recorded; a gone Hypervisor keeps it (RetryLater)', () => {
    const d = desktop({ className: 'gone' }, { finalizers: ['orion.lab/finalizer'], status: { hypervisor: 'pve', appliedHash: 'h' } });
    const view = desktopView('root', world());
    expect(view.destroySpec?.(d).provider.type).toBe('proxmox');
    expect(() => desktopView('root', world(ALL, [LOCAL])).destroySpec?.(d)).toThrow(RetryLater);
  });
});

describe('the generated key pair of a Desktop without sshKeySecretRef', () => {
  it('is stable across reconciles (and restarts), distinct per Desktop, a working Ed25519 pair, and discarded with the Desktop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orion-genkey-'));
    try {
      const a = desktop({}, { name: 'a', uid: 'uid-a' });
      const b = desktop({}, { name: 'b', uid: 'uid-b' });
      const first = await generatedKey(new FolderGeneratedPasswords(dir), a);
      const again = await generatedKey(new FolderGeneratedPasswords(dir), a);
      expect(again.sshPublicKey).toBe(first.sshPublicKey);
      expect(first.sshPublicKey).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+ orion-generated$/);
      const other = await generatedKey(new FolderGeneratedPasswords(dir), b);
      expect(other.sshPublicKey).not.toBe(first.sshPublicKey);
      // The private half (as ssh2 reads it) is the public half's.
      const parsed = utils.parseKey(first.privateKey);
      if (parsed instanceof Error || Array.isArray(parsed)) throw new Error('unreadable key');
      expect(parsed.getPublicSSH().toString('base64')).toBe(first.sshPublicKey.split(' ')[1]);
      expect(desktopView('root', world()).generatesKey?.(a)).toBe(true);
      expect(desktopView('root', world()).generatesKey?.(desktop({ sshKeySecretRef: { name: 'k' } }))).toBe(false);
      const before = readdirSync(dir, { recursive: true }).length;
      await discardGeneratedKey(new FolderGeneratedPasswords(dir), a);
      expect(readdirSync(dir, { recursive: true }).length).toBeLessThan(before);
      const fresh = await generatedKey(new FolderGeneratedPasswords(dir), a);
      expect(fresh.sshPublicKey).not.toBe(first.sshPublicKey);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the portal and Desktop classes', () => {
  const store = (classes: MachineClassResource[], desktops: DesktopResource[] = []) =>
    ({ list: (kind: string) => (kind === 'MachineClass' ? classes : kind === 'Hypervisor' ? [LOCAL, PVE] : kind === 'Desktop' ? desktops : []) }) as unknown as Store;

  it('a Desktop its class refuses is a 400 naming the class', () => {
    const ask = () => desktopTermsForRequest(store(ALL), desktop({ className: 'plain', pamMount: true }).spec);
    expect(ask).toThrow(ApiProblem);
    expect(ask).toThrow(/spec\.className: MachineClass "plain" defines no home share/);
  });

  it('the choices list the classes that offer desktops: images, limits, AD and home share available, the longest TTL — never the hypervisor, the join account, the server or a Secret', () => {
    const choices = desktopClassChoices(store(ALL));
    expect(choices).toEqual([
      { name: 'standard', default: true, images: ['xfce'], limits: { cpu: 4, memoryMiB: 8192, diskGiB: 40 }, adJoin: true, pamMount: true, maxTtlSeconds: 14400 },
      { name: 'plain', default: false, images: ['xfce'], limits: {}, adJoin: false, pamMount: false },
      { name: 'pve', default: false, images: ['xfce', 'disk'], limits: {}, adJoin: true, pamMount: true, maxTtlSeconds: 14400 },
    ]);
    const text = JSON.stringify(choices);
    for (const secret of ['proto.lan', 'ad-join', 'files', 'homes', 'pve.example.org', 'qemu:///', 'pve-token', 'ubuntu-xfce', 'debian-12-xfce', 'local']) expect(text).not.toContain(secret);
  });

  it('quota.desktopsPerUser: a person holding that many Desktops of the class gets a 403; other classes and admins are not counted', () => {
    const limited = machineClass('standard', { hypervisor: 'local', quota: { desktopsPerUser: 1 } }, true);
    const owned = (name: string, className?: string): DesktopResource => {
      const d = desktop(className ? { className } : {}, { name });
      return { ...d, metadata: { ...d.metadata, labels: { 'orion.lab/owner': 'alice' }, annotations: { 'orion.lab/owner': 'alice' } } };
    };
    const alice = { name: 'alice', groups: [], admin: false, via: 'token' as const };
    const asked = terms(desktop(), [limited, PLAIN]);
    expect(() => checkDesktopClassQuota(store([limited, PLAIN], [owned('d1', 'plain')]), alice, asked)).not.toThrow();
    expect(() => checkDesktopClassQuota(store([limited, PLAIN], [owned('d1')]), alice, asked)).toThrow(/may hold at most 1 Desktop\(s\) of MachineClass "standard" and holds 1/);
    expect(() => checkDesktopClassQuota(store([limited, PLAIN], [owned('d1')]), { ...alice, admin: true }, asked)).not.toThrow();
  });
});
