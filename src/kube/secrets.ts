// The Secrets Orion reads in Kubernetes mode, and no others (docs/kubernetes.md, "What Orion may do"):
//
// - Its own (generated passwords), made with the label orion.lab/owner-uid: an informer selects them by that label,
//   so the cache holds only Orion's Secrets, never the cluster's (OwnSecretCache).
// - Those a resource names (a Node's key, a Lab's or Desktop's key, token, CA, password): read on demand with `get`
//   and kept in a bounded cache (at most `maxEntries` Secrets and `maxBytes` of data, least recently read first out).
//   An entry is read again once it is older than `freshMs`, and a background pass re-reads the entries read within
//   `idleMs`, so that a Secret which appears or changes still wakes the controllers that wait for it (within
//   `freshMs`), at the cost of one `get` per cached Secret per `freshMs`.
//
// Nothing here logs a Secret's data.
import { isDeepStrictEqual } from 'node:util';
import type { KubeClient } from './client.js';
import type { InformerSink, RawObject } from './informer.js';
import { OWNER_UID_LABEL, getSecret, isOwnedBy, type SecretMetadata } from './owned-secrets.js';
import { logger } from '../telemetry/logger.js';

type SecretHandler = (namespace: string, name: string) => void;

/** Orion's own Secrets, fed by an informer selecting the label orion.lab/owner-uid. */
export class OwnSecretCache implements InformerSink {
  /** The label selector of its informer (state Secrets, read by their backend, stay out). */
  static readonly selector = OWNER_UID_LABEL;
  private readonly secrets = new Map<string, { data: Record<string, string>; metadata: SecretMetadata }>();

  constructor(private readonly notify: (key: string) => void) {}

  get(namespace: string, name: string): { data: Record<string, string>; metadata: SecretMetadata } | undefined {
    return this.secrets.get(`${namespace}/${name}`);
  }

  /** The names it holds ("namespace/name"): tests check that no one else's Secret is among them. */
  keys(): string[] {
    return [...this.secrets.keys()];
  }

  replace(items: RawObject[]): void {
    const listed = new Set<string>();
    for (const item of items) {
      listed.add(secretKey(item));
      this.event('ADDED', item);
    }
    for (const key of [...this.secrets.keys()]) {
      if (listed.has(key)) continue;
      this.secrets.delete(key);
      this.notify(key);
    }
  }

  event(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: RawObject): void {
    const key = secretKey(object);
    if (type === 'DELETED') {
      if (this.secrets.delete(key)) this.notify(key);
      return;
    }
    const data = decode(object.data);
    const metadata = object.metadata as SecretMetadata;
    const previous = this.secrets.get(key);
    this.secrets.set(key, { data, metadata: { name: metadata.name, labels: metadata.labels, ownerReferences: metadata.ownerReferences } });
    if (!isDeepStrictEqual(previous?.data, data)) this.notify(key);
  }
}

export interface SecretReaderOptions {
  /** Most Secrets kept from on-demand reads (default 512). */
  maxEntries?: number;
  /** Most bytes of Secret data kept from on-demand reads (default 16 MiB). */
  maxBytes?: number;
  /** How long a read is served from the cache before it is read again (default 30 s). */
  freshMs?: number;
  /** Entries not read for this long are no longer refreshed in the background, and dropped (default 1 h). */
  idleMs?: number;
}

interface Entry {
  namespace: string;
  name: string;
  data: Record<string, string> | undefined;
  resourceVersion: string | undefined;
  bytes: number;
  fetchedAt: number;
  readAt: number;
}

/** Serves readSecret: Orion's own Secrets from the informer, any other named Secret by `get`, cached with a bound. */
export class SecretReader {
  readonly own: OwnSecretCache;
  private readonly entries = new Map<string, Entry>(); // in least-recently-read order
  private readonly inFlight = new Map<string, Promise<Entry>>();
  private readonly watchers = new Set<SecretHandler>();
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly freshMs: number;
  private readonly idleMs: number;
  private bytes = 0;
  private timer?: NodeJS.Timeout;
  private refreshing = false;

  constructor(
    private readonly client: KubeClient,
    options: SecretReaderOptions = {},
  ) {
    this.own = new OwnSecretCache((key) => this.notify(key));
    this.maxEntries = options.maxEntries ?? 512;
    this.maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    this.freshMs = options.freshMs ?? 30_000;
    this.idleMs = options.idleMs ?? 60 * 60_000;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.refresh(), Math.max(100, Math.floor(this.freshMs / 2)));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  watch(handler: SecretHandler): () => void {
    this.watchers.add(handler);
    return () => this.watchers.delete(handler);
  }

