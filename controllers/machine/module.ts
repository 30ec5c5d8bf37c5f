// The root module of a Lab: a plain object serialized as main.tf.json (JSON syntax, never templated HCL).
// One module block per machine group calls terraform/libvirt-vm or terraform/proxmox-vm (copied into the
// workspace as ./modules/<name>), and one output lists every machine. Pure: the same Lab gives the same bytes,
// so the hash of the rendered module says whether there is anything to apply. The values here are the spec's: the
// pipeline's renderer (render.ts) moves them into terraform.tfvars.json before anything is written (variables.ts).
//
// Secrets never appear here: the Proxmox token reaches the provider through its environment
// (PM_API_TOKEN_ID / PM_API_TOKEN_SECRET) when the controller runs Terraform.
import type { MachineSpec } from './spec.js';

export const LIBVIRT_MODULE = 'libvirt-vm';
export const PROXMOX_MODULE = 'proxmox-vm';
export const LIBVIRT_PROVIDER = { source: 'dmacvicar/libvirt', version: '~> 0.8.3' };
/**
 * Telmate/proxmox has published only release candidates since 3.0 (3.0.1-rcN, 3.0.2-rcNN), and Terraform and
 * OpenTofu select a pre-release only when a constraint names it exactly: `>= 3.0.1-rc7` matches no version at all
 * and `init` fails. So the provider is pinned to one existing release, the same one in terraform/proxmox-vm (the
 * root module and the module must agree, or no version satisfies both).
 */
export const PROXMOX_PROVIDER = { source: 'Telmate/proxmox', version: '3.0.2-rc10' };

type Machine = MachineSpec['machines'][number];

export interface LabModuleInput {
  namespace: string;
  name: string;
  spec: MachineSpec;
  /** Content hash of the Terraform module directory the Lab uses: a new module version is a change to apply. */
  moduleHash?: string;
  /** How each machine's `image` is given to the libvirt module (from validation: a pool volume or a file). */
  images?: Record<string, ImageSource>;
  /** Proxmox with Proxmox-generated cloud-init: the public half of the Lab's SSH key. */
  sshPublicKey?: string;
}

export type ImageSource = { volume: string } | { path: string };

/** Output of the root module: every machine of every group. */
export const MACHINES_OUTPUT = 'machines';

export interface MachineOutput {
  name: string;
  id: string;
  mac: string;
  address: string;
  /** Published by a module whose machine is reached on another port (a NAT forward, a test stand-in): 22 otherwise. */
  sshPort?: number;
  /** The same for RDP (a Desktop): 3389 otherwise. */
  rdpPort?: number;
}

/** Prefix of the libvirt objects (domains, volumes) of a Lab: unique per daemon, readable in `virsh list`. */
export function libvirtPrefix(namespace: string, name: string): string {
  return `${namespace}.${name}`;
}

/** Proxmox VM names must be DNS names: dashes instead of dots. */
export function proxmoxPrefix(namespace: string, name: string): string {
  return `${namespace}-${name}`;
}

export function moduleBlockName(machine: string): string {
  return `machine-${machine}`;
}

/**
 * A kernel command line in the libvirt provider's canonical form (what it reads back from the domain): the
 * arguments are sorted, then key=value pairs fill maps (a repeated key starts a new map) and the keyless words
 * go, space-joined, into a last map under "_". Writing it in that form means a read-back never shows as drift.
 */
export function canonicalCmdline(cmdline: string | undefined): Array<Record<string, string>> {
  const words = (cmdline ?? '').split(/\s+/).filter(Boolean).sort();
  const maps: Array<Record<string, string>> = [];
  const keyless: string[] = [];
  let current: Record<string, string> = {};
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) {
      keyless.push(word);
      continue;
    }
    const key = word.slice(0, eq);
    if (key in current) {
      maps.push(current);
      current = {};
    }
    current[key] = word.slice(eq + 1);
  }
  if (Object.keys(current).length > 0) maps.push(current);
  if (keyless.length > 0) maps.push({ _: keyless.join(' ') });
  return maps;
}

const LIBVIRT_DEFAULTS = { uri: 'qemu:///system', pool: 'default', network: 'default', domainType: 'kvm' } as const;
const PROXMOX_DEFAULTS = { storage: 'local-lvm', bridge: 'vmbr0', tlsInsecure: false } as const;

/** Sizes with the schema's defaults (the validator fills them in; a hand-made spec may lack them). */
function sizes(machine: Machine): { count: number; cpu: number; memoryMiB: number; diskGiB: number } {
  return { count: machine.count ?? 1, cpu: machine.cpu ?? 1, memoryMiB: machine.memoryMiB ?? 1024, diskGiB: machine.diskGiB ?? 10 };
}

