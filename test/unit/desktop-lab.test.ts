// A Desktop as a one-machine Lab: the resolved spec (from the Desktop, its MachineClass and the class's Hypervisor)
// handed to the Lab renderer, the machine read back from the outputs and the playbook's variables (secrets only
// there, never in the rendered module; AD and pam_mount values from the class).
import { describe, expect, it } from 'vitest';
import { cloudConfig, desktopMachineSpec, desktopMachineFromOutputs, desktopPlaybookVars } from '../../controllers/desktop/machine.js';
import { renderLabModule } from '../../controllers/machine/module.js';
import { resolveDesktopTerms, type DesktopTerms } from '../../src/api/desktop-terms.js';
import { isMachineRefusal } from '../../src/api/machine-terms.js';
import type { DesktopResource, HypervisorResource, MachineClassResource } from '../../src/api/types.js';

function desktop(spec: Record<string, unknown>): DesktopResource {
  return {
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'Desktop',
    metadata: { name: 'tom', namespace: 'default', uid: 'u', generation: 1, resourceVersion: '1', creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: { user: 'tom', image: 'xfce', sshKeySecretRef: { name: 'k' }, ...spec },
  } as DesktopResource;
}

const META = { namespace: '', generation: 1, resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z' };
const hv = (name: string, spec: HypervisorResource['spec']): HypervisorResource => ({ apiVersion: 'orion.lab/v1alpha1', kind: 'Hypervisor', metadata: { name, uid: name, ...META }, spec });
const PVE = hv('pve', { type: 'proxmox', proxmox: { endpoint: 'https://pve:8006', node: 'pve', tokenSecretRef: { name: 't' }, tlsInsecure: false, storage: 'local-lvm', bridge: 'vmbr0' } });
const LOCAL = hv('local', { type: 'libvirt', libvirt: { uri: 'qemu:///system', pool: 'default', network: 'default', domainType: 'kvm' } });
const klass = (name: string, hypervisor: string, image: Record<string, string>): MachineClassResource => ({
  apiVersion: 'orion.lab/v1alpha1',
  kind: 'MachineClass',
  metadata: { name, uid: name, ...META },
  spec: {
    hypervisor,
    images: [{ name: 'xfce', ...image } as MachineClassResource['spec']['images'][number]],
    playbooks: [],
    desktop: {
      playbook: 'desktop',
      adJoin: { domain: 'proto.lan', ouPath: 'OU=Desktops,DC=proto,DC=lan', credentialsSecretRef: { name: 'ad' } },
      pamMount: { server: 'files', share: 'Partage', mountpoint: '~/share' },
    },
  },
});
const PVE_CLASS = klass('pve', 'pve', { template: 'ubuntu-22.04-xfce' });
const LOCAL_CLASS = klass('local', 'local', { volume: 'ubuntu-22.04-xfce' });

function termsOf(d: DesktopResource): DesktopTerms {
  const terms = resolveDesktopTerms(d, [PVE_CLASS, LOCAL_CLASS], [PVE, LOCAL]);
  if (isMachineRefusal(terms)) throw new Error(terms.message);
  return terms;
}

describe('desktopMachineSpec', () => {
  it('is one Proxmox machine cloned from the class\'s template, rendered by the Lab renderer', () => {
    const d = desktop({ className: 'pve', cpu: 2, memoryMiB: 4096, diskGiB: 32 });
    const spec = desktopMachineSpec(d, termsOf(d), 'root', 'orion', 'ssh-ed25519 AAAA k');
    expect(spec.provider.proxmox?.tokenSecretRef).toEqual({ namespace: 'orion', name: 't' });
    expect(spec.machines).toEqual([{ name: 'desktop', count: 1, cpu: 2, memoryMiB: 4096, diskGiB: 32, template: 'ubuntu-22.04-xfce' }]);
    const module = renderLabModule({ namespace: 'default', name: 'tom', spec, sshPublicKey: 'ssh-ed25519 AAAA k' }) as { module: Record<string, Record<string, unknown>> };
    expect(module.module['machine-desktop']).toMatchObject({ template: 'ubuntu-22.04-xfce', cores: 2, memory_mib: 4096, disk_gib: 32, ci_user: 'root' });
  });

  it('is one libvirt machine from the class\'s volume, with cloud-init authorizing the key', () => {
    const d = desktop({ className: 'local' });
    const spec = desktopMachineSpec(d, termsOf(d), 'root', 'default', 'ssh-ed25519 AAAA k');
    expect(spec.provider).toEqual({ type: 'libvirt', libvirt: LOCAL.spec.libvirt });
    expect(spec.ansible).toEqual({ playbook: 'desktop', user: 'root' });
    const machine = spec.machines[0];
    expect(machine).toMatchObject({ image: 'ubuntu-22.04-xfce' });
    expect(machine?.userData).toBe(cloudConfig('tom', 'root', 'ssh-ed25519 AAAA k'));
    expect(machine?.userData).toBe('#cloud-config\n{"hostname":"tom","users":[{"name":"root","ssh_authorized_keys":["ssh-ed25519 AAAA k"]}],"disable_root":false}\n');
  });
});

describe('desktopMachineFromOutputs', () => {
  it('reads the machine, with the default ports of a real VM', () => {
    const outputs = { machines: { value: [{ name: 'desktop-0', id: '101', mac: 'AA:BB:CC:DD:EE:FF', address: '10.0.0.150' }] } };
    expect(desktopMachineFromOutputs(outputs)).toEqual({ name: 'desktop-0', id: '101', mac: 'aa:bb:cc:dd:ee:ff', address: '10.0.0.150', sshPort: 22, rdpPort: 3389 });
  });

  it('takes published ports (NAT forwards, the test stand-in) and ignores bad ones', () => {
    const value = [{ name: 'desktop-0', id: 'x', mac: '', address: '127.0.0.1', ssh_port: 22800, rdp_port: 70000 }];
    expect(desktopMachineFromOutputs({ machines: { value } })).toMatchObject({ sshPort: 22800, rdpPort: 3389 });
    expect(desktopMachineFromOutputs({})).toBeUndefined();
  });
});

describe('desktopPlaybookVars', () => {
  it('passes AD and pam_mount only when asked, with the class\'s values and the credentials from the secrets', () => {
    const plain = desktop({ className: 'pve' });
    expect(desktopPlaybookVars(plain, termsOf(plain), { privateKey: 'k', adCredentials: { username: 'svc', password: 'x' } })).toEqual({ desktop_user: 'tom', orion_desktop: 'tom' });
    const full = desktop({ className: 'pve', adJoin: true, pamMount: true });
    expect(desktopPlaybookVars(full, termsOf(full), { privateKey: 'k', rdpPassword: 'p', adCredentials: { username: 'svc', password: 'ad-pass' } })).toEqual({
      desktop_user: 'tom',
      orion_desktop: 'tom',
      desktop_password: 'p',
      ad_join_domain: 'proto.lan',
      ad_join_ou: 'OU=Desktops,DC=proto,DC=lan',
      ad_join_user: 'svc',
      ad_join_password: 'ad-pass',
      pam_mount_server: 'files',
      pam_mount_share: 'Partage',
      pam_mount_mountpoint: '~/share',
    });
  });
});
