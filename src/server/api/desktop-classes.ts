// The admin's MachineClasses as the portal applies them to a Desktop it is asked to create (both run modes), with
// the same rules the Desktop controller applies (src/api/desktop-terms.ts): the class the spec names (or the
// default) must offer desktops, have the image, allow the sizes and the TTL, and define the AD join or home share
// the Desktop switches on — else a 400 that names the class, before anything exists; the class's per-person quota
// (quota.desktopsPerUser); the longest life an extension may reach; and the classes a tenant may choose from —
// names, images, limits, whether AD and a home share are there, the longest TTL — never the Hypervisor, the domain's
// join account, the file server or any Secret.
import { resolveDesktopTerms, type DesktopTerms } from '../../api/desktop-terms.js';
import { isMachineRefusal, machineClassOf } from '../../api/machine-terms.js';
import { DEFAULT_CLASS_ANNOTATION } from '../../api/schemas/rentalclass.js';
import type { DesktopResource, DesktopSpec, HypervisorResource, MachineClassResource, MachineClassSpec } from '../../api/types.js';
import type { Store } from '../../store/store.js';
import type { Identity } from '../auth/identity.js';
import { ApiProblem } from '../problem.js';
import { checkMachineClassQuota } from './machine-classes.js';

export interface DesktopClassChoice {
  name: string;
  default: boolean;
  images: string[];
  limits: { cpu?: number; memoryMiB?: number; diskGiB?: number };
  adJoin: boolean;
  pamMount: boolean;
  maxTtlSeconds?: number;
}

/** The terms the Desktop's class gives it, or a 400 that says which class refused what. */
export function desktopTermsForRequest(store: Store, spec: DesktopSpec): DesktopTerms {
  const terms = resolveDesktopTerms({ spec }, store.list<MachineClassResource>('MachineClass'), store.list<HypervisorResource>('Hypervisor'));
  if (isMachineRefusal(terms)) throw new ApiProblem(400, `spec.className: ${terms.message}`, { errors: [{ field: 'spec.className', message: terms.message }] });
  return terms;
}

/** Throws a 403 when the person already holds as many Desktops of this class as its quota allows. */
export function checkDesktopClassQuota(store: Store, identity: Identity, terms: DesktopTerms): void {
  checkMachineClassQuota(store, identity, 'Desktop', terms.className, (spec) => spec.quota?.desktopsPerUser);
}

/** The longest life (ttlSeconds) the Desktop's class allows; undefined when it sets none or cannot be found. */
export function desktopMaxTtl(store: Store, desktop: Pick<DesktopResource, 'spec'>): number | undefined {
  const found = machineClassOf(desktop, store.list<MachineClassResource>('MachineClass'), 'Desktop');
  return isMachineRefusal(found) ? undefined : found.spec.desktop?.maxTtlSeconds;
}

/** The classes that offer desktops, for the web app's form (the default first). */
export function desktopClassChoices(store: Store): DesktopClassChoice[] {
  return store
    .list<MachineClassResource>('MachineClass')
    .filter((c): c is MachineClassResource & { spec: MachineClassSpec & { desktop: object } } => c.spec.desktop !== undefined)
    .map((c) => {
      const { cpu, memoryMiB, diskGiB } = c.spec.limits ?? {};
      const offer = c.spec.desktop;
      return {
        name: c.metadata.name,
        default: c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true',
        images: c.spec.images.map((i) => i.name),
        limits: { ...(cpu ? { cpu } : {}), ...(memoryMiB ? { memoryMiB } : {}), ...(diskGiB ? { diskGiB } : {}) },
        adJoin: offer.adJoin !== undefined,
        pamMount: offer.pamMount !== undefined,
        ...(offer.maxTtlSeconds !== undefined ? { maxTtlSeconds: offer.maxTtlSeconds } : {}),
      };
    })
    .sort((a, b) => Number(b.default) - Number(a.default) || (a.name < b.name ? -1 : 1));
}
