// The one interface controllers use to read and write resources, whatever the run mode.
import type { KindName, Resource } from '../api/types.js';
import type { ObjectRef } from '../api/refs.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent<T extends Resource = Resource> {
  type: WatchEventType;
  object: T;
  /** The change is a write this process made through the store (a status, a finalizer), not news from elsewhere. */
  ownWrite?: boolean;
}

export interface EventInput {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface RecordedEvent extends EventInput {
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
}

export interface Store {
  readonly mode: 'folder' | 'kube';
  /** Loads and starts watching; resolves once the cache has synced. */
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly synced: boolean;

  /** A copy of the cached object, or undefined. */
  get<T extends Resource>(ref: ObjectRef): T | undefined;
  list<T extends Resource>(kind: KindName, namespace?: string): T[];
  /** Calls the handler for every change of the kind; returns an unsubscribe function. */
  watch(kind: KindName, handler: (event: WatchEvent) => void): () => void;

  /**
   * Writes the status subresource. `obj.metadata.resourceVersion` must still be current:
   * otherwise a ConflictError is thrown and nothing is written.
   */
  updateStatus<T extends Resource>(obj: T, status: NonNullable<T['status']>): Promise<T>;
  addFinalizer<T extends Resource>(obj: T, finalizer: string): Promise<T>;
  /** Removes the finalizer; returns undefined when that released a deleted object. */
  removeFinalizer<T extends Resource>(obj: T, finalizer: string): Promise<T | undefined>;
  recordEvent(obj: Resource, event: EventInput): Promise<void>;

  /** The decoded data of a Secret, or undefined if it does not exist. */
  readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** Calls the handler when a Secret appears, changes or goes. */
  watchSecrets(handler: (namespace: string, name: string) => void): () => void;
}

export const FINALIZER = 'orion.lab/finalizer';
