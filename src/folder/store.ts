// Folder mode: the Store over a watched folder of YAML manifests and a local state directory.
// Specs come from the files; status, finalizers, generation and events live in the state directory
// and survive restarts, so a resource whose file went away while Orion was stopped is still finalized.
// Objects created through the store (the portal's tenants) live in the state directory alone: the folder is the
// admin's. They are written durably before create() returns, survive restarts, and only delete() removes them
// (through their finalizers); a file that declares the same name is reported, never merged with them.
// (Over 300 lines: the two sources of objects share the commit/emit path, and splitting it would expose it.)
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { relative, resolve } from 'node:path';
import { keyOf, refKey, type ObjectRef } from '../api/refs.js';
import type { KindName, Resource } from '../api/types.js';
import { validateManifest, type Manifest } from '../api/validate.js';
import { digestOf } from '../base/hash.js';
import { AlreadyExistsError, ConflictError, InvalidObjectError, NotFoundError, NotWritableError } from '../store/errors.js';
import { deepFreeze } from '../store/freeze.js';
import type { EventInput, NewObject, RecordedEvent, Store, WatchEvent } from '../store/store.js';
import { EventListeners, Watchers, type EventHandler } from '../store/watchers.js';
import { logger } from '../telemetry/logger.js';
import { EventLog } from './event-log.js';
import { ManifestFolder, type DeclaredObject, type FolderSnapshot } from './manifest-folder.js';
import type { ManifestError } from './manifest-file.js';
import { StateDir, declarationsByFile, type StoredObject } from './state-dir.js';

export interface FolderStoreOptions {
  dir: string;
  stateDir?: string;
}

export function defaultStateDir(dir: string): string {
  return resolve(dir, '.orion');
}

export class FolderStore implements Store {
  readonly mode = 'folder' as const;
  readonly state: StateDir;
  private readonly objects = new Map<string, StoredObject>();
  private readonly events: EventLog;
  private readonly eventListeners = new EventListeners();
  private readonly watchers = new Watchers((err) => logger.error({ err: err.message }, 'watch handler failed'));
  private readonly secretWatchers = new Set<(namespace: string, name: string) => void>();
  private secrets = new Map<string, Record<string, string>>();
  private lastSnapshot?: FolderSnapshot;
  private revision = 0;
  private folder: ManifestFolder;
  private ready = false;
  invalid: ManifestError[] = [];

  constructor(options: FolderStoreOptions) {
    this.state = new StateDir(resolve(options.stateDir ?? defaultStateDir(options.dir)));
    this.events = new EventLog(this.state);
    this.folder = new ManifestFolder({
      dir: options.dir,
      ignore: [this.state.root],
      onSnapshot: (snapshot) => this.applySnapshot(snapshot),
      currentOwner: (key) => this.objects.get(key)?.source?.file,
      declaredBefore: () => declarationsByFile(this.objects.values()),
      onError: (err) => logger.error({ err: err.message }, 'manifest folder error'),
    });
  }

  get synced(): boolean {
    return this.ready;
  }

  async start(): Promise<void> {
    await this.state.lock();
    for (const obj of await this.state.loadObjects()) {
      this.revision = Math.max(this.revision, Number(obj.metadata.resourceVersion) || 0);
      const frozen = deepFreeze(obj);
      this.objects.set(keyOf(obj), frozen);
      // As an informer's first list does: whoever watches (a scheduler's index of Nodes) learns what was there.
      this.watchers.emit({ type: 'ADDED', object: frozen });
    }
    await this.folder.start();
    this.ready = true;
  }

  async stop(): Promise<void> {
    await this.folder.stop();
    await this.state.writer.flush();
    await this.state.unlock();
    this.ready = false;
  }

  /** Applies pending file changes now instead of after the debounce (tests, CLI). */
  flush(): Promise<void> {
    return this.folder.flush();
  }

  get<T extends Resource>(ref: ObjectRef): T | undefined {
    return this.objects.get(refKey(ref)) as T | undefined;
  }

