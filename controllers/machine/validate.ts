// What a Lab may ask for, checked before anything runs: sizes within the configured limits (at most the seed's
// 8 CPU / 16 GiB / 500 GiB), machine names and counts, provider-specific fields, and the files a libvirt machine
// boots from (base image, kernel, initrd), which qemu reads as the daemon's user: a path must resolve — symlinks
// included — inside one of the allowed image directories, and anything else must be a plain volume name.
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, normalize, sep } from 'node:path';
import { MACHINE_LIMITS } from '../../src/api/schemas/provider.js';
import type { MachineSpec } from './spec.js';
import { isDnsLabel } from '../../src/base/names.js';
import type { ImageSource } from './module.js';

export interface LabLimits {
  cpu: number;
  memoryMiB: number;
  diskGiB: number;
  /** Instances of one machine group. */
  count: number;
  /** Machines of a whole Lab. */
  machines: number;
}

export const DEFAULT_LAB_LIMITS: LabLimits = { ...MACHINE_LIMITS, machines: 50 };

export interface LabPolicy {
  limits: LabLimits;
  /** Directories (storage pool directories, an image cache) whose files a machine may boot from. */
  imageDirs: string[];
}

export class LabSpecError extends Error {
  override name = 'LabSpecError';
  constructor(
    message: string,
    readonly reason = 'InvalidSpec',
  ) {
    super(message);
  }
}

const VOLUME_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,254}$/;

type Machine = MachineSpec['machines'][number];

function checkSizes(machine: Machine, limits: LabLimits): void {
  const where = `machine ${JSON.stringify(machine.name)}`;
  const over = (what: string, value: number, max: number, unit = ''): void => {
    if (value > max) throw new LabSpecError(`${where}: ${what} ${value}${unit} is above the limit of ${max}${unit}`, 'LimitExceeded');
  };
  const count = machine.count ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new LabSpecError(`${where}: count must be a positive integer`);
  over('count', count, limits.count);
  over('cpu', machine.cpu ?? 1, limits.cpu);
  over('memoryMiB', machine.memoryMiB ?? 1024, limits.memoryMiB, ' MiB');
  over('diskGiB', machine.diskGiB ?? 10, limits.diskGiB, ' GiB');
}

function checkProvider(spec: MachineSpec, machine: Machine): void {
  const where = `machine ${JSON.stringify(machine.name)}`;
  if (spec.provider.type === 'proxmox') {
    if (!spec.provider.proxmox) throw new LabSpecError('provider.proxmox is required when provider.type is proxmox');
    if (!machine.template) throw new LabSpecError(`${where}: a Proxmox machine needs a template to clone`);
    if (machine.image || machine.kernel || machine.initrd) {
      throw new LabSpecError(`${where}: image, kernel and initrd are libvirt fields; a Proxmox machine uses template`);
    }
    return;
  }
  if (machine.template) throw new LabSpecError(`${where}: template is a Proxmox field; a libvirt machine uses image`);
  if ((machine.initrd || machine.cmdline) && !machine.kernel) throw new LabSpecError(`${where}: initrd and cmdline need kernel`);
}

/** Synchronous checks: names, counts, sizes, provider fields. Throws LabSpecError. */
export function checkLabSpec(spec: MachineSpec, limits: LabLimits = DEFAULT_LAB_LIMITS): void {
  const names = new Set<string>();
  let total = 0;
  for (const machine of spec.machines) {
    if (!isDnsLabel(machine.name, 40)) {
      throw new LabSpecError(`machine name ${JSON.stringify(machine.name)} must be a DNS label (a-z, 0-9 and '-', at most 40 characters)`);
    }
    if (names.has(machine.name)) throw new LabSpecError(`machine name ${JSON.stringify(machine.name)} is used twice`);
    names.add(machine.name);
    checkSizes(machine, limits);
    checkProvider(spec, machine);
    total += machine.count ?? 1;
  }
  if (total > limits.machines) throw new LabSpecError(`the Lab has ${total} machines, above the limit of ${limits.machines}`, 'LimitExceeded');
}

function inside(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/**
 * Resolves a file a machine boots from: an absolute path whose real path is a regular file inside one of the
 * allowed directories. Throws LabSpecError (reason ImageNotAllowed or ImageNotFound).
 */
export async function resolveAllowedFile(what: string, path: string, imageDirs: string[]): Promise<string> {
  if (!isAbsolute(path) || normalize(path) !== path) {
    throw new LabSpecError(`${what} ${JSON.stringify(path)} must be an absolute, normalized path`, 'ImageNotAllowed');
  }
  const dirs = await Promise.all(imageDirs.map((d) => realpath(d).catch(() => undefined)));
  const allowed = dirs.filter((d): d is string => d !== undefined);
  if (!allowed.some((d) => inside(d, path)) && !imageDirs.some((d) => inside(normalize(d), path))) {
    throw new LabSpecError(`${what} ${JSON.stringify(path)} is outside the allowed image directories (${imageDirs.join(', ') || 'none configured'})`, 'ImageNotAllowed');
  }
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw new LabSpecError(`${what} ${JSON.stringify(path)} does not exist`, 'ImageNotFound');
  }
  if (!allowed.some((d) => inside(d, real))) {
    throw new LabSpecError(`${what} ${JSON.stringify(path)} resolves outside the allowed image directories`, 'ImageNotAllowed');
  }
  if (!(await stat(real)).isFile()) throw new LabSpecError(`${what} ${JSON.stringify(path)} is not a regular file`, 'ImageNotFound');
  return real;
}

/** How each libvirt machine's image reaches the module: a volume of the pool, or an allowed file. */
export async function resolveImages(spec: MachineSpec, policy: LabPolicy): Promise<Record<string, ImageSource>> {
  const images: Record<string, ImageSource> = {};
  if (spec.provider.type !== 'libvirt') return images;
  for (const machine of spec.machines) {
    const where = `machine ${JSON.stringify(machine.name)}:`;
    if (machine.kernel) await resolveAllowedFile(`${where} kernel`, machine.kernel, policy.imageDirs);
    if (machine.initrd) await resolveAllowedFile(`${where} initrd`, machine.initrd, policy.imageDirs);
    if (!machine.image) continue;
    if (machine.image.includes('/')) {
      images[machine.name] = { path: await resolveAllowedFile(`${where} image`, machine.image, policy.imageDirs) };
    } else if (VOLUME_NAME.test(machine.image)) {
      images[machine.name] = { volume: machine.image };
    } else {
      throw new LabSpecError(`${where} image ${JSON.stringify(machine.image)} is neither a volume name nor an absolute path`, 'ImageNotAllowed');
    }
  }
  return images;
}

/** All the checks: throws LabSpecError, returns the images for the module. */
export async function validateLab(spec: MachineSpec, policy: LabPolicy): Promise<Record<string, ImageSource>> {
  checkLabSpec(spec, policy.limits);
  return resolveImages(spec, policy);
}
