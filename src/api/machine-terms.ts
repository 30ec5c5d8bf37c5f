// A Lab's terms come from the admin's MachineClass it names (or the default class) and the Hypervisor that class
// names: where its machines are made, the images they may name, the sizes and machine count, the playbooks. Here a
// Lab's class is found and its spec held to it, by the Lab controller and by the portal alike; nothing here reads a
// store or runs anything. Unlike Rentals there are no built-in terms: without a class, no machine can be made.
import { DEFAULT_CLASS_ANNOTATION } from './schemas/rentalclass.js';
import { defaultClasses } from './rental-terms.js';
import type { HypervisorResource, LabResource, MachineClassResource, MachineClassSpec } from './types.js';

export { CLASS_REFUSED } from './rental-terms.js';

/** What the rules read of a Lab: its spec. */
export type LabAsked = Pick<LabResource, 'spec'>;

export type ClassImage = MachineClassSpec['images'][number];

/** What a Lab may have, as its class decides: the class, its hypervisor, its images, limits and playbooks. */
export interface MachineTerms {
  className: string;
  hypervisor: HypervisorResource;
  /** The class's images a machine may name, by name. */
  images: ReadonlyMap<string, ClassImage>;
  limits: NonNullable<MachineClassSpec['limits']>;
  playbooks: readonly string[];
}

export type MachineClassRefused =
  | 'UnknownClass' | 'AmbiguousDefaultClass' | 'NoDefaultClass' | 'NoClass' | 'HypervisorMissing'
  | 'ImageNotInClass' | 'ImageNotForHypervisor' | 'AboveClassLimits' | 'PlaybookNotAllowed'
  | 'NoDesktops' | 'AdJoinNotInClass' | 'PamMountNotInClass' | 'AboveClassTtl';

/** Why a Lab's class refuses it (reason ClassRefused on its Ready condition, or on ClassTerms once provisioned). */
export interface MachineClassRefusal {
  refused: MachineClassRefused;
  message: string;
}

export function isMachineRefusal<T extends object>(value: T | MachineClassRefusal): value is MachineClassRefusal {
  return 'refused' in value;
}

/**
 * The class a Lab falls under: the one it names, else the single default. No class at all, classes without a
 * default, or two defaults: refused (there are no built-in terms: a machine needs the admin's hypervisor).
 */
export function machineClassOf(lab: { spec: { className?: string } }, classes: readonly MachineClassResource[], noun = 'Lab'): MachineClassResource | MachineClassRefusal {
  const name = lab.spec.className;
  if (name !== undefined) {
    return classes.find((c) => c.metadata.name === name) ?? { refused: 'UnknownClass', message: `MachineClass "${name}" does not exist` };
  }
  const defaults = defaultClasses(classes);
  if (defaults.length > 1) {
    const names = defaults.map((c) => `"${c.metadata.name}"`).join(' and ');
    return { refused: 'AmbiguousDefaultClass', message: `MachineClasses ${names} are both annotated ${DEFAULT_CLASS_ANNOTATION}: "true"; an admin must keep one default (or the ${noun} names its class)` };
  }
  if (classes.length === 0) {
    return { refused: 'NoClass', message: `no MachineClass exists: a ${noun}'s machines are made on an admin's Hypervisor through a MachineClass; an admin must declare one` };
  }
  const [only] = defaults;
  if (!only) {
    const names = classes.map((c) => `"${c.metadata.name}"`).sort().join(', ');
    return { refused: 'NoDefaultClass', message: `no MachineClass is annotated ${DEFAULT_CLASS_ANNOTATION}: "true"; name one in spec.className (${names})` };
  }
  return only;
}

/** The Lab's terms, or why its class refuses it. */
export function resolveMachineTerms(
  lab: LabAsked,
  classes: readonly MachineClassResource[],
  hypervisors: readonly HypervisorResource[],
): MachineTerms | MachineClassRefusal {
  const found = machineClassOf(lab, classes);
  if (isMachineRefusal(found)) return found;
  const which = `MachineClass "${found.metadata.name}"`;
  const hypervisor = classHypervisor(found, hypervisors);
  if (isMachineRefusal(hypervisor)) return hypervisor;
  const terms: MachineTerms = {
    className: found.metadata.name,
    hypervisor,
    images: new Map(found.spec.images.map((image) => [image.name, image])),
    limits: found.spec.limits ?? {},
    playbooks: found.spec.playbooks,
  };
  return checkImages(lab, terms, which) ?? checkLimits(lab, terms, which) ?? checkPlaybook(lab, terms, which) ?? terms;
}

/** The Hypervisor a class names, or the refusal when it does not exist. */
export function classHypervisor(found: MachineClassResource, hypervisors: readonly HypervisorResource[]): HypervisorResource | MachineClassRefusal {
  const hypervisor = hypervisors.find((h) => h.metadata.name === found.spec.hypervisor);
  return hypervisor ?? { refused: 'HypervisorMissing', message: `MachineClass "${found.metadata.name}" names Hypervisor "${found.spec.hypervisor}", which does not exist` };
}

