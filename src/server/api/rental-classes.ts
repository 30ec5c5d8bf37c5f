// The admin's RentalClasses as the portal applies them to a Rental it is asked to create (both run modes): the class
// the spec names (or the default) must exist and allow what the spec asks (sudo, the TTL), with the same rules the
// Rental controller applies (src/api/rental-terms.ts), so that a refusal is a 400 that names the class, before
// anything exists; the class's per-person quota; and the classes a tenant may choose from. Tenants name classes;
// they never write them (a class is the admin's: the folder, or kubectl).
import { DEFAULT_CLASS_ANNOTATION } from '../../api/schemas/rentalclass.js';
import { classOf, isRefusal, resolveTerms, type RentalTerms } from '../../api/rental-terms.js';
import type { RentalClassResource, RentalResource, RentalSpec } from '../../api/types.js';
import type { Store } from '../../store/store.js';
import { OWNER_LABEL, isOwner, ownerLabelValue, type Identity } from '../auth/identity.js';
import { ApiProblem } from '../problem.js';

export interface RentalClassChoice {
  name: string;
  default: boolean;
  allowSudo: boolean;
  maxTtlSeconds?: number;
}

/** The terms the rental's class gives it, or a 400 that says which class refused what. */
export function termsForRequest(store: Store, spec: RentalSpec): RentalTerms {
  const terms = resolveTerms({ spec }, store.list<RentalClassResource>('RentalClass'));
  if (isRefusal(terms)) throw new ApiProblem(400, `spec.className: ${terms.message}`, { errors: [{ field: 'spec.className', message: terms.message }] });
  return terms;
}

/** Throws a 403 when the person already holds as many Rentals of this class as its quota allows. */
export function checkClassQuota(store: Store, identity: Identity, terms: RentalTerms): void {
  if (identity.admin || !terms.className) return;
  const classes = store.list<RentalClassResource>('RentalClass');
  const limit = classes.find((c) => c.metadata.name === terms.className)?.spec.quota?.rentalsPerUser;
  if (limit === undefined) return;
  const label = ownerLabelValue(identity.name);
  const held = store.list<RentalResource>('Rental').filter((r) => {
    if (r.metadata.deletionTimestamp || r.metadata.labels?.[OWNER_LABEL] !== label || !isOwner(identity, r)) return false;
    const theirs = classOf(r, classes);
    return theirs !== undefined && !('refused' in theirs) && theirs.metadata.name === terms.className;
  }).length;
  if (held >= limit) {
    throw new ApiProblem(403, `quota: ${identity.name} may hold at most ${limit} Rental(s) of RentalClass "${terms.className}" and holds ${held}; release one first`, { type: 'https://orion.lab/problems/quota' });
  }
}

/** The classes a Rental may name, for the web app's form (the default first). */
export function rentalClassChoices(store: Store): RentalClassChoice[] {
  return store
    .list<RentalClassResource>('RentalClass')
    .map((c) => ({
      name: c.metadata.name,
      default: c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true',
      allowSudo: c.spec.allowSudo,
      ...(c.spec.maxTtlSeconds !== undefined ? { maxTtlSeconds: c.spec.maxTtlSeconds } : {}),
    }))
    .sort((a, b) => Number(b.default) - Number(a.default) || (a.name < b.name ? -1 : 1));
}
