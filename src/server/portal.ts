// The portal: everything under /api and /ansible behind the door (a bearer token or a browser session, then the
// caller's rate limit), the host and origin checks in front, the OpenAPI document open to read, errors as
// problem+json; the web app's login (/auth) behind the same checks.
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
import { EventFeed, eventRoutes } from './streams/events.js';
import { choiceRoutes } from './api/choices.js';
import { MetricsHistory, historyRoutes } from './api/history.js';
import { oidcRoutes, type OidcSettings } from './auth/oidc.js';
import { sessionRoutes } from './auth/session-routes.js';
import { SessionBook } from './auth/sessions.js';
import type { Server } from 'node:http';
import type { ConsoleKeys } from '../store/console-keys.js';
import { defaultConsoleTargets, type Connector } from './console/resolvers.js';
import type { GeneratedPasswords } from '../store/generated-passwords.js';
import { consoleTicketRoutes } from './console/routes.js';
import type { ConsoleTargets } from './console/targets.js';
import { TicketBook } from './console/tickets.js';
import { ConsoleHost } from './console/console-host.js';
import { attachConsoles } from './console/upgrade.js';
import { transportRule } from './transport.js';
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
  /** OpenID Connect login for the web app (Kubernetes mode). */
  oidc?: OidcSettings;
  /**
   * The browser consoles: the rentals' console keys, how machines are reached, the Desktops' admin login, where
   * generated credentials are (a Desktop's generated key), more targets.
   */
  consoles?: { consoleKeys?: ConsoleKeys; connector?: Connector; desktopAdminUser?: string; passwords?: GeneratedPasswords; extend?: (targets: ConsoleTargets) => void };
}

export const PORTAL_PREFIXES = ['/api', '/ansible'];
const AUTH_PREFIX = '/auth';

export interface BuiltPortal {
  router: Router;
  portal: Portal;
  /** For routes outside the portal that need an admin (the quickstart's worker controls). */
  requireAdmin: RequestHandler[];
  /** The browser sessions (the consoles' websockets check them too). */
  sessions: SessionBook;
  /** The host check, for routes outside the portal (the web app, the consoles). */
  hostCheck: RequestHandler;
  /** Stops the portal's timers and its console process. */
  close(): void;
  /** Serves the consoles' websockets on the HTTP server. */
  attach(server: Server): void;
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
  const sessions = new SessionBook();
  const door = requireIdentity(setup.access, limiter, sessions);
  const checks = hostCheck(listenHost, setup.transport ?? {});
  const feed = new EventFeed(setup.store);
  const history = new MetricsHistory();
  const tickets = new TicketBook();
  // Terminals run in a process of their own: their keystrokes never wait for Orion's event loop (ADR 26).
  const consoleHost = new ConsoleHost();
  const targets = defaultConsoleTargets({ store: setup.store, ...setup.consoles });
  setup.consoles?.extend?.(targets);
  history.start();
  const router = Router();
  const openapi = JSON.stringify(openApiDocument());
  const secure = (req: express.Request): boolean => req.secure;
  router.use([...PORTAL_PREFIXES, AUTH_PREFIX], checks);
  router.use(sessionRoutes({ access: setup.access, sessions, oidc: setup.oidc !== undefined, secure, namespace: setup.policy.namespace }));
  if (setup.oidc) router.use(oidcRoutes(setup.oidc, sessions, secure));
  router.use(AUTH_PREFIX, problemHandler);
  router.get(`${API_PREFIX}/openapi.json`, (_req, res) => void res.type('application/json').send(openapi));
  router.use(PORTAL_PREFIXES, door, express.json({ limit: '1mb', type: ['application/json', 'application/*+json'] }));
  router.use(watchRoutes(portal), eventRoutes(portal, feed), historyRoutes(portal, history), choiceRoutes(portal), consoleTicketRoutes(portal, tickets, targets));
  router.use(runRoutes(portal), actionRoutes(portal), resourceRoutes(portal), seedRoutes(portal));
  router.use(PORTAL_PREFIXES, (req, _res, next) => next(new ApiProblem(404, `no route ${req.method} ${req.originalUrl.split('?')[0]}`)));
  router.use(PORTAL_PREFIXES, problemHandler);
  const adminOnly: RequestHandler = (_req, res, next) => {
    if (!identityOf(res).admin) return next(new ApiProblem(403, 'admins only'));
    next();
  };
  const transport = transportRule(listenHost, setup.transport ?? {});
  return {
    router,
    portal,
    requireAdmin: [checks, door, adminOnly],
    sessions,
    hostCheck: checks,
    close: () => {
      history.stop();
      consoleHost.close();
    },
    attach: (server) => attachConsoles(server, { tickets, targets, access: setup.access, sessions, transport, host: consoleHost }),
  };
}
