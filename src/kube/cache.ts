// The cache of one kind in Kubernetes mode. It is fed by two sources that can arrive out of order:
// the informer's events and the responses of Orion's own writes. resourceVersions are opaque strings,
// compared only for equality: the cache keeps the newest object by arrival, except that an object whose
// resourceVersion was already seen for that key is old news (the informer catching up on a write whose
// result is already cached) and never replaces what is there.
import { keyOf } from '../api/refs.js';
import type { Resource } from '../api/types.js';
import { deepFreeze } from '../store/freeze.js';
import type { WatchEvent } from '../store/store.js';

/** How many recent resourceVersions are remembered per object. */
const SEEN_PER_OBJECT = 32;

export class ObjectCache<T extends Resource = Resource> {
  private readonly objects = new Map<string, T>();
  private readonly seen = new Map<string, string[]>();
  /** Objects released by Orion's own write whose DELETED event has not arrived yet: key → uid. */
  private readonly released = new Map<string, string>();

  constructor(private readonly emit: (event: WatchEvent) => void) {}

  get size(): number {
    return this.objects.size;
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  values(): IterableIterator<T> {
    return this.objects.values();
  }

  /** The result of a successful write: cached at once unless the cache already moved past it. */
  applyWrite(obj: T): T {
    const frozen = deepFreeze(obj);
    const key = keyOf(obj);
    const current = this.objects.get(key);
    const rv = obj.metadata.resourceVersion;
    if (current?.metadata.resourceVersion === rv) return current;
    if (this.wasSeen(key, rv)) return frozen;
    this.remember(key, rv);
    this.objects.set(key, frozen);
    this.emit({ type: current ? 'MODIFIED' : 'ADDED', object: frozen, ownWrite: true });
    return frozen;
  }

  /** A write released the object (last finalizer of a deleted object): gone from the cache now. */
  applyRelease(obj: T): void {
    const key = keyOf(obj);
    this.remember(key, obj.metadata.resourceVersion);
    const current = this.objects.get(key);
    if (!current) return;
    this.objects.delete(key);
    this.released.set(key, obj.metadata.uid);
    this.emit({ type: 'DELETED', object: current, ownWrite: true });
  }

  /** An informer event. */
  applyEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): void {
    const key = keyOf(obj);
    if (type === 'DELETED') return this.remove(key, obj);
    const rv = obj.metadata.resourceVersion;
    if (this.released.get(key) === obj.metadata.uid) return; // late news of an object already released
    this.released.delete(key);
    if (this.wasSeen(key, rv)) return;
    this.remember(key, rv);
    const current = this.objects.get(key);
    const frozen = deepFreeze(obj);
    this.objects.set(key, frozen);
    this.emit({ type: current ? 'MODIFIED' : 'ADDED', object: frozen });
  }

  /** A complete list: applies every item, and removes what the list no longer has. */
  replace(items: T[]): void {
    const listed = new Set<string>();
    for (const item of items) {
      listed.add(keyOf(item));
      this.applyEvent('ADDED', item);
    }
    for (const [key, obj] of [...this.objects]) if (!listed.has(key)) this.remove(key, obj);
    for (const key of [...this.released.keys()]) if (!listed.has(key)) this.released.delete(key);
  }

  private remove(key: string, obj: T): void {
    this.released.delete(key);
    const current = this.objects.get(key);
    if (current && current.metadata.uid !== obj.metadata.uid) return; // an older incarnation went
    this.seen.delete(key);
    if (!current) return;
    this.objects.delete(key);
    this.emit({ type: 'DELETED', object: current });
  }

  private wasSeen(key: string, rv: string): boolean {
    return this.seen.get(key)?.includes(rv) ?? false;
  }

  private remember(key: string, rv: string): void {
    const list = this.seen.get(key) ?? [];
    list.push(rv);
    if (list.length > SEEN_PER_OBJECT) list.splice(0, list.length - SEEN_PER_OBJECT);
    this.seen.set(key, list);
  }
}
