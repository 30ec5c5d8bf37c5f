// The portal's policy in one place: per-person quotas, the request rate, the recipes a job may run. Its values come
// from `orion run` flags. A Rental's, a Lab's and a Desktop's terms (hypervisor, images, limits, playbooks, AD join,
// home share, longest TTL, per-class quotas) are not here: they are the admin's RentalClasses and MachineClasses,
// read from the store (rental-classes.ts, machine-classes.ts, desktop-classes.ts, ADR 24).
import type { KindName } from '../../api/types.js';

export interface PortalPolicy {
  /** How many objects of the kind one person may hold at once; undefined: no limit. */
  quota(kind: KindName): number | undefined;
  /** Requests per minute per person, and the burst. */
  readonly rate: { perMinute: number; burst: number };
  /** Recipes (playbook names) a PlaybookRun may name. */
  readonly recipes: readonly string[];
  /** Where the seeds' routes and namespace-less requests put objects. */
  readonly namespace: string;
  /** How long POST /api/rent and /api/session/create wait for Ready before answering 202. */
  readonly waitSeconds: { rent: number; session: number };
}

export interface PolicyFlags {
  quotas?: Partial<Record<KindName, number>>;
  ratePerMinute?: number;
  rateBurst?: number;
  recipes?: readonly string[];
  namespace?: string;
  rentWaitSeconds?: number;
  sessionWaitSeconds?: number;
}

export const DEFAULT_QUOTAS: Partial<Record<KindName, number>> = { Rental: 1, Desktop: 1, Lab: 2 };

export function policyFromFlags(flags: PolicyFlags = {}): PortalPolicy {
  const quotas = { ...DEFAULT_QUOTAS, ...flags.quotas };
  return {
    quota: (kind) => quotas[kind],
    rate: { perMinute: flags.ratePerMinute ?? 600, burst: flags.rateBurst ?? Math.min(120, flags.ratePerMinute ?? 600) },
    recipes: flags.recipes ?? ['base'],
    namespace: flags.namespace ?? 'default',
    waitSeconds: { rent: flags.rentWaitSeconds ?? 120, session: flags.sessionWaitSeconds ?? 300 },
  };
}