function libvirtMachine(input: LabModuleInput, machine: Machine): Record<string, unknown> {
  const libvirt = { ...LIBVIRT_DEFAULTS, ...input.spec.provider.libvirt };
  const size = sizes(machine);
  const image: Partial<{ volume: string; path: string }> = input.images?.[machine.name] ?? {};
  return {
    source: `./modules/${LIBVIRT_MODULE}`,
    name_prefix: libvirtPrefix(input.namespace, input.name),
    machine: machine.name,
    instances: size.count,
    vcpu: size.cpu,
    memory_mib: size.memoryMiB,
    disk_gib: size.diskGiB,
    pool: libvirt.pool,
    network: libvirt.network,
    domain_type: libvirt.domainType,
    base_volume_name: image.volume ?? '',
    base_image_path: image.path ?? '',
    user_data: machine.userData ?? '',
    kernel: machine.kernel ?? '',
    initrd: machine.initrd ?? '',
    cmdline: canonicalCmdline(machine.cmdline),
    // Terraform never waits for DHCP: a slow boot would time the apply out and taint the machine. Orion reads
    // the addresses from libvirt's lease table when it needs them (Ansible), reconcile after reconcile.
    wait_for_lease: false,
  };
}

function proxmoxMachine(input: LabModuleInput, machine: Machine): Record<string, unknown> {
  const proxmox = { ...PROXMOX_DEFAULTS, node: '', ...input.spec.provider.proxmox };
  const size = sizes(machine);
  return {
    source: `./modules/${PROXMOX_MODULE}`,
    name_prefix: proxmoxPrefix(input.namespace, input.name),
    machine: machine.name,
    instances: size.count,
    target_node: proxmox.node,
    template: machine.template ?? '',
    cores: size.cpu,
    memory_mib: size.memoryMiB,
    disk_gib: size.diskGiB,
    storage: proxmox.storage,
    bridge: proxmox.bridge,
    ci_user: input.spec.ansible?.user ?? 'root',
    ssh_public_key: input.sshPublicKey ?? '',
    user_data: machine.userData ?? '',
  };
}

function providerBlock(spec: MachineSpec): Record<string, unknown> {
  if (spec.provider.type === 'libvirt') {
    return { libvirt: { uri: spec.provider.libvirt?.uri ?? LIBVIRT_DEFAULTS.uri } };
  }
  const proxmox = { ...PROXMOX_DEFAULTS, endpoint: '', ...spec.provider.proxmox };
  return { proxmox: { pm_api_url: `${proxmox.endpoint.replace(/\/+$/, '')}/api2/json`, pm_tls_insecure: proxmox.tlsInsecure } };
}

/** The root module of a Lab, as the object written to main.tf.json. */
export function renderLabModule(input: LabModuleInput): Record<string, unknown> {
  const { spec } = input;
  const libvirt = spec.provider.type === 'libvirt';
  const moduleName = libvirt ? LIBVIRT_MODULE : PROXMOX_MODULE;
  const modules: Record<string, unknown> = {};
  for (const machine of spec.machines) {
    modules[moduleBlockName(machine.name)] = libvirt ? libvirtMachine(input, machine) : proxmoxMachine(input, machine);
  }
  const outputs = spec.machines.map((m) => `module.${moduleBlockName(m.name)}.machines`);
  return {
    '//': `Generated by Orion for Lab ${input.namespace}/${input.name}; module ${moduleName}${input.moduleHash ? ` ${input.moduleHash}` : ''}. Do not edit.`,
    terraform: {
      required_version: '>= 1.6',
      required_providers: libvirt ? { libvirt: LIBVIRT_PROVIDER } : { proxmox: PROXMOX_PROVIDER },
    },
    provider: providerBlock(spec),
    module: modules,
    output: { [MACHINES_OUTPUT]: { value: `\${concat(${outputs.join(', ')})}` } },
  };
}

/** The machines listed by `output -json`, or [] when the output is missing or malformed. */
export function machinesFromOutputs(outputs: Record<string, { value: unknown }> | undefined): MachineOutput[] {
  const value = outputs?.[MACHINES_OUTPUT]?.value;
  if (!Array.isArray(value)) return [];
  return value
    .filter((m): m is Record<string, unknown> => typeof m === 'object' && m !== null && typeof (m as { name?: unknown }).name === 'string')
    .map((m) => {
      const sshPort = port(m.ssh_port);
      const rdpPort = port(m.rdp_port);
      return {
        name: String(m.name),
        id: typeof m.id === 'string' ? m.id : String(m.id ?? ''),
        mac: typeof m.mac === 'string' ? m.mac.toLowerCase() : '',
        address: typeof m.address === 'string' ? m.address : '',
        ...(sshPort ? { sshPort } : {}),
        ...(rdpPort ? { rdpPort } : {}),
      };
    });
}

function port(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
}
