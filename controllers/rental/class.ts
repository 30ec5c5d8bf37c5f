// The RentalClass side of the Rental controller: a rental's terms read from the store's classes (the rules
// themselves are src/api/rental-terms.ts, shared with the portal), the class's playbooks checked before anything
// runs, the release playbook, and which rentals a class's change concerns. A refusal names the class and what it
// refused, and the controller runs nothing on any node for that rental.
import type { RentalClassResource, RentalResource } from '../../src/api/types.js';
import { keyOf } from '../../src/api/refs.js';
import { BUILT_IN_TERMS, classOf, resolveTerms, termsOf, type ClassRefusal, type RentalTerms } from '../../src/api/rental-terms.js';
import type { Store, WatchEvent } from '../../src/store/store.js';
import type { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import { InvalidPlaybookError } from '../../src/exec/ansible/types.js';
import { TerminalError } from '../../src/runtime/errors.js';

export { CLASS_REFUSED, isRefusal, type ClassRefusal, type RentalTerms } from '../../src/api/rental-terms.js';

/** A rental's terms from the store's RentalClasses. */
export function termsFromStore(store: Store, rental: RentalResource): RentalTerms | ClassRefusal {
  return resolveTerms(rental, store.list<RentalClassResource>('RentalClass'));
}

/**
 * Rentals to look at again when a class changes (its terms are level-based): those naming it, and those naming
 * none (it may be, or have been, the default).
 */
export function rentalsAffectedByClass(store: Store, event: WatchEvent): string[] {
  const name = event.object.metadata.name;
  return store
    .list<RentalResource>('Rental')
    .filter((r) => r.spec.className === name || r.spec.className === undefined)
    .map((r) => keyOf(r));
}


/**
 * The playbook that removes the rental's tenant: its class's, or — when the class cannot be found any more — the one
 * recorded when the tenant was created, or the built-in delete_user. Never anything the tenant wrote.
 */
export function releasePlaybookOf(rental: RentalResource, classes: readonly RentalClassResource[]): string {
  const found = classOf(rental, classes);
  if (found && 'refused' in found) return rental.status?.releasePlaybook ?? BUILT_IN_TERMS.playbooks.delete;
  return termsOf(found).playbooks.delete;
}

/** Refuses a class whose playbook names do not resolve among the allowed playbooks: a status error, and nothing runs. */
export function checkClassPlaybooks(runner: Pick<AnsibleRunner, 'resolvePlaybook'>, terms: RentalTerms): void {
  try {
    runner.resolvePlaybook(terms.playbooks.create);
    runner.resolvePlaybook(terms.playbooks.delete);
  } catch (err) {
    if (!(err instanceof InvalidPlaybookError)) throw err;
    throw new TerminalError(`${terms.className ? `RentalClass "${terms.className}"` : 'the built-in rental terms'}: ${err.message}`, 'InvalidPlaybook', { phase: 'Failed' });
  }
}

