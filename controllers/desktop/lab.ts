// A Desktop as the Lab library sees it: a one-machine Lab from the Desktop's template, rendered by the Lab's
// module renderer (terraform/libvirt-vm or terraform/proxmox-vm), applied with the TerraformRunner's converge and
// destroyed with the Lab's destroy step. Also the Desktop's secrets, read once per reconcile and never copied
// into the status, events, logs or the rendered module.
import type { DesktopResource, LabSpec } from '../../src/api/types.js';
import type { TerraformRunner, Workspace } from '../../src/exec/terraform/runner.js';
import type { Store } from '../../src/store/store.js';
import { MACHINES_OUTPUT, machinesFromOutputs, renderLabModule, type LabModuleInput, type MachineOutput } from '../machine/module.js';
import { summarize, type StepOptions, type TerraformStep } from '../machine/terraform.js';
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
export function desktopLabSpec(desktop: DesktopResource, adminUser: string, sshPublicKey?: string): LabSpec {
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
    ansible: { playbook: DESKTOP_PLAYBOOK, user: adminUser },
  } as LabSpec;
}

/** cloud-init user data (JSON is YAML) that lets the admin user in with the Desktop's key. */
export function cloudConfig(hostname: string, adminUser: string, sshPublicKey: string): string {
  const user = adminUser === 'root'
    ? { name: 'root', ssh_authorized_keys: [sshPublicKey] }
    : { name: adminUser, ssh_authorized_keys: [sshPublicKey], sudo: 'ALL=(ALL) NOPASSWD:ALL', shell: '/bin/bash' };
  const config = { hostname, users: [user], ...(adminUser === 'root' ? { disable_root: false } : {}) };
  return `#cloud-config\n${JSON.stringify(config)}\n`;
}

/** How the root module is rendered; tests swap the machine module for a stand-in (test/harness/desktop-standin.ts). */
export type RenderModule = (input: LabModuleInput) => Record<string, unknown>;
export const renderDesktopModule: RenderModule = renderLabModule;

export interface DesktopMachine extends MachineOutput {
  sshPort: number;
  rdpPort: number;
}

/**
 * The desktop's machine from `output -json`: the Lab's machine list, plus the ports when a module publishes them
 * (`ssh_port`, `rdp_port`: NAT forwards, stand-ins); 22 and 3389 otherwise.
 */
export function desktopMachineFromOutputs(outputs: Record<string, { value: unknown }> | undefined): DesktopMachine | undefined {
  const machine = machinesFromOutputs(outputs)[0];
  if (!machine) return undefined;
  const raw = (outputs?.[MACHINES_OUTPUT]?.value as Array<Record<string, unknown>>)[0] ?? {};
  return { ...machine, sshPort: port(raw.ssh_port, SSH_PORT), rdpPort: port(raw.rdp_port, RDP_PORT) };
}

function port(value: unknown, fallback: number): number {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 65536 ? n : fallback;
}

export interface DesktopApply extends TerraformStep {
  machine?: DesktopMachine;
}

/** The runner's converge (init when needed → apply; outputs from the state), as the Lab's apply step, keeping the machine's ports. */
export async function applyDesktop(runner: TerraformRunner, ws: Workspace, module: object, opts: StepOptions): Promise<DesktopApply> {
  const startedAt = new Date();
  const result = await runner.converge(ws, module, { force: true, signal: opts.signal, env: opts.env });
  const last = result.failure ?? result.runs.find((r) => r.op === 'apply') ?? result.runs.at(-1);
  const summary = last ? summarize(last, startedAt) : undefined;
  if (result.result !== 'success') return { ok: false, run: last, summary };
  const machine = desktopMachineFromOutputs(result.outputs);
  return { ok: true, run: last, summary, applied: result.applied, ...(machine ? { machine, machines: [machine] } : {}) };
}

// ---- secrets ------------------------------------------------------------------------------------------------------

export interface DesktopSecrets {
  privateKey: string;
  sshPublicKey?: string;
  rdpPassword?: string;
  adCredentials?: { username: string; password: string };
  proxmoxToken?: { id: string; secret: string };
  ca?: string;
}

export class SecretProblem extends Error {
  override name = 'SecretProblem';
  constructor(
    message: string,
    readonly reason: 'SecretMissing' | 'SecretInvalid' | 'SecretConflict',
  ) {
    super(message);
  }
}

/** Every secret the Desktop names; a missing secret or key is a SecretProblem (its message names no value). */
export async function readDesktopSecrets(store: Store, desktop: DesktopResource): Promise<DesktopSecrets> {
  const ns = desktop.metadata.namespace;
  const read = async (name: string, keys: string[]): Promise<Record<string, string>> => {
    const data = await store.readSecret(ns, name);
    if (!data) throw new SecretProblem(`secret "${name}" not found`, 'SecretMissing');
    const missing = keys.find((k) => !data[k]);
    if (missing) throw new SecretProblem(`secret "${name}" has no "${missing}" key`, 'SecretInvalid');
    return data;
  };
  const { spec } = desktop;
  if (!spec.sshKeySecretRef) throw new SecretProblem('sshKeySecretRef is required: the key that configures the machine and checks its sessions', 'SecretMissing');
  const ssh = await read(spec.sshKeySecretRef.name, ['privateKey']);
  const secrets: DesktopSecrets = { privateKey: ssh.privateKey as string };
  if (ssh.publicKey) secrets.sshPublicKey = ssh.publicKey.trim();
  if (spec.passwordSecretRef) secrets.rdpPassword = (await read(spec.passwordSecretRef.name, ['password'])).password;
  if (spec.adJoin) {
    const ad = await read(spec.adJoin.credentialsSecretRef.name, ['username', 'password']);
    secrets.adCredentials = { username: ad.username as string, password: ad.password as string };
  }
  const proxmox = spec.provider.type === 'proxmox' ? spec.provider.proxmox : undefined;
  if (proxmox) {
    const token = await read(proxmox.tokenSecretRef.name, ['tokenId', 'tokenSecret']);
    secrets.proxmoxToken = { id: token.tokenId as string, secret: token.tokenSecret as string };
    if (proxmox.caSecretRef) secrets.ca = (await read(proxmox.caSecretRef.name, ['ca.crt']))['ca.crt'];
  }
  return secrets;
}

/** Names of the secrets a Desktop reads (to reconcile it again when one changes). */
export function desktopSecretNames(desktop: DesktopResource): string[] {
  const { spec } = desktop;
  const proxmox = spec.provider.proxmox;
  return [spec.sshKeySecretRef?.name, spec.passwordSecretRef?.name, spec.adJoin?.credentialsSecretRef.name, proxmox?.tokenSecretRef.name, proxmox?.caSecretRef?.name]
    .filter((n): n is string => Boolean(n));
}

/** Extra vars of desktop.yml; the secret ones are marked no_log in the roles. */
export function desktopPlaybookVars(desktop: DesktopResource, secrets: DesktopSecrets): Record<string, unknown> {
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
