// A Desktop's terms come from the admin's MachineClass it names (or the default class), as a Lab's do
// (machine-terms.ts: the same class lookup, image and size rules): the class's `desktop` section says whether it
// offers desktops at all, the playbook that configures one, the longest TTL, and the AD join and home share a
// Desktop may switch on. Used by the Desktop controller and by the portal alike; nothing here reads a store.
import {
  classHypervisor, classImage, isMachineRefusal, machineClassOf, sizeRefusal,
  type ClassImage, type MachineClassRefusal, type MachineTerms,
} from './machine-terms.js';
import type { DesktopResource, HypervisorResource, MachineClassResource, MachineClassSpec } from './types.js';

/** What the rules read of a Desktop: its spec. */
export type DesktopAsked = Pick<DesktopResource, 'spec'>;

export type ClassDesktop = NonNullable<MachineClassSpec['desktop']>;

/** The playbook that configures a desktop when the class names none (ansible/desktop.yml). */
export const DEFAULT_DESKTOP_PLAYBOOK = 'desktop';

/** What a Desktop gets, as its class decides. */
export interface DesktopTerms {
  className: string;
  hypervisor: HypervisorResource;
  image: ClassImage;
  playbook: string;
  /** The class's AD join, when the Desktop switches it on. */
  adJoin?: ClassDesktop['adJoin'];
  /** The class's home share, when the Desktop switches it on. */
  pamMount?: ClassDesktop['pamMount'];
}

/** The Desktop's terms, or why its class refuses it. */
export function resolveDesktopTerms(
  desktop: DesktopAsked,
  classes: readonly MachineClassResource[],
  hypervisors: readonly HypervisorResource[],
): DesktopTerms | MachineClassRefusal {
  const found = machineClassOf(desktop, classes, 'Desktop');
  if (isMachineRefusal(found)) return found;
  const which = `MachineClass "${found.metadata.name}"`;
  const offer = found.spec.desktop;
  if (!offer) return { refused: 'NoDesktops', message: `${which} offers no desktops (it has no desktop section); name a class that does` };
  const hypervisor = classHypervisor(found, hypervisors);
  if (isMachineRefusal(hypervisor)) return hypervisor;
  const { spec } = desktop;
  const classTerms: Pick<MachineTerms, 'images' | 'hypervisor'> = { hypervisor, images: new Map(found.spec.images.map((i) => [i.name, i])) };
  const image = classImage(classTerms, which, spec.image, 'the Desktop');
  if (isMachineRefusal(image)) return image;
  const refusal = sizeRefusal(found.spec.limits ?? {}, which, 'the Desktop', spec) ?? optionRefusal(desktop, offer, which);
  if (refusal) return refusal;
  return {
    className: found.metadata.name,
    hypervisor,
    image,
    playbook: offer.playbook ?? DEFAULT_DESKTOP_PLAYBOOK,
    ...(spec.adJoin && offer.adJoin ? { adJoin: offer.adJoin } : {}),
    ...(spec.pamMount && offer.pamMount ? { pamMount: offer.pamMount } : {}),
  };
}

/** AD join or a home share the class does not define, or a TTL above its longest. */
function optionRefusal(desktop: DesktopAsked, offer: ClassDesktop, which: string): MachineClassRefusal | undefined {
  const { spec } = desktop;
  if (spec.adJoin && !offer.adJoin) return { refused: 'AdJoinNotInClass', message: `${which} defines no AD join; set adJoin: false or name a class that has one` };
  if (spec.pamMount && !offer.pamMount) return { refused: 'PamMountNotInClass', message: `${which} defines no home share (pamMount); set pamMount: false or name a class that has one` };
  const ttl = spec.ttlSeconds ?? 28800;
  if (offer.maxTtlSeconds !== undefined && ttl > offer.maxTtlSeconds) {
    return { refused: 'AboveClassTtl', message: `${which} allows ttlSeconds of at most ${offer.maxTtlSeconds}; the Desktop asks ${ttl}` };
  }
  return undefined;
}
