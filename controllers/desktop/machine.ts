// A Desktop as the machine pipeline sees it: a one-machine Lab from its MachineClass's image on the class's Hypervisor, rendered, applied and
// destroyed like a Lab's, configured by ansible/desktop.yml with the Desktop's variables; its machine recorded in
// status.machine, its RDP endpoint in status.rdp. Secrets (SSH key, RDP and AD passwords, Proxmox token) reach the
// playbook's variables and Terraform's environment only (the AD join account and the Proxmox token are read from the
// namespaces the class and the Hypervisor name), never the status, events, logs or the rendered module.
import { DEFAULT_DESKTOP_PLAYBOOK, resolveDesktopTerms, type DesktopTerms } from '../../src/api/desktop-terms.js';
import { CLASS_REFUSED, isMachineRefusal, type MachineClassRefusal } from '../../src/api/machine-terms.js';
import type { DesktopResource, DesktopStatus, HypervisorResource } from '../../src/api/types.js';
import { TerminalError } from '../../src/runtime/errors.js';
import { destroyHypervisor, machineProvider, type MachineClasses } from '../machine/classes.js';
import { imageSource, providerOf } from '../machine/provider.js';
import type { MachineProvider, MachineSpec } from '../machine/spec.js';
import { machinesFromOutputs, type MachineOutput } from '../machine/module.js';
import { providerSecretNeeds, sshKeyNeed, type MachineSecrets, type SecretNeed } from '../machine/secrets.js';
import type { MachineView } from '../machine/view.js';
import { RDP_PORT } from './sessions.js';

/** The one machine group of a Desktop's Lab. */
export const DESKTOP_MACHINE = 'desktop';
const SSH_PORT = 22;

/**
 * The resolved spec of a Desktop, made in this one place from the Desktop (its size, its user), its class's terms (the
 * image as a libvirt volume or file, or a Proxmox template; the playbook) and the class's Hypervisor (the provider,
 * each Secret with its namespace). On libvirt, cloud-init authorizes the public half of the Desktop's key (its own or
 * the generated one) for the admin user (Proxmox's own cloud-init gets it from the rendered module). Pure.
 */
export function desktopMachineSpec(desktop: DesktopResource, terms: DesktopTerms, adminUser: string, secretNamespace: string, sshPublicKey?: string): MachineSpec {
  return desktopOn(desktop, { provider: providerOf(terms.hypervisor, secretNamespace), playbook: terms.playbook, source: imageSource(terms.image) }, adminUser, sshPublicKey);
}

/** What a Desktop's machine is destroyed with when its class no longer resolves: the Hypervisor it recorded, no disk source. */
export function destroyDesktopSpec(desktop: DesktopResource, hypervisor: HypervisorResource, adminUser: string, secretNamespace: string): MachineSpec {
  return desktopOn(desktop, { provider: providerOf(hypervisor, secretNamespace), playbook: DEFAULT_DESKTOP_PLAYBOOK, source: {} }, adminUser);
}

/** Where and from what: the provider, the playbook, the machine's disk source. */
interface DesktopPlace {
  provider: MachineProvider;
  playbook: string;
  source: object;
}

