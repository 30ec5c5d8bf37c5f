// The MachineClass side of the Lab controller: what a Lab's class decides before anything runs, and which Labs a
// class's or a hypervisor's change concerns (the rules themselves are src/api/machine-terms.ts, shared with the
// portal). A Lab its class refuses gets no finalizer and nothing runs (Ready=False ClassRefused, Stalled). A class
// change never destroys machines: a Lab that already has them keeps them as they are, nothing more is applied for
// it, and ClassTerms=False says why, True again when it fits (as Rentals do, ADR 24).
import type { MachineClassRefusal, MachineTerms } from '../../src/api/machine-terms.js';
import type { LabResource } from '../../src/api/types.js';
import type { Store, WatchEvent } from '../../src/store/store.js';
import { classAffected, classTermsChange, type ClassDecision, type MachineClasses } from '../machine/classes.js';

/** Throws TerminalError ClassRefused for a Lab without machines that its class refuses: no finalizer, nothing runs. */
export function labTermsChange(lab: LabResource, terms: MachineTerms | MachineClassRefusal): ClassDecision<LabResource> {
  return classTermsChange(lab, 'Lab', terms);
}

/**
 * Labs to look at again when a MachineClass or a Hypervisor changes: those naming the class, those naming none (it
 * may be, or have been, the default), and those whose class names the hypervisor or whose machines are on it.
 */
export function labClassAffected(store: Store, classes: MachineClasses, event: WatchEvent): string[] {
  return classAffected(store.list<LabResource>('Lab'), classes, event);
}
