// The watch handlers of a store, per kind: both stores fan their changes out the same way. A handler that throws
// is reported and does not keep the others from hearing of the change.
import type { KindName, Resource } from '../api/types.js';
import type { EventInput, WatchEvent } from './store.js';

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

/** A recorded Event as it happens, with the object it is about (the portal's live feed of events). */
export type EventHandler = (obj: Resource, event: EventInput) => void;

/** The handlers of recorded Events: both stores tell them of each Event they record. */
export class EventListeners {
  private readonly handlers = new Set<EventHandler>();

  add(handler: EventHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  emit(obj: Resource, event: EventInput): void {
    for (const handler of this.handlers) {
      try {
        handler(obj, event);
      } catch {
        // a listener's failure is its own
      }
    }
  }
}
