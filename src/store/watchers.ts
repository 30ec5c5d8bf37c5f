// The watch handlers of a store, per kind: both stores fan their changes out the same way. A handler that throws
// is reported and does not keep the others from hearing of the change.
import type { KindName } from '../api/types.js';
import type { WatchEvent } from './store.js';

export type WatchHandler = (event: WatchEvent) => void;

export class Watchers {
  private readonly handlers = new Map<KindName, Set<WatchHandler>>();

  constructor(private readonly onError: (err: Error) => void) {}

  /** Adds a handler for the kind; returns the function that removes it. */
  add(kind: KindName, handler: WatchHandler): () => void {
    const set = this.handlers.get(kind) ?? new Set();
    set.add(handler);
    this.handlers.set(kind, set);
    return () => set.delete(handler);
  }

  emit(event: WatchEvent): void {
    for (const handler of this.handlers.get(event.object.kind) ?? []) {
      try {
        handler(event);
      } catch (err) {
        this.onError(err as Error);
      }
    }
  }
}
