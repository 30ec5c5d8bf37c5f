// The portal: everything under /api and /ansible behind the door (a bearer token, then the caller's rate limit),
// the host and origin checks in front, the OpenAPI document open to read, errors as problem+json.
import express, { Router, type RequestHandler } from 'express';
import type { Store } from '../store/store.js';
import type { Access } from './auth/access.js';
import { identityOf, requireIdentity } from './auth/middleware.js';
import { actionRoutes } from './api/actions.js';
import { API_PREFIX, type NodePlacement, type Portal } from './api/context.js';
import { Quotas, RateLimiter } from './api/limits.js';
import { openApiDocument } from './api/openapi.js';
import type { PortalPolicy } from './api/policy.js';
import type { RunReader } from '../api/runs.js';
import { resourceRoutes } from './api/resources.js';
import { runRoutes } from './api/runs.js';
import { seedRoutes } from './api/seeds.js';
import { ApiProblem, problemHandler } from './problem.js';
import { watchRoutes } from './streams/watch.js';
import { hostCheck, type TransportOptions } from './transport.js';

export interface PortalSetup {
  store: Store;
  access: Access;
  policy: PortalPolicy;
  /** The runs kept in the state directory (folder mode) or the scratch directory (Kubernetes mode). */
  runs: RunReader;
  /** The Rental scheduler's NodeIndex. */
  nodes: NodePlacement;
  transport?: TransportOptions;
}

export const PORTAL_PREFIXES = ['/api', '/ansible'];

export interface BuiltPortal {
  router: Router;
  portal: Portal;
  /** For routes outside the portal that need an admin (the quickstart's worker controls). */
  requireAdmin: RequestHandler[];
}

export function buildPortal(setup: PortalSetup, listenHost: string): BuiltPortal {
  const portal: Portal = {
    store: setup.store,
    access: setup.access,
    policy: setup.policy,
    runs: setup.runs,
    nodes: setup.nodes,
    quotas: new Quotas(setup.store, setup.policy),
  };
  const limiter = new RateLimiter(setup.policy.rate);
  const door = requireIdentity(setup.access, limiter);
  const checks = hostCheck(listenHost, setup.transport ?? {});
  const router = Router();
  const openapi = JSON.stringify(openApiDocument());
  router.use(PORTAL_PREFIXES, checks);
  router.get(`${API_PREFIX}/openapi.json`, (_req, res) => void res.type('application/json').send(openapi));
  router.use(PORTAL_PREFIXES, door, express.json({ limit: '1mb', type: ['application/json', 'application/*+json'] }));
  router.use(watchRoutes(portal), runRoutes(portal), actionRoutes(portal), resourceRoutes(portal), seedRoutes(portal));
  router.use(PORTAL_PREFIXES, (req, _res, next) => next(new ApiProblem(404, `no route ${req.method} ${req.originalUrl.split('?')[0]}`)));
  router.use(PORTAL_PREFIXES, problemHandler);
  const adminOnly: RequestHandler = (_req, res, next) => {
    if (!identityOf(res).admin) return next(new ApiProblem(403, 'admins only'));
    next();
  };
  return { router, portal, requireAdmin: [checks, door, adminOnly] };
}
