// The quickstart's optional Lab: one small VM on a local libvirt, made only when everything it needs answers — a
// libvirt daemon with the pool and network, and a tofu/terraform that can install the dmacvicar/libvirt provider.
// Otherwise the quickstart says why in one line and goes on with Nodes and Rentals.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { LIBVIRT_PROVIDER } from '../../controllers/machine/module.js';
import { findOnPath } from '../exec/terraform/binary.js';

export const QUICKSTART_LAB = 'quickstart';
export const LAB_FILE = 'lab.yaml';
/** The admin's Hypervisor and default MachineClass the Lab is made through: kept when the Lab goes (its delete needs them). */
export const LAB_CLASSES_FILE = 'lab-classes.yaml';

/** Where the Lab goes; each part can be overridden through the environment. */
export interface LabTarget {
  uri: string;
  pool: string;
  network: string;
}

export function labTargetFromEnv(env: NodeJS.ProcessEnv = process.env): LabTarget {
  return {
    uri: env.ORION_QUICKSTART_LIBVIRT_URI || 'qemu:///system',
    pool: env.ORION_QUICKSTART_LIBVIRT_POOL || 'default',
    network: env.ORION_QUICKSTART_LIBVIRT_NETWORK || 'default',
  };
}

/** A Terraform binary and the CLI configuration (provider mirror) it needs, if any. */
export interface TerraformTool {
  binary: string;
  cliConfig?: string;
}

export type LabDetection = { available: true; target: LabTarget; terraform: TerraformTool } | { available: false; reason: string };

const VIRSH_TIMEOUT_MS = 10_000;
const INIT_TIMEOUT_MS = 60_000;

export async function detectLab(target: LabTarget, packageRoot: string): Promise<LabDetection> {
  const libvirt = await checkLibvirt(target);
  if (libvirt) return { available: false, reason: libvirt };
  const terraform = await findTerraformWithLibvirt(packageRoot);
  if ('reason' in terraform) return { available: false, reason: terraform.reason };
  return { available: true, target, terraform };
}

/** undefined when the daemon answers and has the pool and the network, active; else why not. */
async function checkLibvirt({ uri, pool, network }: LabTarget): Promise<string | undefined> {
  const virsh = await findOnPath('virsh', `${process.env.PATH ?? ''}:/usr/bin`);
  if (!virsh) return `no libvirt at ${uri}: virsh is not installed (apt-get install libvirt-clients libvirt-daemon-system)`;
  const ask = (...args: string[]) =>
    execa(virsh, ['-q', '-c', uri, ...args], { reject: false, timeout: VIRSH_TIMEOUT_MS, env: { LC_ALL: 'C' } });
  const version = await ask('version');
  if (version.exitCode !== 0) return `no libvirt at ${uri}: ${firstError(version.stderr, version.timedOut)}`;
  const poolInfo = await ask('pool-info', pool);
  if (poolInfo.exitCode !== 0 || !/^State:\s+running/m.test(poolInfo.stdout)) {
    return `libvirt at ${uri} has no running storage pool "${pool}" (set ORION_QUICKSTART_LIBVIRT_POOL to use another)`;
  }
  const netInfo = await ask('net-info', network);
  if (netInfo.exitCode !== 0 || !/^Active:\s+yes/m.test(netInfo.stdout)) {
    return `libvirt at ${uri} has no active network "${network}" (set ORION_QUICKSTART_LIBVIRT_NETWORK to use another)`;
  }
  return undefined;
}

function firstError(stderr: string, timedOut: boolean): string {
  if (timedOut) return `virsh did not answer within ${VIRSH_TIMEOUT_MS / 1000} s`;
  const lines = stderr.split('\n').map((l) => l.replace(/^error:\s*/, '').trim()).filter(Boolean);
  // virsh says "failed to connect to the hypervisor" first and the cause after it.
  return lines.at(-1) ?? 'virsh failed';
}

/**
 * The first candidate whose `init` installs dmacvicar/libvirt: the tofu and provider mirror the test command
 * builds in .tools/, then tofu or terraform on PATH with the user's own CLI configuration.
 */
