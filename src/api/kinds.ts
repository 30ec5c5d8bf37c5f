// The registry of Orion kinds: names, scope, schemas and printer columns, in one place. Tenants' kinds and Nodes
// are namespaced; admin-owned classes are cluster-scoped (like StorageClass): their namespace is the empty string
// everywhere Orion names an object (refs.ts), their CRD says `scope: Cluster`, and they have no status.
import { desktopKind } from './schemas/desktop.js';
import { hypervisorKind } from './schemas/hypervisor.js';
import { labKind } from './schemas/lab.js';
import { machineClassKind } from './schemas/machineclass.js';
import { nodeKind } from './schemas/node.js';
import { playbookRunKind } from './schemas/playbookrun.js';
import { rentalKind } from './schemas/rental.js';
import { rentalClassKind } from './schemas/rentalclass.js';
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
  /** Namespaced unless said otherwise; a cluster-scoped object's namespace is ''. */
  readonly scope?: 'Namespaced' | 'Cluster';
  readonly specSchema: object;
  /** Absent for a kind nothing reconciles (a class): no status subresource. */
  readonly statusSchema?: object;
  /** Spec fields the kind no longer has (`a.b`, `list[].b` for each item), with the message that refuses them (what to use instead). */
  readonly retiredFields?: Readonly<Record<string, string>>;
  readonly printerColumns: readonly PrinterColumn[];
}

export const KINDS: readonly KindDefinition[] = [nodeKind, rentalKind, labKind, desktopKind, playbookRunKind, rentalClassKind, machineClassKind, hypervisorKind];

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

/** Whether objects of the kind live outside namespaces (an admin-owned class). */
export function isClusterScoped(kind: KindName | string): boolean {
  return KINDS.find((k) => k.kind === kind)?.scope === 'Cluster';
}
