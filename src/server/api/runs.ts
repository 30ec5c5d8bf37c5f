// Runs as jobs: every Ansible and Terraform run kept for an object, with its state, times and log. Reading a run is
// reading its object's log (`<plural>/log`, as pods/log): a tenant reads the runs of their own objects.
//   GET /api/v1/runs/{id}                                   the run
//   GET /api/v1/runs/{id}/log                               its log (text), or followed (SSE) with ?follow=true
//   GET /api/v1/namespaces/{ns}/{plural}/{name}/runs        the object's runs, oldest first
//   GET /api/v1/namespaces/{ns}/{plural}/{name}/log         its newest run's log, or followed: the running or next run
import { createReadStream } from 'node:fs';
import { Router, type Request, type Response } from 'express';
import type { ObjectRef as RunRef } from '../../api/refs.js';
import type { RunInfo } from '../../api/runs.js';
import { identityOf } from '../auth/middleware.js';
import type { Identity } from '../auth/identity.js';
import { ApiProblem } from '../problem.js';
import { EventStream, wantsStream } from '../streams/sse.js';
import { followRunLog, parseLogEventId } from '../streams/run-log.js';
import { API_PREFIX, authorize, kindOfPlural, type Portal } from './context.js';
import { param } from './resources.js';

const PENDING_POLL_MS = 250;
const PENDING_MAX_MS = 10 * 60_000;

export function runRoutes(portal: Portal): Router {
  const router = Router();

  router.get(`${API_PREFIX}/runs/:id`, async (req, res) => {
    const run = await readableRun(portal, identityOf(res), param(req, 'id'));
    res.json(runView(run));
  });

  router.get(`${API_PREFIX}/runs/:id/log`, async (req, res) => {
    const run = await readableRun(portal, identityOf(res), param(req, 'id'));
    if (!wantsStream(req)) return sendLog(res, run);
    const resume = parseLogEventId(req.headers['last-event-id'] as string | undefined);
    await followRunLog(new EventStream(req, res), portal.runs, run, { from: resume?.runId === run.id ? resume.offset : 0 });
  });

  router.get(`${API_PREFIX}/namespaces/:namespace/:plural/:name/runs`, async (req, res) => {
    const ref = await readableObject(portal, identityOf(res), req);
    res.json({ items: (await portal.runs.list(ref)).map(runView) });
  });

  router.get(`${API_PREFIX}/namespaces/:namespace/:plural/:name/log`, async (req, res) => {
    const ref = await readableObject(portal, identityOf(res), req);
    const runs = await portal.runs.list(ref);
    if (!wantsStream(req)) {
      const newest = runs.at(-1);
      if (!newest) throw new ApiProblem(404, `${ref.kind} "${ref.name}" has no run yet (state PENDING)`);
      return sendLog(res, newest);
    }
    const stream = new EventStream(req, res);
    const resume = parseLogEventId(req.headers['last-event-id'] as string | undefined);
    const resumed = resume ? runs.find((r) => r.id === resume.runId) : undefined;
    const run = resumed ?? (await runToFollow(portal, ref, runs, stream));
    if (!run) return;
    await followRunLog(stream, portal.runs, run, { from: resumed ? resume?.offset : 0 });
  });

  return router;
}

/** The running run, else the newest, else the next one to start (PENDING until then). */
async function runToFollow(portal: Portal, ref: RunRef, runs: RunInfo[], stream: EventStream): Promise<RunInfo | undefined> {
  const running = runs.find((r) => r.state === 'RUNNING');
  if (running ?? runs.at(-1)) return running ?? runs.at(-1);
  stream.send({ event: 'pending', data: JSON.stringify({ state: 'PENDING', resource: ref }) });
  const deadline = Date.now() + PENDING_MAX_MS;
  while (!stream.closed && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, PENDING_POLL_MS));
    const first = (await portal.runs.list(ref))[0];
    if (first) return first;
  }
  stream.send({ event: 'end', data: JSON.stringify({ state: 'PENDING', message: 'no run started while following' }) });
  stream.close();
  return undefined;
}

async function readableObject(portal: Portal, identity: Identity, req: Request): Promise<RunRef> {
  const def = kindOfPlural(param(req, 'plural'));
  const ref = { kind: def.kind, namespace: param(req, 'namespace'), name: param(req, 'name') };
  await authorize(portal, identity, { verb: 'get', subresource: 'log', ...ref });
  const obj = portal.store.get(ref);
  if (!obj || !portal.access.sees(identity, obj)) throw new ApiProblem(404, `${def.kind} "${ref.name}" not found in namespace ${ref.namespace}`);
  return ref;
}

/** A run whose object the caller may read the log of; the runs of a deleted object are for those who may read any. */
async function readableRun(portal: Portal, identity: Identity, id: string): Promise<RunInfo> {
  const run = await portal.runs.get(id);
  const notFound = new ApiProblem(404, `no run "${id}"`);
  if (!run) throw notFound;
  const { kind, namespace, name } = run.resource;
  if (!(await portal.access.allows(identity, { verb: 'get', subresource: 'log', kind, namespace, name }))) throw notFound;
  const obj = portal.store.get(run.resource);
  if (obj ? !portal.access.sees(identity, obj) : portal.access.mode === 'folder' && !identity.admin) throw notFound;
  return run;
}

function sendLog(res: Response, run: RunInfo): void {
  res.type('text/plain; charset=utf-8').setHeader('X-Run-State', run.state);
  createReadStream(run.file).on('error', () => res.end()).pipe(res);
}

export function runView(run: RunInfo): Record<string, unknown> {
  const { file: _file, ...rest } = run;
  return { ...rest, log: `${API_PREFIX}/runs/${run.id}/log` };
}
