// GET /api/v1/watch: object changes as server-sent events, filtered to what the caller may see. The stream opens
// with every visible object (ADDED), then SYNCED, then each change (ADDED, MODIFIED, DELETED) as it happens — the
// informer's list-then-watch, so a client that reconnects simply gets the current state again.
// Query: kind=rentals,desktops (default: every kind the caller may watch), namespace=, name=.
import { Router } from 'express';
import { KINDS, type KindDefinition } from '../../api/kinds.js';
import type { Resource } from '../../api/types.js';
import { identityOf } from '../auth/middleware.js';
import { API_PREFIX, kindOfPlural, view, type Portal } from '../api/context.js';
import { ApiProblem } from '../problem.js';
import { EventStream } from './sse.js';

export function watchRoutes(portal: Portal): Router {
  const router = Router();
  router.get(`${API_PREFIX}/watch`, async (req, res) => {
    const identity = identityOf(res);
    const namespace = queryText(req.query.namespace);
    const name = queryText(req.query.name);
    const asked = queryText(req.query.kind)?.split(',').map((p) => kindOfPlural(p.trim()));
    const kinds: KindDefinition[] = [];
    for (const def of asked ?? KINDS) {
      const allowed = await portal.access.allows(identity, { verb: 'watch', kind: def.kind, ...(namespace ? { namespace } : {}) });
      if (allowed) kinds.push(def);
      else if (asked) throw new ApiProblem(403, `${identity.name} may not watch ${def.plural}${namespace ? ` in namespace ${namespace}` : ''}`);
    }
    const wanted = (obj: Resource): boolean =>
      (!namespace || obj.metadata.namespace === namespace) && (!name || obj.metadata.name === name) && portal.access.sees(identity, obj);
    const stream = new EventStream(req, res);
    const send = (type: string, obj: Resource): void => {
      stream.send({ event: type, id: obj.metadata.resourceVersion, data: JSON.stringify({ type, object: view(portal, identity, obj) }) });
    };
    // Subscribe first, then list: a change in between is sent twice rather than lost.
    const unsubscribe = kinds.map((def) => portal.store.watch(def.kind, (event) => {
      if (wanted(event.object)) send(event.type, event.object);
    }));
    stream.onClose(() => unsubscribe.forEach((off) => off()));
    for (const def of kinds) for (const obj of portal.store.list(def.kind, namespace)) if (wanted(obj)) send('ADDED', obj);
    stream.send({ event: 'SYNCED', data: JSON.stringify({ kinds: kinds.map((k) => k.plural) }) });
  });
  return router;
}

function queryText(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value : undefined;
}
