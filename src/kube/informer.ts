// One informer: lists a collection, then watches it from the list's resourceVersion, following
// bookmarks. A watch that the server ends is resumed from the last resourceVersion; 410 Gone means the
// version is too old, so the collection is listed again; a watch silent past the watchdog is torn down
// and resumed; other errors retry with capped exponential backoff. Never gives up until stopped.
import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../telemetry/logger.js';
import { KubeApiError, WatchAbortedError, WatchIdleError, type KubeClient, type WatchStream } from './client.js';

export type RawObject = Record<string, unknown> & { metadata: { name: string; namespace?: string; resourceVersion: string; uid: string } };

export interface InformerSink {
  /** The full collection after a (re)list. */
  replace(items: RawObject[]): void;
  event(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: RawObject): void;
}

export interface InformerOptions {
  client: KubeClient;
  /** Collection path, e.g. /apis/orion.lab/v1alpha1/rentals or /api/v1/namespaces/ns/secrets. */
  path: string;
  /** Resource name for metrics and logs. */
  resource: string;
  /** Only objects matching this label selector are listed and watched. */
  labelSelector?: string;
  sink: InformerSink;
  /** Server-side watch timeout; each watch gets a random value in [t, 2t) to spread reconnects. */
  watchTimeoutSeconds?: number;
  /** A watch with no event and no bookmark for this long is restarted. */
  watchdogSeconds?: number;
  backoff?: { initialMs: number; maxMs: number };
  pageSize?: number;
}

export class GoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoneError';
  }
}

const DEFAULT_BACKOFF = { initialMs: 200, maxMs: 30_000 };

export class Informer {
  private resourceVersion?: string;
  private stopped = false;
  private stream?: WatchStream;
  private loop?: Promise<void>;
  private readonly wake = new AbortController();
  private syncedResolve!: () => void;
  /** Resolves after the first complete list. */
  readonly synced: Promise<void>;
  hasSynced = false;
  private readonly log;

  constructor(private readonly options: InformerOptions) {
    this.synced = new Promise((resolve) => (this.syncedResolve = resolve));
    this.log = logger.child({ component: 'informer', resource: options.resource });
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake.abort();
    this.stream?.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const backoff = this.options.backoff ?? DEFAULT_BACKOFF;
    let delay = backoff.initialMs;
    while (!this.stopped) {
      try {
        if (this.resourceVersion === undefined) await this.list();
        delay = backoff.initialMs;
        await this.watchOnce();
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof GoneError) {
          this.log.info({ err: err.message }, 'resourceVersion expired; listing again');
          this.resourceVersion = undefined;
          continue;
        }
        if (err instanceof WatchIdleError) {
          this.log.warn({ err: err.message }, 'watch went silent; restarting it');
          continue;
        }
        this.log.warn({ err: (err as Error).message, retryInMs: delay }, 'list/watch failed; retrying');
        await sleep(delay, undefined, { signal: this.wake.signal }).catch(() => undefined);
        delay = Math.min(delay * 2, backoff.maxMs);
      }
    }
  }

  private async list(): Promise<void> {
    const items: RawObject[] = [];
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.options.client
        .request<{ items: RawObject[]; metadata: { resourceVersion: string; continue?: string } }>({
          method: 'GET',
          path: this.options.path,
          query: { limit: this.options.pageSize ?? 500, continue: continueToken, labelSelector: this.options.labelSelector },
          verb: 'list',
          resource: this.options.resource,
        })
        .catch((err: unknown) => {
          if (err instanceof KubeApiError && err.statusCode === 410) throw new GoneError(err.message);
          throw err;
        });
      items.push(...page.items);
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (continueToken && !this.stopped);
    if (this.stopped) return;
    this.options.sink.replace(items);
    this.resourceVersion = resourceVersion;
    if (!this.hasSynced) {
      this.hasSynced = true;
      this.syncedResolve();
      this.log.debug({ count: items.length }, 'synced');
    }
  }

  private async watchOnce(): Promise<void> {
    const timeout = this.options.watchTimeoutSeconds ?? 60;
    let gone: string | undefined;
    let failure: string | undefined;
    this.stream = await this.options.client.watch({
      path: this.options.path,
      resource: this.options.resource,
      query: {
        resourceVersion: this.resourceVersion,
        labelSelector: this.options.labelSelector,
        allowWatchBookmarks: true,
        timeoutSeconds: timeout + Math.floor(Math.random() * timeout),
      },
      idleTimeoutMs: (this.options.watchdogSeconds ?? 2 * timeout + 30) * 1000,
      onEvent: ({ type, object }) => {
        if (type === 'ERROR') {
          const status = object as { code?: number; message?: string };
          if (status.code === 410) gone = status.message ?? 'Gone';
          else failure = status.message ?? 'watch error';
          return;
        }
        const obj = object as RawObject;
        if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') this.options.sink.event(type, obj);
      },
    });
    if (this.stopped) this.stream.abort();
    try {
      await this.stream.done;
    } catch (err) {
      if (err instanceof WatchAbortedError && this.stopped) return;
      if (err instanceof KubeApiError && err.statusCode === 410) throw new GoneError(err.message);
      throw err;
    } finally {
      this.stream = undefined;
    }
    if (gone !== undefined) throw new GoneError(gone);
    if (failure !== undefined) throw new Error(failure);
  }
}
