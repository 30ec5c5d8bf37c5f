// A Rental's terms come from the admin's RentalClass it names (or the default class, or Orion's built-in terms when
// no class exists at all): which playbooks create and remove the tenant, whether sudo may be asked for, the longest
// lease and the pool of Nodes. Here a rental's class is found and its spec held to it, by the Rental controller and
// by the portal alike; nothing here reads a store or runs anything.
import { DEFAULT_CLASS_ANNOTATION } from './schemas/rentalclass.js';
import type { RentalClassResource, RentalResource } from './types.js';

/** What the rules read of a Rental: its spec. */
export type RentalAsked = Pick<RentalResource, 'spec'>;

/** What a rental may have and what Orion runs for it, as its class decides. */
export interface RentalTerms {
  /** The class the terms come from; undefined for the built-in terms. */
  className?: string;
  playbooks: { create: string; delete: string };
  allowSudo: boolean;
  maxTtlSeconds?: number;
  /** The class's pool: a node must carry these labels as well as those of the rental's own selector. */
  nodeSelector: Record<string, string>;
}

/** Why a rental's class refuses it (reason ClassRefused on its Ready condition). */
export interface ClassRefusal {
  refused: 'UnknownClass' | 'AmbiguousDefaultClass' | 'NoDefaultClass' | 'SudoNotAllowed' | 'TtlAboveClassMax';
  message: string;
}

/** The terms when no RentalClass exists at all: create_user / delete_user, no sudo, no TTL cap, any node. */
export const BUILT_IN_TERMS: RentalTerms = Object.freeze({
  playbooks: { create: 'create_user', delete: 'delete_user' },
  allowSudo: false,
  nodeSelector: {},
});

export const CLASS_REFUSED = 'ClassRefused';

/** The classes annotated `orion.lab/default-class: "true"`, by name (RentalClasses and MachineClasses alike). */
export function defaultClasses<C extends Pick<RentalClassResource, 'metadata'>>(classes: readonly C[]): C[] {
  return classes
    .filter((c) => c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true')
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
}

/**
 * The class a rental falls under: the one it names, else the single default, else — when no class exists at all —
 * none (the built-in terms). Classes without a default leave a rental that names none refused: the built-in terms
 * (any node) would bypass the pools the admin's classes draw.
 */
export function classOf(rental: RentalAsked, classes: readonly RentalClassResource[]): RentalClassResource | undefined | ClassRefusal {
  const name = rental.spec.className;
  if (name !== undefined) {
    return classes.find((c) => c.metadata.name === name) ?? { refused: 'UnknownClass', message: `RentalClass "${name}" does not exist` };
  }
  const defaults = defaultClasses(classes);
  if (defaults.length > 1) {
    const names = defaults.map((c) => `"${c.metadata.name}"`).join(' and ');
    return { refused: 'AmbiguousDefaultClass', message: `RentalClasses ${names} are both annotated ${DEFAULT_CLASS_ANNOTATION}: "true"; an admin must keep one default (or the rental names its class)` };
  }
  if (defaults.length === 0 && classes.length > 0) {
    const names = classes.map((c) => `"${c.metadata.name}"`).sort().join(', ');
    return { refused: 'NoDefaultClass', message: `no RentalClass is annotated ${DEFAULT_CLASS_ANNOTATION}: "true"; name one in spec.className (${names})` };
  }
  return defaults[0];
}

export function termsOf(rentalClass: RentalClassResource | undefined): RentalTerms {
  if (!rentalClass) return BUILT_IN_TERMS;
  const { playbooks, allowSudo, maxTtlSeconds, nodeSelector } = rentalClass.spec;
  return {
    className: rentalClass.metadata.name,
    playbooks: { create: playbooks.create, delete: playbooks.delete },
    allowSudo,
    ...(maxTtlSeconds !== undefined ? { maxTtlSeconds } : {}),
    nodeSelector: { ...nodeSelector?.matchLabels },
  };
}

/** The rental's terms, or why its class refuses it: an unknown or ambiguous class, sudo or a TTL it does not allow. */
export function resolveTerms(rental: RentalAsked, classes: readonly RentalClassResource[]): RentalTerms | ClassRefusal {
  const found = classOf(rental, classes);
  if (found && 'refused' in found) return found;
  const terms = termsOf(found);
  const which = terms.className ? `RentalClass "${terms.className}"` : 'the built-in rental terms (no RentalClass exists)';
  if (rental.spec.sudo && !terms.allowSudo) {
    return { refused: 'SudoNotAllowed', message: `${which} does not allow sudo; ask without sudo, or name a class that allows it` };
  }
  const ttl = rental.spec.ttlSeconds;
  const max = terms.maxTtlSeconds;
  if (max !== undefined && (ttl === undefined || ttl > max)) {
    const asked = ttl === undefined ? 'asked none (a lease until released)' : `asked ${ttl}`;
    return { refused: 'TtlAboveClassMax', message: `${which} allows a ttlSeconds of at most ${max}; ${asked}` };
  }
  return terms;
}

export function isRefusal(value: RentalTerms | ClassRefusal): value is ClassRefusal {
  return 'refused' in value;
}

