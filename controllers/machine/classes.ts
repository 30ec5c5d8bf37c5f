// What a MachineClass decides for a resource with machines (a Lab or a Desktop), the same way for both: the admin's
// classes and hypervisors it is resolved against, the decision before anything runs (refused and unowned: a
// TerminalError ClassRefused, no finalizer, nothing runs; refused once it has machines: ClassTerms=False, the
// machines kept as they are and nothing more applied; else status.hypervisor recorded before any apply), and the
// Hypervisor a destroy uses when the class no longer resolves (the one recorded). The rules themselves are
// src/api/machine-terms.ts and src/api/desktop-terms.ts.
import { CLASS_REFUSED, isMachineRefusal, type MachineClassRefusal } from '../../src/api/machine-terms.js';
import type { StatusChange } from '../../src/api/status.js';
import type { HypervisorResource, MachineClassResource } from '../../src/api/types.js';
import { RetryLater, TerminalError } from '../../src/runtime/errors.js';
import { writeStatus, type StatusDraft, type StatusOf } from '../../src/store/status-writer.js';
import { FINALIZER, type Store, type WatchEvent } from '../../src/store/store.js';
import { keyOf } from '../../src/api/refs.js';
import { providerOf } from './provider.js';
import type { MachineProvider } from './spec.js';
import type { MachineResource } from './view.js';

/** The admin's classes and hypervisors a resource is resolved against, and the namespace of the Secrets they name. */
export interface MachineClasses {
  machineClasses(): readonly MachineClassResource[];
  hypervisors(): readonly HypervisorResource[];
  /** Where a Secret named by a class or Hypervisor without a namespace is: "default" (folder mode), Orion's own (kube mode). */
  secretNamespace: string;
}

export function storeClasses(store: Store, secretNamespace: string): MachineClasses {
  return {
    machineClasses: () => store.list<MachineClassResource>('MachineClass'),
    hypervisors: () => store.list<HypervisorResource>('Hypervisor'),
    secretNamespace,
  };
}

/** What a class's terms have in common for either kind: the class and its Hypervisor. */
export interface ClassBound {
  className: string;
  hypervisor: HypervisorResource;
}

/** What the class decided for this reconcile: keep the machines as they are (and stop here), or go on and record. */
export interface ClassDecision<R extends MachineResource> {
  /** Set when the resource has machines its class no longer allows: writes ClassTerms=False; nothing else happens. */
  kept?: (store: Store) => Promise<void>;
  /** Records, before anything is applied, the Hypervisor the machines are made on and ClassTerms back to True. */
  record(draft: StatusDraft<R>): Promise<void>;
}

/** A refusal, or machines on another Hypervisor than the class's now (they are never moved). */
function refusalOf(obj: MachineResource, noun: string, terms: ClassBound | MachineClassRefusal): string | undefined {
  if (isMachineRefusal(terms)) return terms.message;
  const recorded = obj.status?.hypervisor;
  const now = terms.hypervisor.metadata.name;
  if (recorded !== undefined && recorded !== now && obj.status?.appliedHash) {
    return `MachineClass "${terms.className}" now names Hypervisor "${now}"; the ${noun}'s machines are on "${recorded}" and are never moved (delete the ${noun} and create it again to move it)`;
  }
  return undefined;
}

/** Throws TerminalError ClassRefused for a resource without machines that its class refuses: no finalizer, nothing runs. */
export function classTermsChange<R extends MachineResource>(obj: R, noun: string, terms: ClassBound | MachineClassRefusal): ClassDecision<R> {
  const refusal = refusalOf(obj, noun, terms);
  const owned = obj.metadata.finalizers?.includes(FINALIZER) ?? false;
  if (refusal && !owned) throw new TerminalError(refusal, CLASS_REFUSED, { phase: 'Failed' });
  if (refusal) {
    const change = { conditions: [{ type: 'ClassTerms', status: 'False', reason: CLASS_REFUSED, message: `${refusal}; the machines are kept as they are and nothing more is applied` }] } as StatusChange<StatusOf<R>>;
    return { kept: async (store) => void (await writeStatus(store, obj, change)), record: async () => undefined };
  }
  const hypervisor = (terms as ClassBound).hypervisor.metadata.name;
  return {
    record: async (draft) => {
      const current = draft.obj.status?.conditions?.find((c) => c.type === 'ClassTerms');
      const fits = current && current.status !== 'True' ? [{ type: 'ClassTerms', status: 'True' as const, reason: 'Fits', message: `the ${noun} fits its class` }] : [];
      // Written before any apply: a resource deleted after its class is gone is destroyed on this Hypervisor.
      if (draft.obj.status?.hypervisor !== hypervisor || fits.length > 0) await draft.write({ conditions: fits, fields: { hypervisor } } as StatusChange<StatusOf<R>>);
    },
  };
}

/** The Hypervisor the machines were made on (status.hypervisor), when it still exists. */
export function recordedHypervisor(obj: MachineResource, classes: MachineClasses): HypervisorResource | undefined {
  const name = obj.status?.hypervisor;
  return name === undefined ? undefined : classes.hypervisors().find((h) => h.metadata.name === name);
}

/** Where the machines are: the Hypervisor recorded, else the class's (when the terms resolve); undefined when neither. */
export function machineProvider(obj: MachineResource, terms: ClassBound | MachineClassRefusal, classes: MachineClasses): MachineProvider | undefined {
  const recorded = obj.status?.hypervisor;
  const hypervisor = recorded !== undefined ? recordedHypervisor(obj, classes) : isMachineRefusal(terms) ? undefined : terms.hypervisor;
  return hypervisor ? providerOf(hypervisor, classes.secretNamespace) : undefined;
}

/**
 * What a destroy uses: the terms when they still resolve to the Hypervisor the machines are on (undefined: the
 * regular spec), else the Hypervisor recorded; a RetryLater HypervisorMissing when that is gone too — machines are
 * never silently dropped.
 */
export function destroyHypervisor(obj: MachineResource, noun: string, terms: ClassBound | MachineClassRefusal, classes: MachineClasses): HypervisorResource | undefined {
  if (!isMachineRefusal(terms) && (obj.status?.hypervisor ?? terms.hypervisor.metadata.name) === terms.hypervisor.metadata.name) return undefined;
  const recorded = recordedHypervisor(obj, classes);
  if (recorded) return recorded;
  const why = obj.status?.hypervisor
    ? `Hypervisor "${obj.status.hypervisor}", where its machines were made, does not exist; the ${noun} stays until it is back (or an admin removes the machines and the finalizer)`
    : isMachineRefusal(terms) ? terms.message : 'its machines were made on another Hypervisor';
  throw new RetryLater('HypervisorMissing', `cannot destroy the machines: ${why}`, { phase: 'Failed' });
}

/**
 * Of `objects`, those to look at again when a MachineClass or a Hypervisor changes: those naming the class, those
 * naming none (it may be, or have been, the default), and those whose class names the hypervisor or whose machines
 * are on it.
 */
export function classAffected(objects: readonly MachineResource[], classes: MachineClasses, event: WatchEvent): string[] {
  const name = event.object.metadata.name;
  if (event.object.kind === 'Hypervisor') {
    const onIt = new Set(classes.machineClasses().filter((c) => c.spec.hypervisor === name).map((c) => c.metadata.name));
    return objects.filter((o) => o.status?.hypervisor === name || o.spec.className === undefined || onIt.has(o.spec.className)).map((o) => keyOf(o));
  }
  return objects.filter((o) => o.spec.className === undefined || o.spec.className === name).map((o) => keyOf(o));
}
