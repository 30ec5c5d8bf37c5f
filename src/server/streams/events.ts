// GET /api/v1/events: the Events Orion records (a node died, a rental moved, a desktop is about to expire …) as
// server-sent events, as they happen, after the most recent ones. Each person sees the Events of the objects they
// may see: a tenant their own Rentals, Desktops and Labs; Node events only admins (in folder mode: their cleanup
// messages name other people's logins). Each event's id is its sequence number: Last-Event-ID resumes after it.
import { Router } from 'express';
import type { Resource } from '../../api/types.js';
import type { EventInput, Store } from '../../store/store.js';
import { identityOf } from '../auth/middleware.js';
import type { Identity } from '../auth/identity.js';
import { API_PREFIX, type Portal } from '../api/context.js';
import { EventStream } from './sse.js';

const KEEP = 200;

export interface FeedEntry {
  seq: number;
  at: string;
  type: EventInput['type'];
  reason: string;
  message: string;
  object: { kind: string; namespace: string; name: string };
  /** For the visibility check only; never sent. */
  resource: Resource;
}

export class EventFeed {
  private readonly recent: FeedEntry[] = [];
  private readonly listeners = new Set<(entry: FeedEntry) => void>();
  private seq = 0;

  constructor(store: Store) {
    store.watchEvents((obj, event) => this.push(obj, event));
  }

  since(seq: number): FeedEntry[] {
    return this.recent.filter((e) => e.seq > seq);
  }

  listen(fn: (entry: FeedEntry) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private push(obj: Resource, event: EventInput): void {
    const { kind, metadata } = obj;
    const entry: FeedEntry = {
      seq: ++this.seq,
      at: new Date().toISOString(),
      type: event.type,
      reason: event.reason,
      message: event.message,
      object: { kind, namespace: metadata.namespace, name: metadata.name },
      resource: obj,
    };
    this.recent.push(entry);
    if (this.recent.length > KEEP) this.recent.shift();
    for (const fn of this.listeners) fn(entry);
  }
}

export function eventRoutes(portal: Portal, feed: EventFeed): Router {
  const router = Router();
  router.get(`${API_PREFIX}/events`, async (req, res) => {
    const identity = identityOf(res);
    const visible = await visibility(portal, identity);
    const stream = new EventStream(req, res);
    const send = (entry: FeedEntry): void => {
      if (!visible(entry.resource)) return;
      const { resource: _resource, ...shown } = entry;
      stream.send({ event: 'event', id: String(entry.seq), data: JSON.stringify(shown) });
    };
    const last = Number(req.headers['last-event-id'] ?? 0);
    const off = feed.listen(send);
    stream.onClose(off);
    for (const entry of feed.since(Number.isFinite(last) ? last : 0)) send(entry);
  });
  return router;
}

/** Which objects' Events the caller sees: the kinds they may watch, the objects they may see, Nodes for admins. */
async function visibility(portal: Portal, identity: Identity): Promise<(obj: Resource) => boolean> {
  const kinds = new Set<string>();
  for (const kind of ['Node', 'Rental', 'Desktop', 'Lab', 'PlaybookRun'] as const) {
    if (await portal.access.allows(identity, { verb: 'watch', kind })) kinds.add(kind);
  }
  const nodesToo = identity.admin || portal.access.mode === 'kube';
  return (obj) => kinds.has(obj.kind) && (obj.kind !== 'Node' || nodesToo) && portal.access.sees(identity, obj);
}
