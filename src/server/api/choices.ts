// GET /api/v1/choices: what the caller may ask for, in one answer, so that the web app's forms offer only that —
// which kinds are offered, the RentalClasses a Rental may name and the MachineClasses a Lab may name (the admin's,
// read from the store: tenants never read classes themselves; a MachineClass shows its images, limits and playbooks,
// never its Hypervisor; the classes that offer desktops with their images, limits, AD and home share — never the
// domain's join account or the file server — and their longest TTL), sizes and their limits, the
// recipes a job may run, and how much of each quota is used. Admission and the class rules still check every request.
import { Router } from 'express';
import { MACHINE_LIMITS } from '../../api/schemas/provider.js';
import type { KindName } from '../../api/types.js';
import { identityOf } from '../auth/middleware.js';
import type { Identity } from '../auth/identity.js';
import { API_PREFIX, type Portal } from './context.js';
import { desktopClassChoices } from './desktop-classes.js';
import { machineClassChoices } from './machine-classes.js';
import { rentalClassChoices } from './rental-classes.js';

const DESKTOP_MAX_TTL = 2592000; // the Desktop schema's

const SIZES = {
  count: { min: 1, max: MACHINE_LIMITS.count, default: 1 },
  cpu: { min: 1, max: MACHINE_LIMITS.cpu, default: 1 },
  memoryMiB: { min: 256, max: MACHINE_LIMITS.memoryMiB, default: 1024 },
  diskGiB: { min: 1, max: MACHINE_LIMITS.diskGiB, default: 10 },
};

export function choiceRoutes(portal: Portal): Router {
  const router = Router();
  router.get(`${API_PREFIX}/choices`, async (_req, res) => {
    const identity = identityOf(res);
    res.json(await choicesFor(portal, identity));
  });
  return router;
}

export async function choicesFor(portal: Portal, identity: Identity): Promise<Record<string, unknown>> {
  const { policy } = portal;
  const namespace = policy.namespace;
  const may = (kind: KindName): Promise<boolean> => portal.access.allows(identity, { verb: 'create', kind, namespace }).catch(() => false);
  const quota = (kind: KindName): { limit: number | null; held: number } => ({
    limit: identity.admin ? null : policy.quota(kind) ?? null,
    held: portal.quotas.held(identity, kind),
  });
  const labClasses = machineClassChoices(portal.store);
  const desktopClasses = desktopClassChoices(portal.store);
  return {
    namespace,
    rental: {
      offered: await may('Rental'),
      ...quota('Rental'),
      registeredKeys: identity.sshPublicKeys?.length ?? 0,
      ttlSeconds: { min: 60, max: 30 * 86400 },
      classes: rentalClassChoices(portal.store),
    },
    desktop: {
      offered: (await may('Desktop')) && desktopClasses.length > 0,
      ...quota('Desktop'),
      classes: desktopClasses,
      // The longest any class allows (each class says its own): the schema's when one sets none.
      maxTtlSeconds: Math.max(0, ...desktopClasses.map((c) => c.maxTtlSeconds ?? DESKTOP_MAX_TTL)),
      extendSeconds: [1800, 3600, 4 * 3600],
    },
    lab: {
      offered: (await may('Lab')) && labClasses.length > 0,
      ...quota('Lab'),
      classes: labClasses,
      sizes: SIZES,
    },
    job: { offered: await may('PlaybookRun'), recipes: [...policy.recipes] },
  };
}
