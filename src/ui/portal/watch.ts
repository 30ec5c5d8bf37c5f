// The objects of the kinds the current page shows, that the person may see, kept current by one server-sent event
// stream (/api/v1/watch): it lists every visible object, says SYNCED, then sends each change. On a reconnect (EventSource does it by itself after a
// network drop) the list comes again: objects not in it are gone. Changes are applied at most once per animation
// frame, so a burst of status writes costs one render.
import { Observable } from '../lib/observable.js';
import { keyOf, type Kind, type Resource } from './types.js';

export type Collections = Record<Kind, Map<string, Resource>>;

export interface WatchState {
  synced: boolean;
  connected: boolean;
  objects: Collections;
  /** When the last change was applied (performance.now()), for the benchmark. */
  appliedAt: number;
}

const KIND_OF: Record<string, Kind> = { Node: 'nodes', Rental: 'rentals', Desktop: 'desktops', Lab: 'labs', PlaybookRun: 'playbookruns' };

function empty(): Collections {
  return { nodes: new Map(), rentals: new Map(), desktops: new Map(), labs: new Map(), playbookruns: new Map() };
}

export const watched = new Observable<WatchState>({ synced: false, connected: false, objects: empty(), appliedAt: 0 });

let source: EventSource | undefined;

export function startWatch(kinds: Kind[], namespace?: string): void {
  stopWatch();
  if (kinds.length === 0) return void watched.set({ synced: true, connected: true, objects: empty(), appliedAt: performance.now() });
  let objects = empty();
  let seen = new Set<string>();
  let listing = true;
  let scheduled = false;
  const dirty = new Set<Kind>();
  // Maps are changed in place; a publish hands out fresh copies of the kinds that changed (components compare them).
  const snapshot = (): Collections => {
    const copy = { ...watched.value.objects };
    for (const kind of dirty) copy[kind] = new Map(objects[kind]);
    dirty.clear();
    return copy;
  };
  const publish = (): void => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      watched.set({ ...watched.value, objects: snapshot(), appliedAt: performance.now() });
    });
  };
  const apply = (type: string, obj: Resource): void => {
    const kind = KIND_OF[obj.kind];
    if (!kind) return;
    if (type === 'DELETED') objects[kind].delete(keyOf(obj));
    else objects[kind].set(keyOf(obj), obj);
    dirty.add(kind);
    if (listing) seen.add(`${kind}:${keyOf(obj)}`);
    else publish();
  };
  source = new EventSource(`/api/v1/watch?kind=${kinds.join(',')}${namespace ? `&namespace=${encodeURIComponent(namespace)}` : ''}`);
  source.onopen = () => {
    listing = true;
    seen = new Set();
    watched.set({ ...watched.value, connected: true });
  };
  source.onerror = () => watched.set({ ...watched.value, connected: false });
  for (const type of ['ADDED', 'MODIFIED', 'DELETED']) {
    source.addEventListener(type, (e) => apply(type, (JSON.parse((e as MessageEvent<string>).data) as { object: Resource }).object));
  }
  source.addEventListener('SYNCED', () => {
    listing = false;
    // What the new list did not name is gone (deleted while the stream was down).
    const kept = empty();
    for (const kind of Object.keys(objects) as Kind[]) {
      for (const [key, obj] of objects[kind]) if (seen.has(`${kind}:${key}`)) kept[kind].set(key, obj);
    }
    objects = kept;
    performance.mark('orion-watch-synced');
    for (const kind of Object.keys(objects) as Kind[]) dirty.add(kind);
    watched.set({ synced: true, connected: true, objects: snapshot(), appliedAt: performance.now() });
  });
}

export function stopWatch(): void {
  source?.close();
  source = undefined;
  watched.set({ synced: false, connected: false, objects: empty(), appliedAt: 0 });
}
