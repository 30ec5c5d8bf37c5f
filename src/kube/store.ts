// Kubernetes mode: the Store over the API server. One informer per Orion kind (and one for Orion's own Secrets)
// fills a cache of frozen objects; other Secrets are read on demand, by name (secrets.ts); controllers read the cache synchronously. Writes go to the API with
// the object's resourceVersion as a precondition (a stale object gets a ConflictError, never an
// overwrite), and each write's response is cached at once so the next read sees it. A cluster-scoped kind (an
// admin-owned class) is listed, watched and written without `/namespaces/<ns>` whatever namespace the store watches,
// and its objects read with namespace ''.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { GROUP, VERSION } from '../api/group.js';
import { KINDS, isClusterScoped, kindDefinition } from '../api/kinds.js';
import { refKey, refOf, type ObjectRef } from '../api/refs.js';
import type { KindName, Resource } from '../api/types.js';
import { AlreadyExistsError, ConflictError, InvalidObjectError, NotFoundError } from '../store/errors.js';
import { logger } from '../telemetry/logger.js';
import { ObjectCache } from './cache.js';
import { KubeApiError, KubeClient, type KubeConnectOptions } from './client.js';
import { EventRecorder } from './events.js';
import { Informer, type InformerOptions, type RawObject } from './informer.js';
import { OwnSecretCache, SecretReader, type SecretReaderOptions } from './secrets.js';
import type { EventInput, NewObject, Store, WatchEvent } from '../store/store.js';
import { EventListeners, Watchers, type EventHandler } from '../store/watchers.js';

export interface KubeStoreOptions extends KubeConnectOptions {
  /** Watch one namespace; all namespaces when unset. */
  namespace?: string;
  /** An existing client (tests, benchmarks); otherwise one is made from the kubeconfig options. */
  client?: KubeClient;
  /** Kinds to watch (default: every Orion kind). */
  kinds?: readonly KindName[];
  /** Identity written as the Events' reportingInstance. */
  identity?: string;
  informer?: Pick<InformerOptions, 'watchTimeoutSeconds' | 'watchdogSeconds' | 'backoff'>;
  /** Bounds and freshness of the Secrets read on demand. */
  secrets?: SecretReaderOptions;
}

export class KubeStore implements Store {
  readonly mode = 'kube' as const;
  readonly client: KubeClient;
  readonly identity: string;
  private readonly caches = new Map<KindName, ObjectCache>();
  private readonly eventListeners = new EventListeners();
  private readonly watchers = new Watchers((err) => logger.error({ err: err.message }, 'watch handler failed'));
  readonly secrets: SecretReader;
  private readonly informers: Informer[] = [];
  private readonly events: EventRecorder;
  private starting?: Promise<void>;
  private ready = false;

  constructor(private readonly options: KubeStoreOptions = {}) {
    this.client = options.client ?? KubeClient.connect(options);
    this.identity = options.identity ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
    this.events = new EventRecorder({ client: this.client, reportingInstance: this.identity });
    this.secrets = new SecretReader(this.client, options.secrets);
    for (const kind of options.kinds ?? KINDS.map((k) => k.kind)) {
      this.caches.set(kind, new ObjectCache((event) => this.watchers.emit(event)));
    }
  }

  get synced(): boolean {
    return this.ready;
  }

  get namespace(): string | undefined {
    return this.options.namespace;
  }

  /** Starts the informers; resolves once every one has listed. Calling it again waits for the same start. */
  start(): Promise<void> {
    this.starting ??= this.startInformers();
    return this.starting;
  }

  async stop(): Promise<void> {
    this.secrets.stop();
    await Promise.all(this.informers.splice(0).map((i) => i.stop()));
    this.client.close();
    this.ready = false;
    this.starting = undefined;
  }

  get<T extends Resource>(ref: ObjectRef): T | undefined {
    return this.caches.get(ref.kind)?.get(refKey(ref)) as T | undefined;
  }

  list<T extends Resource>(kind: KindName, namespace?: string): T[] {
    const out: T[] = [];
    for (const obj of this.caches.get(kind)?.values() ?? []) {
      if (namespace === undefined || obj.metadata.namespace === namespace) out.push(obj as T);
    }
    return out;
  }

