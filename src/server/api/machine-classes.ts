// The admin's MachineClasses as the portal applies them to a Lab it is asked to create (both run modes): the class
// the spec names (or the default) and its Hypervisor must exist, and the class must allow what the spec asks (its
// image names, sizes and machine count, the playbook), with the same rules the Lab controller applies
// (src/api/machine-terms.ts), so that a refusal is a 400 that names the class, before anything exists; the class's
// per-person quota; and the classes a tenant may choose from — names, images, limits and playbooks, never where or
// with what credentials the machines are made (the Hypervisor is the admin's alone).
import { DEFAULT_CLASS_ANNOTATION } from '../../api/schemas/rentalclass.js';
import { isMachineRefusal, machineClassOf, resolveMachineTerms, type MachineTerms } from '../../api/machine-terms.js';
import type { DesktopResource, HypervisorResource, LabResource, LabSpec, MachineClassResource, MachineClassSpec } from '../../api/types.js';
import type { Store } from '../../store/store.js';
import { OWNER_LABEL, isOwner, ownerLabelValue, type Identity } from '../auth/identity.js';
import { ApiProblem } from '../problem.js';

export interface MachineClassChoice {
  name: string;
  default: boolean;
  images: string[];
  limits: NonNullable<MachineClassSpec['limits']>;
  playbooks: string[];
}

/** The terms the Lab's class gives it, or a 400 that says which class refused what. */
export function machineTermsForRequest(store: Store, spec: LabSpec): MachineTerms {
  const terms = resolveMachineTerms({ spec }, store.list<MachineClassResource>('MachineClass'), store.list<HypervisorResource>('Hypervisor'));
  if (isMachineRefusal(terms)) throw new ApiProblem(400, `spec.className: ${terms.message}`, { errors: [{ field: 'spec.className', message: terms.message }] });
  return terms;
}

/** Throws a 403 when the person already holds as many Labs of this class as its quota allows. */
export function checkLabClassQuota(store: Store, identity: Identity, terms: MachineTerms): void {
  checkMachineClassQuota(store, identity, 'Lab', terms.className, (spec) => spec.quota?.labsPerUser);
}

/** Throws a 403 when the person already holds as many objects of the kind under this class as `limitOf` its spec allows. */
export function checkMachineClassQuota(
  store: Store,
  identity: Identity,
  kind: 'Lab' | 'Desktop',
  className: string,
  limitOf: (spec: MachineClassSpec) => number | undefined,
): void {
  if (identity.admin) return;
  const classes = store.list<MachineClassResource>('MachineClass');
  const found = classes.find((c) => c.metadata.name === className);
  const limit = found ? limitOf(found.spec) : undefined;
  if (limit === undefined) return;
  const label = ownerLabelValue(identity.name);
  const held = store.list<LabResource | DesktopResource>(kind).filter((o) => {
    if (o.metadata.deletionTimestamp || o.metadata.labels?.[OWNER_LABEL] !== label || !isOwner(identity, o)) return false;
    const theirs = machineClassOf(o, classes, kind);
    return !isMachineRefusal(theirs) && theirs.metadata.name === className;
  }).length;
  if (held >= limit) {
    throw new ApiProblem(403, `quota: ${identity.name} may hold at most ${limit} ${kind}(s) of MachineClass "${className}" and holds ${held}; delete one first`, { type: 'https://orion.lab/problems/quota' });
  }
}

/** The classes a Lab may name, for the web app's form (the default first): no hypervisor, endpoint, URI or Secret. */
export function machineClassChoices(store: Store): MachineClassChoice[] {
  return store
    .list<MachineClassResource>('MachineClass')
    .map((c) => ({
      name: c.metadata.name,
      default: c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true',
      images: c.spec.images.map((i) => i.name),
      limits: { ...c.spec.limits },
      playbooks: [...c.spec.playbooks],
    }))
    .sort((a, b) => Number(b.default) - Number(a.default) || (a.name < b.name ? -1 : 1));
}
