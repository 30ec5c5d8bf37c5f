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

/** An object as a writer asks for it: the server sets uid, resourceVersion, generation and timestamps. */
export interface NewObject {
  apiVersion: string;
  kind: KindName;
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: unknown;
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
   * Creates the object (schema defaults applied) and returns it as stored; folder mode writes it durably first.
   * AlreadyExistsError when the name is taken, InvalidObjectError when the schema refuses it.
   */
  create<T extends Resource>(obj: NewObject): Promise<T>;
  /**
   * Writes spec, labels and annotations (not status or finalizers); the generation moves when the spec changed.
   * `obj.metadata.resourceVersion` must be current (ConflictError); NotWritableError for a manifest file's object.
   */
  update<T extends Resource>(obj: T): Promise<T>;
  /**
   * Asks for the object's deletion: with finalizers it gets a deletionTimestamp and the controllers finish it;
   * without, it is gone. NotFoundError when absent (or its uid is not `uid`); NotWritableError as update().
   */
  delete(ref: ObjectRef, options?: { uid?: string }): Promise<void>;

  /**
   * Writes the status subresource. `obj.metadata.resourceVersion` must still be current:
   * otherwise a ConflictError is thrown and nothing is written.
   */
  updateStatus<T extends Resource>(obj: T, status: NonNullable<T['status']>): Promise<T>;
  addFinalizer<T extends Resource>(obj: T, finalizer: string): Promise<T>;
  /** Removes the finalizer; returns undefined when that released a deleted object. */
  removeFinalizer<T extends Resource>(obj: T, finalizer: string): Promise<T | undefined>;
  recordEvent(obj: Resource, event: EventInput): Promise<void>;
  /** Calls the handler for every Event this process records, as it is recorded; returns an unsubscribe function. */
  watchEvents(handler: (obj: Resource, event: EventInput) => void): () => void;

  /** The decoded data of a Secret, or undefined if it does not exist. */
  readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** Calls the handler when a Secret appears, changes or goes. */
  watchSecrets(handler: (namespace: string, name: string) => void): () => void;
}

export const FINALIZER = 'orion.lab/finalizer';
