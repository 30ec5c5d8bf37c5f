// The MachineClass side of the Lab controller: what a Lab's class decides before anything runs, and which Labs a
// class's or a hypervisor's change concerns (the rules themselves are src/api/machine-terms.ts, shared with the
// portal). A Lab its class refuses gets no finalizer and nothing runs (Ready=False ClassRefused, Stalled). A class
// change never destroys machines: a Lab that already has them keeps them as they are, nothing more is applied for
// it, and ClassTerms=False says why, True again when it fits (as Rentals do, ADR 24).
import { CLASS_REFUSED, isMachineRefusal, type MachineClassRefusal, type MachineTerms } from '../../src/api/machine-terms.js';
import { keyOf } from '../../src/api/refs.js';
import type { StatusChange } from '../../src/api/status.js';
import type { LabResource, LabStatus, MachineClassResource } from '../../src/api/types.js';
import { TerminalError } from '../../src/runtime/errors.js';
import { writeStatus, type StatusDraft } from '../../src/store/status-writer.js';
import { FINALIZER, type Store, type WatchEvent } from '../../src/store/store.js';
import type { LabClasses } from './view.js';

/** What the class decided for this reconcile: keep the machines as they are (and stop here), or go on and record. */
export interface LabClassDecision {
  /** Set when the Lab has machines its class no longer allows: writes ClassTerms=False; nothing else happens. */
  kept?: (store: Store) => Promise<void>;
  /** Records, before anything is applied, the Hypervisor the machines are made on and ClassTerms back to True. */
  record(draft: StatusDraft<LabResource>): Promise<void>;
}

/** A refusal, or a Lab whose machines are on another Hypervisor than its class's now (they are never moved). */
function refusalOf(lab: LabResource, terms: MachineTerms | MachineClassRefusal): string | undefined {
  if (isMachineRefusal(terms)) return terms.message;
  const recorded = lab.status?.hypervisor;
  const now = terms.hypervisor.metadata.name;
  if (recorded !== undefined && recorded !== now && lab.status?.appliedHash) {
    return `MachineClass "${terms.className}" now names Hypervisor "${now}"; the Lab's machines are on "${recorded}" and are never moved (delete the Lab and create it again to move it)`;
  }
  return undefined;
}

/** Throws TerminalError ClassRefused for a Lab without machines that its class refuses: no finalizer, nothing runs. */
export function labTermsChange(lab: LabResource, terms: MachineTerms | MachineClassRefusal): LabClassDecision {
  const refusal = refusalOf(lab, terms);
  const owned = lab.metadata.finalizers?.includes(FINALIZER) ?? false;
  if (refusal && !owned) throw new TerminalError(refusal, CLASS_REFUSED, { phase: 'Failed' });
  if (refusal) {
    const change: StatusChange<LabStatus> = { conditions: [{ type: 'ClassTerms', status: 'False', reason: CLASS_REFUSED, message: `${refusal}; the machines are kept as they are and nothing more is applied` }] };
    return { kept: async (store) => void (await writeStatus(store, lab, change)), record: async () => undefined };
  }
  const hypervisor = (terms as MachineTerms).hypervisor.metadata.name;
  return {
    record: async (draft) => {
      const current = draft.obj.status?.conditions?.find((c) => c.type === 'ClassTerms');
      const fits = current && current.status !== 'True' ? [{ type: 'ClassTerms', status: 'True' as const, reason: 'Fits', message: 'the Lab fits its class' }] : [];
      // Written before any apply: a Lab deleted after its class is gone is destroyed on this Hypervisor.
      if (draft.obj.status?.hypervisor !== hypervisor || fits.length > 0) await draft.write({ conditions: fits, fields: { hypervisor } });
    },
  };
}

/**
 * Labs to look at again when a MachineClass or a Hypervisor changes: those naming the class, those naming none (it
 * may be, or have been, the default), and those whose class names the hypervisor or whose machines are on it.
 */
export function labClassAffected(store: Store, classes: LabClasses, event: WatchEvent): string[] {
  const name = event.object.metadata.name;
  const labs = store.list<LabResource>('Lab');
  if (event.object.kind === 'Hypervisor') {
    const onIt = new Set(classes.machineClasses().filter((c) => c.spec.hypervisor === name).map((c) => c.metadata.name));
    return labs.filter((l) => l.status?.hypervisor === name || l.spec.className === undefined || onIt.has(l.spec.className)).map((l) => keyOf(l));
  }
  const changed = event.object as MachineClassResource;
  return labs.filter((l) => l.spec.className === undefined || l.spec.className === changed.metadata.name).map((l) => keyOf(l));
}