function desktopOn(desktop: DesktopResource, { provider, playbook, source }: DesktopPlace, adminUser: string, sshPublicKey?: string): MachineSpec {
  const { spec } = desktop;
  const userData = provider.type === 'libvirt' && sshPublicKey ? cloudConfig(desktop.metadata.name, adminUser, sshPublicKey) : undefined;
  return {
    provider,
    machines: [{
      name: DESKTOP_MACHINE,
      count: 1,
      cpu: spec.cpu ?? 1,
      memoryMiB: spec.memoryMiB ?? 1024,
      diskGiB: spec.diskGiB ?? 10,
      ...source,
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

/**
 * Every Secret the Desktop needs, and the keys each must hold: its own SSH key and password (its namespace), the
 * class's AD join account and the Hypervisor's Proxmox token and CA (the namespaces they name, else Orion's).
 */
export function desktopSecretNeeds(desktop: DesktopResource, terms: DesktopTerms | undefined, provider: MachineProvider | undefined, secretNamespace: string): SecretNeed[] {
  const { spec } = desktop;
  const needs: SecretNeed[] = spec.sshKeySecretRef ? [sshKeyNeed(spec.sshKeySecretRef.name)] : [];
  if (spec.passwordSecretRef) needs.push({ name: spec.passwordSecretRef.name, keys: ['password'], take: (d, s) => void (s.rdpPassword = d.password) });
  const join = terms?.adJoin;
  if (join) {
    needs.push({
      namespace: join.credentialsSecretRef.namespace ?? secretNamespace,
      name: join.credentialsSecretRef.name,
      keys: ['username', 'password'],
      take: (d, s) => void (s.adCredentials = { username: d.username as string, password: d.password as string }),
    });
  }
  return [...needs, ...(provider ? providerSecretNeeds(provider) : [])];
}

/** Extra vars of desktop.yml (the AD domain and the home share are the class's); the secret ones are marked no_log in the roles. */
export function desktopPlaybookVars(desktop: DesktopResource, terms: Pick<DesktopTerms, 'adJoin' | 'pamMount'>, secrets: MachineSecrets): Record<string, unknown> {
  const { spec } = desktop;
  const vars: Record<string, unknown> = { desktop_user: spec.user, orion_desktop: desktop.metadata.name };
  if (secrets.rdpPassword) vars.desktop_password = secrets.rdpPassword;
  if (terms.adJoin && secrets.adCredentials) {
    vars.ad_join_domain = terms.adJoin.domain;
    if (terms.adJoin.ouPath) vars.ad_join_ou = terms.adJoin.ouPath;
    vars.ad_join_user = secrets.adCredentials.username;
    vars.ad_join_password = secrets.adCredentials.password;
  }
  if (terms.pamMount) {
    vars.pam_mount_server = terms.pamMount.server;
    vars.pam_mount_share = terms.pamMount.share;
    vars.pam_mount_mountpoint = terms.pamMount.mountpoint ?? '~/share';
  }
  return vars;
}

/** The Desktop's terms as its class decides them, or the refusal. */
export function desktopTerms(desktop: DesktopResource, classes: MachineClasses): DesktopTerms | MachineClassRefusal {
  return resolveDesktopTerms(desktop, classes.machineClasses(), classes.hypervisors());
}

/** The Desktop for the machine pipeline, with the machine's administrative login and the playbook that configures it. */
export function desktopView(adminUser: string, classes: MachineClasses): MachineView<DesktopResource> {
  return {
    machineSpec: (desktop, sshPublicKey) => {
      const terms = desktopTerms(desktop, classes);
      if (isMachineRefusal(terms)) throw new TerminalError(terms.message, CLASS_REFUSED, { phase: 'Failed' });
      return desktopMachineSpec(desktop, terms, adminUser, classes.secretNamespace, sshPublicKey);
    },
    destroySpec: (desktop) => {
      const terms = desktopTerms(desktop, classes);
      const recorded = destroyHypervisor(desktop, 'Desktop', terms, classes);
      if (!recorded && !isMachineRefusal(terms)) return desktopMachineSpec(desktop, terms, adminUser, classes.secretNamespace);
      return destroyDesktopSpec(desktop, recorded as HypervisorResource, adminUser, classes.secretNamespace);
    },
    secretNeeds: (desktop) => {
      const terms = desktopTerms(desktop, classes);
      const resolved = isMachineRefusal(terms) ? undefined : terms;
      return desktopSecretNeeds(desktop, resolved, machineProvider(desktop, terms, classes), classes.secretNamespace);
    },
    generatesKey: (desktop) => desktop.spec.sshKeySecretRef === undefined,
    playbook: (desktop, spec, secrets) => {
      const terms = desktopTerms(desktop, classes);
      const options = isMachineRefusal(terms) ? {} : terms;
      return { playbook: spec.ansible?.playbook ?? DEFAULT_DESKTOP_PLAYBOOK, user: adminUser, vars: desktopPlaybookVars(desktop, options, secrets), identity: {} };
    },
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
