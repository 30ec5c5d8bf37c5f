// A Desktop as the machine pipeline sees it: a one-machine Lab from the Desktop's template, rendered, applied and
// destroyed like a Lab's, configured by ansible/desktop.yml with the Desktop's variables; its machine recorded in
// status.machine, its RDP endpoint in status.rdp. Secrets (SSH key, RDP and AD passwords, Proxmox token) reach the
// playbook's variables and Terraform's environment only, never the status, events, logs or the rendered module.
import type { DesktopResource, DesktopStatus } from '../../src/api/types.js';
import type { MachineSpec } from '../machine/spec.js';
import { machinesFromOutputs, type MachineOutput } from '../machine/module.js';
import { providerSecretNeeds, sshKeyNeed, type MachineSecrets, type SecretNeed } from '../machine/secrets.js';
import type { MachineView } from '../machine/view.js';
import { RDP_PORT } from './sessions.js';

/** The one machine group of a Desktop's Lab. */
export const DESKTOP_MACHINE = 'desktop';
/** The playbook that configures a desktop (ansible/desktop.yml). */
export const DESKTOP_PLAYBOOK = 'desktop';
const SSH_PORT = 22;

/**
 * The Lab spec of a Desktop: one machine, its size, and the template as a libvirt image or a Proxmox template.
 * On libvirt, cloud-init authorizes the public half of the Desktop's key for the admin user (Proxmox's own
 * cloud-init gets it from the rendered module).
 */
export function desktopLabSpec(desktop: DesktopResource, adminUser: string, sshPublicKey?: string, playbook = DESKTOP_PLAYBOOK): MachineSpec {
  const { spec } = desktop;
  const libvirt = spec.provider.type === 'libvirt';
  const userData = libvirt && sshPublicKey ? cloudConfig(desktop.metadata.name, adminUser, sshPublicKey) : undefined;
  return {
    provider: spec.provider,
    machines: [{
      name: DESKTOP_MACHINE,
      count: 1,
      cpu: spec.cpu ?? 1,
      memoryMiB: spec.memoryMiB ?? 1024,
      diskGiB: spec.diskGiB ?? 10,
      ...(libvirt ? { image: spec.template } : { template: spec.template }),
      ...(userData ? { userData } : {}),
    }],
    ...(spec.sshKeySecretRef ? { sshKeySecretRef: spec.sshKeySecretRef } : {}),
    // A playbook runs on the machine: libvirt waits for its address, Proxmox's cloud-init creates this user.
    ansible: { playbook, user: adminUser },
  } as MachineSpec;
}

/** cloud-init user data (JSON is YAML) that lets the admin user in with the Desktop's key. */
export function cloudConfig(hostname: string, adminUser: string, sshPublicKey: string): string {
  const user = adminUser === 'root'
    ? { name: 'root', ssh_authorized_keys: [sshPublicKey] }
    : { name: adminUser, ssh_authorized_keys: [sshPublicKey], sudo: 'ALL=(ALL) NOPASSWD:ALL', shell: '/bin/bash' };
  const config = { hostname, users: [user], ...(adminUser === 'root' ? { disable_root: false } : {}) };
  return `#cloud-config\n${JSON.stringify(config)}\n`;
}

export interface DesktopMachine extends MachineOutput {
  sshPort: number;
  rdpPort: number;
}

/** The desktop's machine with its ports: the ones the module publishes (NAT forwards, stand-ins), else 22 and 3389. */
export function withDesktopPorts(machine: MachineOutput | undefined): DesktopMachine | undefined {
  return machine ? { ...machine, sshPort: machine.sshPort ?? SSH_PORT, rdpPort: machine.rdpPort ?? RDP_PORT } : undefined;
}

/** The desktop's machine from `output -json`. */
export function desktopMachineFromOutputs(outputs: Record<string, { value: unknown }> | undefined): DesktopMachine | undefined {
  return withDesktopPorts(machinesFromOutputs(outputs)[0]);
}

/** Every Secret the Desktop names, and the keys each must hold. */
export function desktopSecretNeeds(desktop: DesktopResource): SecretNeed[] {
  const { spec } = desktop;
  const needs: SecretNeed[] = spec.sshKeySecretRef ? [sshKeyNeed(spec.sshKeySecretRef.name)] : [];
  if (spec.passwordSecretRef) needs.push({ name: spec.passwordSecretRef.name, keys: ['password'], take: (d, s) => void (s.rdpPassword = d.password) });
  if (spec.adJoin) {
    needs.push({
      name: spec.adJoin.credentialsSecretRef.name,
      keys: ['username', 'password'],
      take: (d, s) => void (s.adCredentials = { username: d.username as string, password: d.password as string }),
    });
  }
  return [...needs, ...providerSecretNeeds(spec.provider)];
}

/** Extra vars of desktop.yml; the secret ones are marked no_log in the roles. */
export function desktopPlaybookVars(desktop: DesktopResource, secrets: MachineSecrets): Record<string, unknown> {
  const { spec } = desktop;
  const vars: Record<string, unknown> = { desktop_user: spec.user, orion_desktop: desktop.metadata.name };
  if (secrets.rdpPassword) vars.desktop_password = secrets.rdpPassword;
  if (spec.adJoin && secrets.adCredentials) {
    vars.ad_join_domain = spec.adJoin.domain;
    if (spec.adJoin.ouPath) vars.ad_join_ou = spec.adJoin.ouPath;
    vars.ad_join_user = secrets.adCredentials.username;
    vars.ad_join_password = secrets.adCredentials.password;
  }
  if (spec.pamMount) {
    vars.pam_mount_server = spec.pamMount.server;
    vars.pam_mount_share = spec.pamMount.share;
    vars.pam_mount_mountpoint = spec.pamMount.mountpoint ?? '~/share';
  }
  return vars;
}

/** The Desktop for the machine pipeline, with the machine's administrative login and the playbook that configures it. */
export function desktopView(adminUser: string, playbook = DESKTOP_PLAYBOOK): MachineView<DesktopResource> {
  return {
    machineSpec: (desktop, sshPublicKey) => desktopLabSpec(desktop, adminUser, sshPublicKey, playbook),
    secretNeeds: desktopSecretNeeds,
    playbook: (desktop, spec, secrets) => ({ playbook: spec.ansible?.playbook ?? playbook, user: adminUser, vars: desktopPlaybookVars(desktop, secrets), identity: {} }),
    machines: (desktop) => (desktop.status?.machine ? [desktop.status.machine] : []),
    recordMachines: (desktop, machines, outputs) => {
      const machine = machines[0];
      // The RDP endpoint is the machine's address (a generated password is added when it is Ready): set by a new
      // apply, or once a libvirt machine's address comes from its DHCP lease.
      if (!outputs && desktop.status?.rdp?.host === machine?.address) return { machine };
      const port = outputs ? (withDesktopPorts(outputs[0])?.rdpPort ?? RDP_PORT) : (desktop.status?.rdp?.port ?? RDP_PORT);
      const rdp: DesktopStatus['rdp'] = machine?.address ? { host: machine.address, port, user: desktop.spec.user } : undefined;
      return { machine, rdp };
    },
  };
}
