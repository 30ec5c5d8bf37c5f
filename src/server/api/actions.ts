// The few actions people need beyond create and delete, as changes of the object that the controllers carry out:
// extend a Desktop (a longer spec.ttlSeconds, within its MachineClass's longest) or a Rental that has a TTL, power a Lab on or off (spec.powerState)
// and restart it (the orion.lab/restartedAt annotation, as `kubectl rollout restart` does).
import { Router } from 'express';
import type { DesktopResource, LabResource, RentalResource, Resource } from '../../api/types.js';
import { identityOf } from '../auth/middleware.js';
import type { Identity } from '../auth/identity.js';
import { ApiProblem } from '../problem.js';
import { API_PREFIX, authorize, fromStoreError, objectPath, recordWrite, view, visibleObject, watchLinks, type Portal } from './context.js';
import { desktopMaxTtl } from './desktop-classes.js';
import { param } from './resources.js';

export const RESTARTED_AT = 'orion.lab/restartedAt';
const MAX_TTL_SECONDS = 2592000; // the Desktop schema's
const RENTAL_MAX_TTL_SECONDS = 31536000; // the Rental schema's

export function actionRoutes(portal: Portal): Router {
  const router = Router();
  const ns = `${API_PREFIX}/namespaces/:namespace`;

  router.post(`${ns}/desktops/:name/extend`, async (req, res) => {
    const identity = identityOf(res);
    const seconds = extendSeconds(req.body);
    const desktop = await target<DesktopResource>(portal, identity, 'Desktop', param(req, 'namespace'), param(req, 'name'));
    const ttl = desktop.spec.ttlSeconds + seconds;
    // Within the class's longest life for everyone but admins (the controller would refuse it: ClassTerms=False).
    const limit = identity.admin ? MAX_TTL_SECONDS : desktopMaxTtl(portal.store, desktop) ?? MAX_TTL_SECONDS;
    if (ttl > limit) throw new ApiProblem(403, `limit: a desktop lives at most ${limit} s in all; it has ${desktop.spec.ttlSeconds} s`);
    const updated = await write(portal, identity, { ...desktop, spec: { ...desktop.spec, ttlSeconds: ttl } }, 'Extended', `extended by ${seconds} s`);
    answer(res, portal, identity, updated);
  });

  router.post(`${ns}/rentals/:name/extend`, async (req, res) => {
    const identity = identityOf(res);
    const seconds = extendSeconds(req.body);
    const rental = await target<RentalResource>(portal, identity, 'Rental', param(req, 'namespace'), param(req, 'name'));
    if (rental.spec.ttlSeconds === undefined) throw new ApiProblem(400, 'this rental has no time limit: there is nothing to extend');
    const ttl = rental.spec.ttlSeconds + seconds;
    if (ttl > RENTAL_MAX_TTL_SECONDS) throw new ApiProblem(403, `limit: a rental lives at most ${RENTAL_MAX_TTL_SECONDS} s in all; it has ${rental.spec.ttlSeconds} s`);
    const updated = await write(portal, identity, { ...rental, spec: { ...rental.spec, ttlSeconds: ttl } }, 'Extended', `extended by ${seconds} s`);
    answer(res, portal, identity, updated);
  });

  router.post(`${ns}/labs/:name/power`, async (req, res) => {
    const identity = identityOf(res);
    const state = (req.body as { state?: unknown } | undefined)?.state;
    if (state !== 'Running' && state !== 'Stopped') throw new ApiProblem(400, 'send {"state": "Running"} or {"state": "Stopped"}');
    const lab = await target<LabResource>(portal, identity, 'Lab', param(req, 'namespace'), param(req, 'name'));
    const updated = await write(portal, identity, { ...lab, spec: { ...lab.spec, powerState: state } }, 'PowerChanged', `power set to ${state}`);
    answer(res, portal, identity, updated);
  });

  router.post(`${ns}/labs/:name/restart`, async (req, res) => {
    const identity = identityOf(res);
    const lab = await target<LabResource>(portal, identity, 'Lab', param(req, 'namespace'), param(req, 'name'));
    const annotations = { ...lab.metadata.annotations, [RESTARTED_AT]: new Date().toISOString() };
    const updated = await write(portal, identity, { ...lab, metadata: { ...lab.metadata, annotations } }, 'RestartRequested', 'restart requested');
    answer(res, portal, identity, updated);
  });

  return router;
}

function extendSeconds(body: unknown): number {
  const seconds = (body as { seconds?: unknown } | undefined)?.seconds;
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 60 || seconds > 86400 * 7) {
    throw new ApiProblem(400, 'send {"seconds": N}: how much longer it may live, 60 to 604800');
  }
  return seconds;
}

async function target<T extends Resource>(portal: Portal, identity: Identity, kind: T['kind'], namespace: string, name: string): Promise<T> {
  await authorize(portal, identity, { verb: 'patch', kind, namespace, name });
  return visibleObject<T>(portal, identity, { kind, namespace, name });
}

async function write<T extends Resource>(portal: Portal, identity: Identity, obj: T, reason: string, what: string): Promise<T> {
  const updated = await portal.store.update(obj).catch(fromStoreError);
  await recordWrite(portal, updated, identity, reason, what);
  return updated;
}

function answer(res: import('express').Response, portal: Portal, identity: Identity, obj: Resource): void {
  res.status(202).location(objectPath(obj)).setHeader('Link', watchLinks(obj));
  res.json(view(portal, identity, obj));
}
