// /api/v1: create, list, get and delete Rentals, Desktops, Labs and PlaybookRuns; Nodes are read-only. Objects are
// namespaced as in Kubernetes (/api/v1/namespaces/NS/PLURAL/NAME); /api/v1/PLURAL lists every namespace the
// caller may see. The admin's cluster-scoped classes are only listed (/api/v1/rentalclasses, machineclasses,
// hypervisors), to those allowed; a write of one is 405. A write answers with the object and says where to watch it
// (Location, Link).
import { Router, type Request } from 'express';
import { API_VERSION } from '../../api/group.js';
import type { Resource } from '../../api/types.js';
import { identityOf } from '../auth/middleware.js';
import { ApiProblem } from '../problem.js';
import { findKind } from '../../api/kinds.js';
import { API_PREFIX, authorize, kindOfPlural, namespacedKindOfPlural, objectPath, restricted, view, visibleObject, watchLinks, type Portal } from './context.js';
import { OWNER_LABEL, ownerLabelValue, isOwner } from '../auth/identity.js';
import { createObject, deleteObject } from './writes.js';

const NAMESPACED = `${API_PREFIX}/namespaces/:namespace/:plural`;

export function resourceRoutes(portal: Portal): Router {
  const router = Router();

  router.get(`${API_PREFIX}/:plural`, async (req, res) => {
    const identity = identityOf(res);
    const def = kindOfPlural(param(req, 'plural'));
    const namespace = typeof req.query.namespace === 'string' ? req.query.namespace : undefined;
    await authorize(portal, identity, { verb: 'list', kind: def.kind, ...(namespace ? { namespace } : {}) });
    res.json(listOf(portal, res.locals.identity, def.kind, namespace));
  });

  // The admin's classes are declared in the folder or with kubectl: never written through the portal.
  router.all([`${API_PREFIX}/:plural`, `${API_PREFIX}/:plural/:name`], (req, _res, next) => {
    const def = findKind(param(req, 'plural'));
    if (req.method === 'GET' || def?.scope !== 'Cluster' || def.plural !== param(req, 'plural')) return next();
    throw new ApiProblem(405, `${def.plural} are declared by the admin (manifests or kubectl); the portal reads them only`, { headers: { Allow: 'GET' } });
  });

  router.get(NAMESPACED, async (req, res) => {
    const identity = identityOf(res);
    const def = namespacedKindOfPlural(param(req, 'plural'));
    const namespace = param(req, 'namespace');
    await authorize(portal, identity, { verb: 'list', kind: def.kind, namespace });
    res.json(listOf(portal, identity, def.kind, namespace));
  });

  router.post(NAMESPACED, async (req, res) => {
    const identity = identityOf(res);
    const def = namespacedKindOfPlural(param(req, 'plural'));
    const created = await createObject(portal, identity, { kind: def.kind, namespace: param(req, 'namespace'), body: req.body });
    res.status(201).location(objectPath(created)).setHeader('Link', watchLinks(created));
    res.json(view(portal, identity, created));
  });

  router.get(`${NAMESPACED}/:name`, async (req, res) => {
    const identity = identityOf(res);
    const def = namespacedKindOfPlural(param(req, 'plural'));
    const ref = { kind: def.kind, namespace: param(req, 'namespace'), name: param(req, 'name') };
    await authorize(portal, identity, { verb: 'get', ...ref });
    res.json(view(portal, identity, visibleObject(portal, identity, ref)));
  });

  router.delete(`${NAMESPACED}/:name`, async (req, res) => {
    const identity = identityOf(res);
    const def = namespacedKindOfPlural(param(req, 'plural'));
    const gone = await deleteObject(portal, identity, { kind: def.kind, namespace: param(req, 'namespace'), name: param(req, 'name') });
    res.status(202).location(objectPath(gone)).setHeader('Link', watchLinks(gone));
    res.json(view(portal, identity, gone));
  });

  return router;
}

function listOf(portal: Portal, identity: Parameters<typeof view>[1], kind: Resource['kind'], namespace: string | undefined): { apiVersion: string; kind: string; items: unknown[] } {
  let items = portal.store.list<Resource>(kind, namespace);
  if (restricted(portal, identity) && kind !== 'Node') {
    const label = ownerLabelValue(identity.name);
    items = items.filter((o) => o.metadata.labels?.[OWNER_LABEL] === label && isOwner(identity, o));
  } else {
    items = items.filter((o) => portal.access.sees(identity, o));
  }
  items.sort((a, b) => (a.metadata.namespace + '/' + a.metadata.name < b.metadata.namespace + '/' + b.metadata.name ? -1 : 1));
  return { apiVersion: API_VERSION, kind: `${kind}List`, items: items.map((o) => view(portal, identity, o)) };
}

export function param(req: Request, name: string): string {
  const value = req.params[name];
  if (typeof value !== 'string' || !value) throw new ApiProblem(400, `missing ${name} in the URL`);
  return value;
}
