// Asking for a console: a ticket for this person and this target, after the same checks as reading the object
// (someone else's object is a 404) plus the right to open its console (Kubernetes mode: `create` on the
// `<plural>/console` subresource, as pods/exec).
//   POST /api/v1/namespaces/{ns}/rentals/{name}/console                      the rental node's terminal
//   POST /api/v1/namespaces/{ns}/desktops/{name}/console  {"type": "vnc"}    the desktop's session screen
//   POST /api/v1/namespaces/{ns}/{plural}/{name}/machines/{machine}/console  {"type": "ssh"|"vnc"}
// The answer is {ticket, path, expiresInSeconds}: open a websocket on `path` within that time, presenting the
// ticket in the subprotocol list ("orion.console.v1", "ticket.<ticket>").
import { Router, type Request } from 'express';
import { identityOf } from '../auth/middleware.js';
import type { Identity } from '../auth/identity.js';
import { API_PREFIX, authorize, kindOfPlural, visibleObject, type Portal } from '../api/context.js';
import { param } from '../api/resources.js';
import { ApiProblem } from '../problem.js';
import type { ConsoleTargets } from './targets.js';
import type { ConsoleTarget, TicketBook } from './tickets.js';

export const CONSOLE_PATHS = { ssh: '/console/ssh', vnc: '/console/vnc' } as const;

export function consoleTicketRoutes(portal: Portal, tickets: TicketBook, targets: ConsoleTargets): Router {
  const router = Router();
  const ns = `${API_PREFIX}/namespaces/:namespace/:plural/:name`;
  router.post(`${ns}/console`, async (req, res) => void res.json(await issue(portal, tickets, targets, req, identityOf(res), consoleType(req))));
  router.post(`${ns}/machines/:machine/console`, async (req, res) => {
    res.json(await issue(portal, tickets, targets, req, identityOf(res), consoleType(req), param(req, 'machine')));
  });
  return router;
}

/** The body's {"type"}: a terminal unless it asks for the screen. */
function consoleType(req: Request): 'ssh' | 'vnc' {
  const type = (req.body as { type?: unknown } | undefined)?.type ?? 'ssh';
  if (type !== 'ssh' && type !== 'vnc') throw new ApiProblem(400, 'send {"type": "ssh"} or {"type": "vnc"}');
  return type;
}

// eslint-disable-next-line max-params
async function issue(portal: Portal, tickets: TicketBook, targets: ConsoleTargets, req: Request, identity: Identity, type: 'ssh' | 'vnc', machine?: string): Promise<Record<string, unknown>> {
  const def = kindOfPlural(param(req, 'plural'));
  const ref = { kind: def.kind, namespace: param(req, 'namespace'), name: param(req, 'name') };
  await authorize(portal, identity, { verb: 'get', ...ref });
  const obj = visibleObject(portal, identity, ref);
  if (!targets.offers(def.kind, type)) throw new ApiProblem(404, `a ${def.kind} has no ${type === 'ssh' ? 'terminal' : 'graphical console'}`);
  await authorize(portal, identity, { verb: 'create', subresource: 'console', ...ref });
  const target: ConsoleTarget = { type, kind: obj.kind, namespace: ref.namespace, name: ref.name, ...(machine ? { machine } : {}) };
  return { ticket: tickets.issue(identity, target), path: CONSOLE_PATHS[type], expiresInSeconds: 30 };
}