  list<T extends Resource>(kind: KindName, namespace?: string): T[] {
    const out: T[] = [];
    for (const obj of this.objects.values()) {
      if (obj.kind === kind && (namespace === undefined || obj.metadata.namespace === namespace)) out.push(obj as unknown as T);
    }
    return out;
  }

  watch(kind: KindName, handler: (event: WatchEvent) => void): () => void {
    return this.watchers.add(kind, handler);
  }

  watchSecrets(handler: (namespace: string, name: string) => void): () => void {
    this.secretWatchers.add(handler);
    return () => this.secretWatchers.delete(handler);
  }

  async readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const data = this.secrets.get(`${namespace}/${name}`);
    return data ? { ...data } : undefined;
  }

  async create<T extends Resource>(obj: NewObject): Promise<T> {
    const manifest = validated(obj);
    const key = keyOf(manifest);
    const existing = this.objects.get(key);
    if (existing) {
      const why = existing.metadata.deletionTimestamp ? ' and is being deleted' : '';
      throw new AlreadyExistsError(`${manifest.kind} ${manifest.metadata.namespace}/${manifest.metadata.name} already exists${why}`);
    }
    const created: StoredObject = { ...this.newObject(manifest), apiCreated: true };
    await this.commit(created, 'ADDED');
    return created as unknown as T;
  }

  async update<T extends Resource>(obj: T): Promise<T> {
    const current = this.writable(this.current(obj));
    const manifest = validated({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: obj.metadata, spec: obj.spec });
    const specHash = digestOf(manifest.spec);
    const specChanged = specHash !== current.specHash;
    const { labels, annotations } = manifest.metadata;
    const next = this.bump(current, { spec: manifest.spec, specHash }, { labels, annotations, generation: current.metadata.generation + (specChanged ? 1 : 0) });
    if (!labels) delete next.metadata.labels;
    if (!annotations) delete next.metadata.annotations;
    await this.commit(next, 'MODIFIED');
    return next as unknown as T;
  }

  async delete(ref: ObjectRef, options: { uid?: string } = {}): Promise<void> {
    const current = this.objects.get(refKey(ref));
    if (!current || (options.uid !== undefined && current.metadata.uid !== options.uid)) {
      throw new NotFoundError(`${ref.kind} ${ref.namespace}/${ref.name} not found`);
    }
    this.writable(current);
    if (current.metadata.deletionTimestamp) return;
    if ((current.metadata.finalizers ?? []).length === 0) return this.release(current);
    await this.commit(this.bump(current, {}, { deletionTimestamp: new Date().toISOString() }), 'MODIFIED');
  }

  /** Objects of manifest files change with their file only. */
  private writable(obj: StoredObject): StoredObject {
    if (obj.apiCreated) return obj;
    const file = obj.source ? ` in ${displayPath(obj.source.file)}` : '';
    throw new NotWritableError(`${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name} is declared${file}: change or delete it there`);
  }

  async updateStatus<T extends Resource>(obj: T, status: NonNullable<T['status']>): Promise<T> {
    const current = this.current(obj);
    if (isDeepStrictEqual(current.status, status)) return current as unknown as T;
    const next = this.bump(current, { status: structuredClone(status) });
    await this.commit(next, 'MODIFIED', true);
    return next as unknown as T;
  }

  async addFinalizer<T extends Resource>(obj: T, finalizer: string): Promise<T> {
    const current = this.current(obj);
    const finalizers = current.metadata.finalizers ?? [];
    if (finalizers.includes(finalizer)) return current as unknown as T;
    const next = this.bump(current, {}, { finalizers: [...finalizers, finalizer] });
    await this.commit(next, 'MODIFIED', true);
    return next as unknown as T;
  }

  async removeFinalizer<T extends Resource>(obj: T, finalizer: string): Promise<T | undefined> {
    const current = this.current(obj);
    const finalizers = (current.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    if (current.metadata.deletionTimestamp && finalizers.length === 0) {
      await this.release(current);
      if (this.lastSnapshot) await this.applySnapshot(this.lastSnapshot); // re-created if still declared
      return undefined;
    }
    if (finalizers.length === (current.metadata.finalizers ?? []).length) return current as unknown as T;
    const next = this.bump(current, {}, { finalizers });
    await this.commit(next, 'MODIFIED', true);
    return next as unknown as T;
  }

  async recordEvent(obj: Resource, event: EventInput): Promise<void> {
    const key = keyOf(obj);
    if (!this.objects.has(key)) return;
    await this.events.record(key, obj, event);
    this.eventListeners.emit(obj, event);
  }

  watchEvents(handler: EventHandler): () => void {
    return this.eventListeners.add(handler);
  }

  eventsOf(obj: Resource): RecordedEvent[] {
    return this.events.of(keyOf(obj));
  }

  private current(obj: Resource): StoredObject {
    const current = this.objects.get(keyOf(obj));
    if (!current) throw new NotFoundError(`${keyOf(obj)} not found`);
    if (current.metadata.resourceVersion !== obj.metadata.resourceVersion) {
      throw new ConflictError(
        `${keyOf(obj)} was modified (resourceVersion ${obj.metadata.resourceVersion} is now ${current.metadata.resourceVersion})`,
      );
    }
    return current;
  }

  /** A new version of the object with a fresh resourceVersion; the cache holds it at once. */
  private bump(current: StoredObject, changes: Partial<StoredObject>, meta: Partial<StoredObject['metadata']> = {}): StoredObject {
    const next: StoredObject = {
      ...current,
      ...changes,
      metadata: { ...current.metadata, ...meta, resourceVersion: String(++this.revision) },
    };
    return next;
  }

  /** `ownWrite`: a write through this store (status, finalizers), not a change of the manifests. */
  private async commit(next: StoredObject, type: 'ADDED' | 'MODIFIED', ownWrite = false): Promise<void> {
    const frozen = deepFreeze(next);
    this.objects.set(keyOf(next), frozen);
    await this.state.saveObject(frozen);
    this.watchers.emit({ type, object: frozen, ...(ownWrite ? { ownWrite } : {}) });
  }

  private async release(obj: StoredObject): Promise<void> {
    this.objects.delete(keyOf(obj));
    this.events.forget(keyOf(obj));
    await this.state.removeObject(obj);
    this.watchers.emit({ type: 'DELETED', object: obj });
  }

  /** Brings the objects in line with what the files declare. */
  private async applySnapshot(snapshot: FolderSnapshot): Promise<void> {
    this.lastSnapshot = snapshot;
    const declaredOverApi = [...snapshot.objects].filter(([key]) => this.objects.get(key)?.apiCreated);
    this.reportInvalid([...snapshot.errors, ...declaredOverApi.map(([key, d]) => apiNameTaken(key, d))]);
    this.applySecrets(snapshot.secrets);
    const writes: Promise<void>[] = [];
    for (const [key, declared] of snapshot.objects) {
      if (!this.objects.get(key)?.apiCreated) writes.push(this.applyDeclared(key, declared));
    }
    for (const [key, obj] of this.objects) {
      if (snapshot.objects.has(key) || obj.apiCreated) continue;
      // Deleted only when its file is gone or read valid without it; a damaged or unread file's objects stay (ADR 17).
      if (obj.source && !snapshot.settledFiles.has(resolve(obj.source.file))) continue;
      writes.push(this.applyRemoved(obj));
    }
    await Promise.all(writes);
  }

  private async applyDeclared(key: string, declared: DeclaredObject): Promise<void> {
    const { manifest, file } = declared;
    const current = this.objects.get(key);
    const specHash = digestOf(manifest.spec);
    const labels = manifest.metadata.labels;
    const annotations = manifest.metadata.annotations;
    // Finishing its deletion first; its labels and annotations still follow the file, as metadata of a terminating
    // object does in Kubernetes (an admin's orion.lab/abandon-cleanup on a Node that cannot be cleaned).
    if (current?.metadata.deletionTimestamp) return this.applyTerminatingMetadata(current, labels, annotations);
    if (!current) return this.commit({ ...this.newObject(manifest), source: { file } }, 'ADDED');
    const sameMeta = isDeepStrictEqual(current.metadata.labels, labels) && isDeepStrictEqual(current.metadata.annotations, annotations);
    if (current.specHash === specHash && sameMeta && current.source?.file === file) return;
    const specChanged = current.specHash !== specHash;
    const next = this.bump(
      current,
      { spec: specChanged ? manifest.spec : current.spec, specHash, source: { file } },
      { labels, annotations, generation: current.metadata.generation + (specChanged ? 1 : 0) },
    );
    if (!labels) delete next.metadata.labels;
    if (!annotations) delete next.metadata.annotations;
    return this.commit(next, 'MODIFIED');
  }

  private async applyTerminatingMetadata(current: StoredObject, labels?: Record<string, string>, annotations?: Record<string, string>): Promise<void> {
    if (isDeepStrictEqual(current.metadata.labels, labels) && isDeepStrictEqual(current.metadata.annotations, annotations)) return;
    const next = this.bump(current, {}, { labels, annotations });
    if (!labels) delete next.metadata.labels;
    if (!annotations) delete next.metadata.annotations;
    return this.commit(next, 'MODIFIED');
  }

  private newObject(manifest: Manifest): StoredObject {
    const { labels, annotations } = manifest.metadata;
    return {
      apiVersion: manifest.apiVersion,
      kind: manifest.kind,
      metadata: {
        name: manifest.metadata.name,
        namespace: manifest.metadata.namespace,
        uid: randomUUID(),
        generation: 1,
        resourceVersion: String(++this.revision),
        creationTimestamp: new Date().toISOString(),
        ...(labels ? { labels } : {}),
        ...(annotations ? { annotations } : {}),
      },
      spec: manifest.spec,
      specHash: digestOf(manifest.spec),
    };
  }

  private async applyRemoved(obj: StoredObject): Promise<void> {
    if (obj.metadata.deletionTimestamp) return;
    if ((obj.metadata.finalizers ?? []).length === 0) return this.release(obj);
    const next = this.bump(obj, {}, { deletionTimestamp: new Date().toISOString() });
    return this.commit(next, 'MODIFIED');
  }

  private applySecrets(next: Map<string, Record<string, string>>): void {
    const changed = new Set<string>();
    for (const [key, data] of next) if (!isDeepStrictEqual(this.secrets.get(key), data)) changed.add(key);
    for (const key of this.secrets.keys()) if (!next.has(key)) changed.add(key);
    this.secrets = next;
    for (const key of changed) {
      const [namespace = '', name = ''] = key.split('/');
      for (const handler of this.secretWatchers) handler(namespace, name);
    }
  }

  private reportInvalid(errors: ManifestError[]): void {
    const before = JSON.stringify(this.invalid);
    this.invalid = errors;
    if (JSON.stringify(errors) === before) return;
    for (const err of errors) logger.error({ file: err.file, line: err.line, field: err.field }, `invalid manifest: ${err.message}`);
    void this.state.saveInvalid(errors);
  }
}

/** A new or updated object as the schema has it (defaults applied), or InvalidObjectError. */
function validated(obj: NewObject): Manifest {
  const result = validateManifest(obj);
  if (result.ok) return result.value;
  const fields = result.errors.map((e) => ({ field: e.field, message: e.message }));
  throw new InvalidObjectError(fields.map((f) => (f.field ? `${f.field}: ${f.message}` : f.message)).join('; '), fields);
}

function apiNameTaken(key: string, declared: DeclaredObject): ManifestError {
  return { file: displayPath(declared.file), line: 1, field: 'metadata.name', message: `${key} was created through the portal; ignored here` };
}

function displayPath(file: string): string {
  return relative(process.cwd(), file) || file;
}
