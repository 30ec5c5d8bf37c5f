// The seeds' own routes, as thin adapters onto the same objects, so that their curl commands work unchanged:
//   seed 004  POST /api/rent, DELETE /api/rent/{name}                     a Rental (rent.ts decides)
//   seed 001  POST /api/session/create, /api/session/destroy, GET /api/sessions   a session is a Desktop
//   seed 002  POST /ansible/run, GET /ansible/jobs/{id}[/log]             a job is a PlaybookRun
// Errors are problem+json; where a seed showed an `error` field, the problem carries it too.
import { Router } from 'express';
import type { DesktopResource, NodeResource, PlaybookRunResource, RentalResource } from '../../api/types.js';
import { refOf } from '../../api/refs.js';
import { identityOf } from '../auth/middleware.js';
import { loginOf, type Identity } from '../auth/identity.js';
import { ApiProblem } from '../problem.js';
import { EventStream, wantsStream } from '../streams/sse.js';
import { followRunLog } from '../streams/run-log.js';
import { authorize, objectPath, visibleObject, watchLinks, type Portal } from './context.js';
import { RentDesk } from './rent.js';
import { param } from './resources.js';
import { sessionView, waitForSession } from './sessions.js';
import { desktopClassChoices } from './desktop-classes.js';
import { checkRecipe, createObject, deleteObject } from './writes.js';

export function seedRoutes(portal: Portal): Router {
  const router = Router();
  rentRoutes(router, portal);
  sessionRoutes(router, portal);
  jobRoutes(router, portal);
  return router;
}

/** Seed 004. */
function rentRoutes(router: Router, portal: Portal): void {
  const desk = new RentDesk(portal);
  const ns = portal.policy.namespace;

  router.post('/api/rent', async (req, res) => {
    const identity = identityOf(res);
    const spec = rentSpec(identity, req.body);
    const outcome = await desk.rent(identity, { namespace: ns, spec, wait: req.query.wait !== 'false' });
    const rental = outcome.rental;
    res.location(objectPath(rental)).setHeader('Link', watchLinks(rental));
    res.status(outcome.state === 'ready' ? 200 : 202).json(rentView(rental, desk.nodeOf(rental)));
  });

  router.delete('/api/rent/:name', async (req, res) => {
    const identity = identityOf(res);
    const gone = await deleteObject(portal, identity, { kind: 'Rental', namespace: ns, name: param(req, 'name') });
    res.status(202).location(objectPath(gone)).json({ name: gone.metadata.name, status: 'Releasing' });
  });
}