  /** The decoded data of the Secret, or undefined when there is none. */
  async read(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const own = this.own.get(namespace, name);
    if (own) return { ...own.data };
    const key = `${namespace}/${name}`;
    let entry = this.entries.get(key);
    if (!entry || Date.now() - entry.fetchedAt >= this.freshMs) entry = await this.fetchOrKeep(namespace, name, entry);
    entry.readAt = Date.now();
    this.touch(key, entry);
    return entry.data ? { ...entry.data } : undefined;
  }

  /** Orion's own Secret for this owner (from the informer), or undefined: another's Secret of that name is not served. */
  async readOwn(namespace: string, name: string, ownerUid: string): Promise<Record<string, string> | undefined> {
    const own = this.own.get(namespace, name);
    return own && isOwnedBy(own, ownerUid) ? { ...own.data } : undefined;
  }

  /** What the on-demand cache holds ("namespace/name") and its size: tests check the bound. */
  cached(): { keys: string[]; bytes: number } {
    return { keys: [...this.entries.keys()], bytes: this.bytes };
  }

  /** A fresh read; when the API cannot answer, what was read before (as an informer's cache would serve it). */
  private async fetchOrKeep(namespace: string, name: string, previous: Entry | undefined): Promise<Entry> {
    try {
      return await this.fetch(namespace, name);
    } catch (err) {
      if (!previous) throw err;
      logger.warn({ secret: `${namespace}/${name}`, err: (err as Error).message }, 'cannot read a Secret again; using the one read before');
      return previous;
    }
  }

  private fetch(namespace: string, name: string): Promise<Entry> {
    const key = `${namespace}/${name}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.load(namespace, name).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async load(namespace: string, name: string): Promise<Entry> {
    const key = `${namespace}/${name}`;
    const secret = await getSecret<{ metadata: SecretMetadata; data?: unknown }>(this.client, namespace, name);
    const data = secret ? decode(secret.data) : undefined;
    const previous = this.entries.get(key);
    const entry: Entry = {
      namespace,
      name,
      data,
      resourceVersion: secret?.metadata.resourceVersion,
      bytes: data ? Object.entries(data).reduce((n, [k, v]) => n + k.length + v.length, 0) : 0,
      fetchedAt: Date.now(),
      readAt: previous?.readAt ?? Date.now(),
    };
    this.touch(key, entry);
    if (previous && (previous.resourceVersion !== entry.resourceVersion || (previous.data === undefined) !== (data === undefined))) this.notify(key);
    return entry;
  }

  /** Puts the entry last (most recently read) and evicts from the front while over a bound. */
  private touch(key: string, entry: Entry): void {
    const previous = this.entries.get(key);
    if (previous) {
      this.bytes -= previous.bytes;
      this.entries.delete(key);
    }
    this.entries.set(key, entry);
    this.bytes += entry.bytes;
    for (const [oldest, old] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      if (oldest === key) break; // never evict what is being read: a single Secret over maxBytes stays until the next
      this.entries.delete(oldest);
      this.bytes -= old.bytes;
    }
  }

  /** Re-reads the stale entries still in use, one after the other; drops the idle ones. */
  private async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      const now = Date.now();
      for (const [key, entry] of [...this.entries]) {
        if (now - entry.readAt >= this.idleMs) {
          this.entries.delete(key);
          this.bytes -= entry.bytes;
        } else if (now - entry.fetchedAt >= this.freshMs) {
          await this.fetch(entry.namespace, entry.name).catch((err: Error) => logger.warn({ secret: key, err: err.message }, 'cannot refresh a Secret'));
        }
      }
    } finally {
      this.refreshing = false;
    }
  }

  private notify(key: string): void {
    const [namespace = '', name = ''] = key.split('/');
    for (const handler of this.watchers) handler(namespace, name);
  }
}

function secretKey(obj: RawObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

function decode(data: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof data !== 'object' || data === null) return out;
  for (const [key, value] of Object.entries(data)) {
    if (typeof value === 'string') out[key] = Buffer.from(value, 'base64').toString('utf8');
  }
  return out;
}
