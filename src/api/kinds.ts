// The registry of Orion kinds: names, schemas and printer columns, in one place.
import { desktopKind } from './schemas/desktop.js';
import { labKind } from './schemas/lab.js';
import { nodeKind } from './schemas/node.js';
import { playbookRunKind } from './schemas/playbookrun.js';
import { rentalKind } from './schemas/rental.js';
import type { KindName } from './types.js';

export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'date' | 'boolean' | 'number';
  readonly jsonPath: string;
}

export interface KindDefinition {
  readonly kind: KindName;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly specSchema: object;
  readonly statusSchema: object;
  readonly printerColumns: readonly PrinterColumn[];
}

export const KINDS: readonly KindDefinition[] = [nodeKind, rentalKind, labKind, desktopKind, playbookRunKind];

/** Finds a kind by any name a user may type: kind, plural, singular, short name, or `plural.orion.lab`. */
export function findKind(name: string): KindDefinition | undefined {
  const wanted = name.toLowerCase().replace(/\.orion\.lab$/, '');
  return KINDS.find(
    (k) =>
      k.kind.toLowerCase() === wanted ||
      k.plural === wanted ||
      k.singular === wanted ||
      k.shortNames.includes(wanted),
  );
}

export function kindDefinition(kind: KindName): KindDefinition {
  const def = KINDS.find((k) => k.kind === kind);
  if (!def) throw new Error(`unknown kind ${kind}`);
  return def;
}