/** Seed 001. */
function sessionRoutes(router: Router, portal: Portal): void {
  const ns = portal.policy.namespace;

  router.post('/api/session/create', async (req, res) => {
    const identity = identityOf(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const username = body.username;
    if (typeof username !== 'string' || !username) throw seedProblem(400, 'username required');
    for (const field of ['session_user', 'session_password'] as const) {
      if (body[field] !== undefined && body[field] !== null) {
        throw seedProblem(400, `${field} is not accepted: the desktop's login is "${username}", and its RDP password is generated for it (or comes from the directory)`);
      }
    }
    if (!(await portal.access.mayActFor(identity, username))) throw seedProblem(403, `${identity.name} may not create a session for ${username}`);
    // The default MachineClass and its first image (the class's own rules still apply: a 400 names the class).
    const offer = desktopClassChoices(portal.store).find((c) => c.default);
    const image = offer?.images[0];
    if (!offer || !image) throw seedProblem(403, 'desktops are not offered here: the admin\'s default MachineClass offers no desktop image (spec.desktop and spec.images)');
    const desktop = await createObject<DesktopResource>(portal, identity, {
      kind: 'Desktop',
      namespace: ns,
      body: { metadata: { generateName: 'desktop' }, spec: { user: username, image } },
      // The session is the user's: theirs to see and destroy, whoever asked for it (the Event names the asker).
      owner: username,
      trusted: true,
    });
    const settled = (await waitForSession(portal, desktop, portal.policy.waitSeconds.session * 1000)) ?? desktop;
    res.location(objectPath(desktop)).setHeader('Link', watchLinks(desktop));
    res.status(settled.status?.phase === 'Ready' ? 200 : 202).json(sessionView(settled, true));
  });

  router.post('/api/session/destroy', async (req, res) => {
    const identity = identityOf(res);
    const id = ((req.body ?? {}) as Record<string, unknown>).session_id;
    if (typeof id !== 'string' || !id) throw seedProblem(400, 'session_id required');
    const ref = { kind: 'Desktop' as const, namespace: ns, name: id };
    const deleted = (await deleteObject(portal, identity, ref)) as DesktopResource;
    const left = await waitForSession(portal, deleted, portal.policy.waitSeconds.session * 1000, true);
    res.status(left ? 202 : 200).json({ session_id: id, status: left ? 'destroying' : 'destroyed' });
  });

  router.get('/api/sessions', async (_req, res) => {
    const identity = identityOf(res);
    await authorize(portal, identity, { verb: 'list', kind: 'Desktop', namespace: ns });
    const sessions: Record<string, unknown> = {};
    for (const d of portal.store.list<DesktopResource>('Desktop', ns)) {
      if (portal.access.sees(identity, d)) sessions[d.metadata.name] = sessionView(d, false);
    }
    res.json(sessions);
  });
}

/** Seed 002. */
function jobRoutes(router: Router, portal: Portal): void {
  const ns = portal.policy.namespace;

  router.post('/ansible/run', async (req, res) => {
    const identity = identityOf(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const recipe = checkRecipe(portal, body.recipe);
    const nodes = jobNodes(portal, ns, body);
    const run = await createObject<PlaybookRunResource>(portal, identity, {
      kind: 'PlaybookRun',
      namespace: ns,
      body: { metadata: { generateName: 'job' }, spec: { playbook: recipe, nodes } },
    });
    res.status(202).location(`/ansible/jobs/${run.metadata.name}`).json({ jobId: run.metadata.name });
  });

  router.get('/ansible/jobs/:id', async (req, res) => {
    const run = await job(portal, identityOf(res), ns, param(req, 'id'));
    res.json(jobView(run));
  });

  router.get('/ansible/jobs/:id/log', async (req, res) => {
    const run = await job(portal, identityOf(res), ns, param(req, 'id'));
    const runs = await portal.runs.list(refOf(run));
    const newest = runs.at(-1);
    if (wantsStream(req) && newest) return followRunLog(new EventStream(req, res), portal.runs, newest);
    res.type('text/plain; charset=utf-8').setHeader('X-Job-Status', jobStatus(run));
    if (!newest) return void res.send('');
    res.sendFile(newest.file);
  });
}

/** The Rental spec of a rent: the caller's own login and keys (the body's, or those registered with the token). */
function rentSpec(identity: Identity, body: unknown): Record<string, unknown> {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const allowed = new Set(['sshPublicKeys', 'sshPublicKey', 'nodeSelector', 'ttlSeconds', 'user', 'className']);
  const other = Object.keys(b).find((k) => !allowed.has(k));
  if (other) throw new ApiProblem(400, `unknown field "${other}": a rent may send sshPublicKeys, nodeSelector, ttlSeconds and className`);
  const keys = b.sshPublicKeys ?? (typeof b.sshPublicKey === 'string' ? [b.sshPublicKey] : identity.sshPublicKeys);
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new ApiProblem(400, 'send your SSH public key: {"sshPublicKeys": ["ssh-ed25519 AAAA… you@laptop"]} (or register it with your token)');
  }
  const user = b.user ?? loginOf(identity);
  return {
    ...(user !== undefined ? { user } : {}),
    sshPublicKeys: keys,
    ...(b.nodeSelector !== undefined ? { nodeSelector: b.nodeSelector } : {}),
    ...(b.ttlSeconds !== undefined ? { ttlSeconds: b.ttlSeconds } : {}),
    ...(b.className !== undefined ? { className: b.className } : {}),
  };
}

function rentView(rental: RentalResource, node: NodeResource | undefined): Record<string, unknown> {
  // Ready: the published connection; otherwise the node it is bound to, if any (the user is being made there).
  const bound = node ? { host: node.spec.address, port: node.spec.port, user: rental.spec.user } : { host: null, port: null, user: rental.spec.user };
  const connection = rental.status?.connection ?? bound;
  return {
    name: rental.metadata.name,
    status: rental.status?.phase ?? 'Pending',
    node: rental.status?.nodeName ?? node?.metadata.name ?? null,
    host: connection.host,
    port: connection.port,
    user: connection.user,
    location: objectPath(rental),
  };
}

/** A job's Nodes: by name (`nodes`), or by the seed's numeric `serverIds`, the Nodes labelled orion.lab/server-id. */
function jobNodes(portal: Portal, namespace: string, body: Record<string, unknown>): string[] {
  if (Array.isArray(body.nodes) && body.nodes.length > 0) {
    if (!body.nodes.every((n) => typeof n === 'string')) throw new ApiProblem(400, 'nodes must be Node names');
    return body.nodes as string[];
  }
  if (Array.isArray(body.serverIds) && body.serverIds.length > 0) {
    const all = portal.store.list<NodeResource>('Node', namespace);
    return body.serverIds.map((id) => {
      const node = all.find((n) => n.metadata.labels?.['orion.lab/server-id'] === String(id));
      if (!node) throw new ApiProblem(400, `no Node has the label orion.lab/server-id=${String(id)}`);
      return node.metadata.name;
    });
  }
  throw new ApiProblem(400, 'send {"nodes": ["node-name", …]} or {"serverIds": [1, …]} and a "recipe"');
}

async function job(portal: Portal, identity: Identity, namespace: string, name: string): Promise<PlaybookRunResource> {
  await authorize(portal, identity, { verb: 'get', kind: 'PlaybookRun', namespace, name });
  return visibleObject<PlaybookRunResource>(portal, identity, { kind: 'PlaybookRun', namespace, name });
}

const JOB_STATUS = { Pending: 'PENDING', Running: 'RUNNING', Succeeded: 'SUCCESS', Failed: 'ERROR' } as const;

function jobStatus(run: PlaybookRunResource): string {
  return JOB_STATUS[run.status?.phase ?? 'Pending'];
}

function jobView(run: PlaybookRunResource): Record<string, unknown> {
  const ready = run.status?.conditions?.find((c) => c.type === 'Ready');
  return {
    id: run.metadata.name,
    recipe: run.spec.playbook,
    nodes: run.spec.nodes,
    status: jobStatus(run),
    startedAt: run.status?.startedAt ?? null,
    endedAt: run.status?.endedAt ?? null,
    createdAt: run.metadata.creationTimestamp,
    message: ready?.message ?? null,
    hosts: run.status?.hosts ?? [],
    logPath: `/ansible/jobs/${run.metadata.name}/log`,
  };
}

/** A problem that also carries the seed's `error` field. */
function seedProblem(status: number, message: string): ApiProblem {
  return new ApiProblem(status, message, { members: { error: message } });
}