/** One of the class's images for a machine of the hypervisor's type, or why it is refused. */
export function classImage(terms: Pick<MachineTerms, 'images' | 'hypervisor'>, which: string, name: string, where: string): ClassImage | MachineClassRefusal {
  const offered = [...terms.images.keys()].map((n) => `"${n}"`).join(', ');
  const image = terms.images.get(name);
  if (!image) return { refused: 'ImageNotInClass', message: `${which} has no image "${name}" (${where}); its images: ${offered}` };
  const type = terms.hypervisor.spec.type;
  if (!imageFitsHypervisor(image, type)) {
    return { refused: 'ImageNotForHypervisor', message: `${which}: image "${image.name}" is ${image.template ? 'a Proxmox template' : 'a libvirt disk'}, and Hypervisor "${terms.hypervisor.metadata.name}" is ${type}` };
  }
  return image;
}

/** The sizes a machine asks (the schema's defaults when it says none). */
export interface MachineSizes { cpu?: number; memoryMiB?: number; diskGiB?: number }

/** A machine's sizes above the class's limits, or undefined. */
export function sizeRefusal(limits: MachineTerms['limits'], which: string, what: string, machine: MachineSizes): MachineClassRefusal | undefined {
  const sizes = [['cpu', machine.cpu ?? 1, limits.cpu, ''], ['memoryMiB', machine.memoryMiB ?? 1024, limits.memoryMiB, ' MiB'], ['diskGiB', machine.diskGiB ?? 10, limits.diskGiB, ' GiB']] as const;
  for (const [size, asked, max, unit] of sizes) {
    if (max !== undefined && asked > max) {
      return { refused: 'AboveClassLimits', message: `${which} allows ${size} of at most ${max}${unit}; ${what} asks ${asked}${unit}` };
    }
  }
  return undefined;
}

/** The disk source an image gives a machine on the hypervisor's type (a template on Proxmox, a volume or file on libvirt). */
export function imageFitsHypervisor(image: ClassImage, type: 'libvirt' | 'proxmox'): boolean {
  return type === 'proxmox' ? image.template !== undefined : image.template === undefined;
}

function checkImages(lab: LabAsked, terms: MachineTerms, which: string): MachineClassRefusal | undefined {
  const offered = [...terms.images.keys()].map((n) => `"${n}"`).join(', ');
  for (const machine of lab.spec.machines) {
    const where = `machine "${machine.name}"`;
    if (machine.image === undefined) {
      if (terms.hypervisor.spec.type === 'proxmox') return { refused: 'ImageNotInClass', message: `${which}: ${where} names no image, and a Proxmox machine is cloned from one (${offered})` };
      continue;
    }
    const image = classImage(terms, which, machine.image, where);
    if (isMachineRefusal(image)) return image;
  }
  return undefined;
}

function checkLimits(lab: LabAsked, terms: MachineTerms, which: string): MachineClassRefusal | undefined {
  const { limits } = terms;
  let total = 0;
  for (const machine of lab.spec.machines) {
    total += machine.count ?? 1;
    const refusal = sizeRefusal(limits, which, `machine "${machine.name}"`, machine);
    if (refusal) return refusal;
  }
  if (limits.machines !== undefined && total > limits.machines) {
    return { refused: 'AboveClassLimits', message: `${which} allows at most ${limits.machines} machine(s) per Lab; the Lab asks ${total}` };
  }
  return undefined;
}

/** A playbook name as the class lists it: without .yml / .yaml. */
export function playbookName(playbook: string): string {
  return playbook.replace(/\.ya?ml$/, '');
}

function checkPlaybook(lab: LabAsked, terms: MachineTerms, which: string): MachineClassRefusal | undefined {
  const playbook = lab.spec.ansible?.playbook;
  if (playbook === undefined) return undefined;
  if (terms.playbooks.some((p) => playbookName(p) === playbookName(playbook))) return undefined;
  const allowed = terms.playbooks.length > 0 ? `its playbooks: ${terms.playbooks.map((p) => `"${p}"`).join(', ')}` : 'it allows none';
  return { refused: 'PlaybookNotAllowed', message: `${which} does not allow playbook "${playbook}"; ${allowed}` };
}

/**
 * The Hypervisor a Lab's machines are on: the one it recorded when they were made (status.hypervisor), else its
 * class's; undefined when neither can be found. Never anything the Lab's author wrote.
 */
export function labHypervisor(
  lab: Pick<LabResource, 'spec' | 'status'>,
  classes: readonly MachineClassResource[],
  hypervisors: readonly HypervisorResource[],
): HypervisorResource | undefined {
  const recorded = lab.status?.hypervisor;
  const found = recorded === undefined ? undefined : hypervisors.find((h) => h.metadata.name === recorded);
  if (found || recorded !== undefined) return found;
  const terms = resolveMachineTerms(lab, classes, hypervisors);
  return isMachineRefusal(terms) ? undefined : terms.hypervisor;
}
