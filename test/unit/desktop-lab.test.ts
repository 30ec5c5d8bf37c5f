// A Desktop as a one-machine Lab: the spec handed to the Lab renderer, the machine read back from the outputs and
// the playbook's variables (secrets only there, never in the rendered module).
import { describe, expect, it } from 'vitest';
import { cloudConfig, desktopLabSpec, desktopMachineFromOutputs, desktopPlaybookVars } from '../../controllers/desktop/machine.js';
import { renderLabModule } from '../../controllers/machine/module.js';
import type { DesktopResource } from '../../src/api/types.js';

function desktop(spec: Record<string, unknown>): DesktopResource {
  return {
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'Desktop',
    metadata: { name: 'tom', namespace: 'default', uid: 'u', generation: 1, resourceVersion: '1', creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: { user: 'tom', template: 'ubuntu-22.04-xfce', sshKeySecretRef: { name: 'k' }, ...spec },
  } as DesktopResource;
}

const proxmox = { type: 'proxmox', proxmox: { endpoint: 'https://pve:8006', node: 'pve', tokenSecretRef: { name: 't' } } };

describe('desktopLabSpec', () => {
  it('is one Proxmox machine cloned from the template, rendered by the Lab renderer', () => {
    const spec = desktopLabSpec(desktop({ provider: proxmox, cpu: 2, memoryMiB: 4096, diskGiB: 32 }), 'root', 'ssh-ed25519 AAAA k');
    expect(spec.machines).toEqual([{ name: 'desktop', count: 1, cpu: 2, memoryMiB: 4096, diskGiB: 32, template: 'ubuntu-22.04-xfce' }]);
    const module = renderLabModule({ namespace: 'default', name: 'tom', spec, sshPublicKey: 'ssh-ed25519 AAAA k' }) as { module: Record<string, Record<string, unknown>> };
    expect(module.module['machine-desktop']).toMatchObject({ template: 'ubuntu-22.04-xfce', cores: 2, memory_mib: 4096, disk_gib: 32, ci_user: 'root' });
  });

  it('is one libvirt machine from the image, with cloud-init authorizing the key', () => {
    const spec = desktopLabSpec(desktop({ provider: { type: 'libvirt' } }), 'root', 'ssh-ed25519 AAAA k');
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
  it('passes AD and pam_mount only when asked, with the credentials from the secrets', () => {
    expect(desktopPlaybookVars(desktop({ provider: proxmox }), { privateKey: 'k' })).toEqual({ desktop_user: 'tom', orion_desktop: 'tom' });
    const full = desktop({
      provider: proxmox,
      adJoin: { domain: 'proto.lan', ouPath: 'OU=Desktops,DC=proto,DC=lan', credentialsSecretRef: { name: 'ad' } },
      pamMount: { server: 'files', share: 'Partage' },
    });
    expect(desktopPlaybookVars(full, { privateKey: 'k', rdpPassword: 'p', adCredentials: { username: 'svc', password: 'ad-pass' } })).toEqual({
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