  watch(kind: KindName, handler: (event: WatchEvent) => void): () => void {
    return this.watchers.add(kind, handler);
  }

  watchSecrets(handler: (namespace: string, name: string) => void): () => void {
    return this.secrets.watch(handler);
  }

  async readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    return this.secrets.read(namespace, name);
  }

  /** A Secret Orion made for the owner with this uid (generated passwords), from the label-selected informer. */
  async readOwnSecret(namespace: string, name: string, ownerUid: string): Promise<Record<string, string> | undefined> {
    return this.secrets.readOwn(namespace, name, ownerUid);
  }

  async create<T extends Resource>(obj: NewObject): Promise<T> {
    const def = kindDefinition(obj.kind);
    const path = collectionPath(`/apis/${GROUP}/${VERSION}`, def.plural, obj.metadata.namespace);
    const body = { apiVersion: `${GROUP}/${VERSION}`, kind: obj.kind, metadata: obj.metadata, spec: obj.spec };
    const written = await this.write<T>(obj as unknown as Resource, { method: 'POST', path, verb: 'create', resource: def.plural, body });
    return this.cache(obj.kind).applyWrite(written) as T;
  }

  async update<T extends Resource>(obj: T): Promise<T> {
    const { apiVersion, kind, metadata, spec } = obj;
    const written = await this.write<T>(obj, { method: 'PUT', path: objectPath(obj), verb: 'update', resource: plural(obj), body: { apiVersion, kind, metadata, spec } });
    return this.cache(obj.kind).applyWrite(written) as T;
  }

  async delete(ref: ObjectRef, options: { uid?: string } = {}): Promise<void> {
    const obj = { kind: ref.kind, metadata: { namespace: ref.namespace, name: ref.name } } as Resource;
    const body = { kind: 'DeleteOptions', apiVersion: 'v1', ...(options.uid ? { preconditions: { uid: options.uid } } : {}) };
    const written = await this.write<Resource>(obj, { method: 'DELETE', path: objectPath(obj), verb: 'delete', resource: plural(obj), body });
    // With finalizers the server answers with the object, now carrying its deletionTimestamp; otherwise it is gone
    // and the informer's DELETED event removes it from the cache.
    if (written.metadata?.deletionTimestamp && (written.metadata.finalizers ?? []).length > 0) this.cache(ref.kind).applyWrite(written);
  }

  async updateStatus<T extends Resource>(obj: T, status: NonNullable<T['status']>): Promise<T> {
    const cached = this.get<T>(refOf(obj));
    const wanted = normalized(status);
    if (cached?.metadata.resourceVersion === obj.metadata.resourceVersion && isDeepStrictEqual(normalized(cached.status), wanted)) {
      return cached;
    }
    const written = await this.write<T>(obj, {
      method: 'PUT',
      path: `${objectPath(obj)}/status`,
      verb: 'update',
      resource: `${plural(obj)}/status`,
      body: { ...obj, status: wanted },
    });
    return this.cache(obj.kind).applyWrite(written) as T;
  }

  async addFinalizer<T extends Resource>(obj: T, finalizer: string): Promise<T> {
    const finalizers = obj.metadata.finalizers ?? [];
    if (finalizers.includes(finalizer) && this.isCurrent(obj)) return obj;
    return (await this.patchFinalizers(obj, [...finalizers.filter((f) => f !== finalizer), finalizer])) as T;
  }

  async removeFinalizer<T extends Resource>(obj: T, finalizer: string): Promise<T | undefined> {
    const finalizers = obj.metadata.finalizers ?? [];
    if (!finalizers.includes(finalizer) && this.isCurrent(obj)) return obj;
    try {
      const written = await this.patchFinalizers(obj, finalizers.filter((f) => f !== finalizer));
      return written as T | undefined;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined; // already gone
      throw err;
    }
  }

  async recordEvent(obj: Resource, event: EventInput): Promise<void> {
    await this.events.record(obj, event);
    this.eventListeners.emit(obj, event);
  }

  watchEvents(handler: EventHandler): () => void {
    return this.eventListeners.add(handler);
  }

  private async startInformers(): Promise<void> {
    const ns = this.options.namespace;
    for (const [kind, cache] of this.caches) {
      const def = kindDefinition(kind);
      const where = def.scope === 'Cluster' ? undefined : ns;
      this.informers.push(this.informer(collectionPath(`/apis/${GROUP}/${VERSION}`, def.plural, where), def.plural, {
        replace: (items) => cache.replace(items.map((i) => toResource(kind, i))),
        event: (type, object) => cache.applyEvent(type, toResource(kind, object)),
      }));
    }
    // Only Orion's own Secrets are listed and watched; others are read by name when a resource names them.
    this.informers.push(this.informer(collectionPath('/api/v1', 'secrets', ns), 'secrets', this.secrets.own, OwnSecretCache.selector));
    this.secrets.start();
    for (const informer of this.informers) informer.start();
    await Promise.all(this.informers.map((i) => i.synced));
    this.ready = true;
    logger.info({ namespace: ns ?? '(all)', kinds: [...this.caches.keys()] }, 'kubernetes store synced');
  }

  private informer(path: string, resource: string, sink: InformerOptions['sink'], labelSelector?: string): Informer {
    return new Informer({ client: this.client, path, resource, sink, labelSelector, ...this.options.informer });
  }

  private isCurrent(obj: Resource): boolean {
    return this.get(refOf(obj))?.metadata.resourceVersion === obj.metadata.resourceVersion;
  }

  /** Replaces the finalizer list, guarded by the object's resourceVersion (409 when it moved on). */
  private async patchFinalizers(obj: Resource, finalizers: string[]): Promise<Resource | undefined> {
    const written = await this.write<Resource>(obj, {
      method: 'PATCH',
      path: objectPath(obj),
      contentType: 'application/merge-patch+json',
      verb: 'patch',
      resource: plural(obj),
      body: { metadata: { resourceVersion: obj.metadata.resourceVersion, finalizers } },
    });
    const cache = this.cache(obj.kind);
    if (written.metadata.deletionTimestamp && (written.metadata.finalizers ?? []).length === 0) {
      cache.applyRelease(written);
      return undefined;
    }
    return cache.applyWrite(written);
  }

  private async write<T extends Resource>(
    obj: Resource,
    req: Omit<Parameters<KubeClient['request']>[0], 'body'> & { body: unknown },
  ): Promise<T> {
    try {
      return toResource(obj.kind, await this.client.request<RawObject>(req)) as T;
    } catch (err) {
      if (!(err instanceof KubeApiError)) throw err;
      const what = `${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}`;
      if (err.statusCode === 409 && err.reason === 'AlreadyExists') throw new AlreadyExistsError(`${what} already exists`);
      if (err.statusCode === 409) throw new ConflictError(`${what} was modified: ${err.message}`);
      if (err.statusCode === 404) throw new NotFoundError(`${what} not found`);
      if (err.statusCode === 422) throw new InvalidObjectError(err.message);
      throw err;
    }
  }

  private cache(kind: KindName): ObjectCache {
    const cache = this.caches.get(kind);
    if (!cache) throw new Error(`kind ${kind} is not watched by this store`);
    return cache;
  }
}

function plural(obj: Resource): string {
  return kindDefinition(obj.kind).plural;
}

function collectionPath(prefix: string, resource: string, namespace: string | undefined): string {
  return namespace ? `${prefix}/namespaces/${encodeURIComponent(namespace)}/${resource}` : `${prefix}/${resource}`;
}

function objectPath(obj: Resource): string {
  const base = collectionPath(`/apis/${GROUP}/${VERSION}`, plural(obj), obj.metadata.namespace);
  return `${base}/${encodeURIComponent(obj.metadata.name)}`;
}

/** An API object as the controllers see it: kind set (list items lack it), managedFields dropped, namespace '' when cluster-scoped. */
export function toResource(kind: KindName, raw: Record<string, unknown>): Resource {
  const metadata = { ...(raw.metadata as Record<string, unknown>) };
  delete metadata.managedFields;
  if (isClusterScoped(kind)) metadata.namespace = '';
  return { ...raw, apiVersion: `${GROUP}/${VERSION}`, kind, metadata } as unknown as Resource;
}

/** Status as the server stores it: undefined members dropped, so comparisons match what was written. */
function normalized(status: unknown): unknown {
  return status === undefined ? undefined : JSON.parse(JSON.stringify(status));
}