async function findTerraformWithLibvirt(packageRoot: string): Promise<TerraformTool | { reason: string }> {
  const tools = process.env.ORION_TOOLS_DIR ?? join(packageRoot, '.tools');
  const candidates: TerraformTool[] = [];
  if (existsSync(join(tools, 'bin', 'tofu')) && existsSync(join(tools, 'tofurc'))) {
    candidates.push({ binary: join(tools, 'bin', 'tofu'), cliConfig: join(tools, 'tofurc') });
  }
  for (const name of ['tofu', 'terraform']) {
    const binary = await findOnPath(name);
    if (binary) candidates.push({ binary });
  }
  if (candidates.length === 0) {
    return { reason: 'no tofu or terraform: neither is on PATH nor built in .tools/ (bash test/harness/tools/install.sh all)' };
  }
  let reason = '';
  for (const candidate of candidates) {
    const failure = await initFails(candidate);
    if (!failure) return candidate;
    reason = `${candidate.binary} cannot install the ${LIBVIRT_PROVIDER.source} provider: ${failure}`;
  }
  return { reason };
}

/** Runs `init` on a module that only requires the libvirt provider; undefined on success, else the error. */
async function initFails(tool: TerraformTool): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'orion-quickstart-probe-'));
  try {
    const module = { terraform: { required_providers: { libvirt: LIBVIRT_PROVIDER } } };
    await writeFile(join(dir, 'main.tf.json'), JSON.stringify(module));
    const env: Record<string, string> = { TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1' };
    if (tool.cliConfig) env.TF_CLI_CONFIG_FILE = tool.cliConfig;
    const init = await execa(tool.binary, ['init', '-input=false', '-no-color'], { cwd: dir, env, reject: false, timeout: INIT_TIMEOUT_MS });
    if (init.exitCode === 0) return undefined;
    if (init.timedOut) return `init did not finish within ${INIT_TIMEOUT_MS / 1000} s`;
    return (init.stderr.split('\n').find((l) => l.startsWith('Error:')) ?? init.stderr.trim().split('\n')[0]) || `exit ${init.exitCode}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The admin's side: the local libvirt as a Hypervisor (TCG-emulated: no /dev/kvm needed) and the default MachineClass
 * on it, with no images (blank disks) and small limits.
 */
export function labClassManifests(target: LabTarget): object[] {
  return [
    {
      apiVersion: 'orion.lab/v1alpha1',
      kind: 'Hypervisor',
      metadata: { name: 'local' },
      spec: { type: 'libvirt', libvirt: { uri: target.uri, pool: target.pool, network: target.network, domainType: 'qemu' } },
    },
    {
      apiVersion: 'orion.lab/v1alpha1',
      kind: 'MachineClass',
      metadata: { name: QUICKSTART_LAB, annotations: { 'orion.lab/default-class': 'true' } },
      spec: { hypervisor: 'local', images: [], limits: { cpu: 1, memoryMiB: 512, diskGiB: 2, machines: 2 } },
    },
  ];
}

/** The Lab, of the default class: one 1-vCPU, 256 MiB machine with a blank 1 GiB disk. */
export function labManifest(): object {
  return {
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'Lab',
    metadata: { name: QUICKSTART_LAB },
    spec: { machines: [{ name: 'vm', count: 1, cpu: 1, memoryMiB: 256, diskGiB: 1 }] },
  };
}

export async function writeLabManifest(generated: string, target: LabTarget): Promise<void> {
  const classes = '# Generated by orion quickstart: the local libvirt as a Hypervisor and the default MachineClass on it (the admin\'s).\n';
  await writeFile(join(generated, LAB_CLASSES_FILE), classes + labClassManifests(target).map((d) => stringify(d)).join('---\n'));
  const header = '# Generated by orion quickstart: a small Lab on the local libvirt, destroyed when the quickstart stops.\n';
  await writeFile(join(generated, LAB_FILE), header + stringify(labManifest()));
}
