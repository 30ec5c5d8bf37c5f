// The portal's policy in one place: per-person quotas, the request rate, the recipes a job may run, and the admin's
// preset for tenants' Desktops (the provider and template they get). Its values come from `orion run` flags (and the
// preset file). A Rental's terms and a Lab's (hypervisor, images, limits, playbooks, per-class quotas) are no longer
// here: they are the admin's RentalClasses and MachineClasses, read from the store (rental-classes.ts,
// machine-classes.ts, ADR 24); the desktop preset moves to MachineClasses next.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import type { KindName } from '../../api/types.js';

export interface DesktopPreset {
  /** Spec fields every tenant Desktop gets: provider, template, sizes, secrets, AD … */
  spec: Record<string, unknown>;
  /** The longest TTL a tenant may ask for or extend to, in seconds. */
  maxTtlSeconds: number;
}

export interface PortalPolicy {
  /** How many objects of the kind one person may hold at once; undefined: no limit. */
  quota(kind: KindName): number | undefined;
  /** Requests per minute per person, and the burst. */
  readonly rate: { perMinute: number; burst: number };
  /** Recipes (playbook names) a PlaybookRun may name. */
  readonly recipes: readonly string[];
  readonly desktop?: DesktopPreset;
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
  desktopPresetFile?: string;
  namespace?: string;
  rentWaitSeconds?: number;
  sessionWaitSeconds?: number;
}

export const DEFAULT_QUOTAS: Partial<Record<KindName, number>> = { Rental: 1, Desktop: 1, Lab: 2 };

export async function policyFromFlags(flags: PolicyFlags = {}): Promise<PortalPolicy> {
  const quotas = { ...DEFAULT_QUOTAS, ...flags.quotas };
  return {
    quota: (kind) => quotas[kind],
    rate: { perMinute: flags.ratePerMinute ?? 600, burst: flags.rateBurst ?? Math.min(120, flags.ratePerMinute ?? 600) },
    recipes: flags.recipes ?? ['base'],
    ...(flags.desktopPresetFile ? { desktop: await readDesktopPreset(flags.desktopPresetFile) } : {}),
    namespace: flags.namespace ?? 'default',
    waitSeconds: { rent: flags.rentWaitSeconds ?? 120, session: flags.sessionWaitSeconds ?? 300 },
  };
}

/** A desktop preset file: `spec:` (the Desktop spec fields tenants get) and `maxTtlSeconds:`. */
export async function readDesktopPreset(file: string): Promise<DesktopPreset> {
  const doc = (await readYamlObject(file)) as { spec?: Record<string, unknown>; maxTtlSeconds?: number };
  if (!doc.spec || typeof doc.spec !== 'object') throw new Error(`${file}: a desktop preset needs a "spec:" mapping`);
  return { spec: doc.spec, maxTtlSeconds: doc.maxTtlSeconds ?? 8 * 3600 };
}

async function readYamlObject(file: string): Promise<Record<string, unknown>> {
  const doc: unknown = parse(await readFile(file, 'utf8'));
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`${file} must hold a YAML mapping`);
  return doc as Record<string, unknown>;
}
