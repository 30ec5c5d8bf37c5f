// Events in Kubernetes mode: events.k8s.io/v1 Events about Orion's objects. The first occurrence is
// created; repeats are counted in memory and written as the Event's `series` at most once per
// interval, so a flapping condition cannot flood the API server. Recording never fails a reconcile.
import { randomBytes } from 'node:crypto';
import { keyOf } from '../api/refs.js';
import type { Resource } from '../api/types.js';
import { logger } from '../telemetry/logger.js';
import { KubeApiError, type KubeClient } from './client.js';
import type { EventInput } from '../store/store.js';

export const REPORTING_CONTROLLER = 'orion.lab/orion';
const NOTE_MAX = 1024;
const MAX_TRACKED = 5000;

interface Occurrence {
  namespace: string;
  name: string;
  count: number;
  lastWriteAt: number;
}

export interface EventRecorderOptions {
  client: KubeClient;
  reportingInstance: string;
  /** Shortest time between two writes of the same repeating event. */
  seriesIntervalMs?: number;
}

export class EventRecorder {
  private readonly recent = new Map<string, Occurrence>();
  private readonly interval: number;

  constructor(private readonly options: EventRecorderOptions) {
    this.interval = options.seriesIntervalMs ?? 60_000;
  }

  async record(obj: Resource, input: EventInput): Promise<void> {
    const note = input.message.slice(0, NOTE_MAX);
    const log = input.type === 'Warning' ? logger.warn.bind(logger) : logger.info.bind(logger);
    log({ resource: keyOf(obj), reason: input.reason }, note);
    const key = `${obj.metadata.uid}|${input.type}|${input.reason}|${note}`;
    const seen = this.recent.get(key);
    try {
      if (!seen) return await this.create(key, obj, input, note);
      seen.count += 1;
      if (Date.now() - seen.lastWriteAt < this.interval) return;
      await this.writeSeries(key, seen, obj, input, note);
    } catch (err) {
      logger.warn({ err: (err as Error).message, reason: input.reason }, 'could not record event');
    }
  }

  private async create(key: string, obj: Resource, input: EventInput, note: string): Promise<void> {
    const name = `${obj.metadata.name}.${randomBytes(8).toString('hex')}`;
    // A cluster-scoped object's Events live in "default", as Kubernetes files them.
    const namespace = obj.metadata.namespace || 'default';
    this.track(key, { namespace, name, count: 1, lastWriteAt: Date.now() });
    await this.options.client.request({
      method: 'POST',
      path: `/apis/events.k8s.io/v1/namespaces/${namespace}/events`,
      verb: 'create',
      resource: 'events',
      body: {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name, namespace },
        eventTime: microTime(new Date()),
        reportingController: REPORTING_CONTROLLER,
        reportingInstance: this.options.reportingInstance.slice(0, 128),
        action: input.reason,
        reason: input.reason,
        type: input.type,
        note,
        regarding: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.metadata.name,
          ...(obj.metadata.namespace ? { namespace } : {}),
          uid: obj.metadata.uid,
          resourceVersion: obj.metadata.resourceVersion,
        },
      },
    });
  }

  private async writeSeries(key: string, seen: Occurrence, obj: Resource, input: EventInput, note: string): Promise<void> {
    seen.lastWriteAt = Date.now();
    try {
      await this.options.client.request({
        method: 'PATCH',
        path: `/apis/events.k8s.io/v1/namespaces/${seen.namespace}/events/${seen.name}`,
        contentType: 'application/merge-patch+json',
        verb: 'patch',
        resource: 'events',
        body: { series: { count: seen.count, lastObservedTime: microTime(new Date()) } },
      });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.statusCode === 404)) throw err;
      this.recent.delete(key); // the Event expired on the server: start a new one
      await this.create(key, obj, input, note);
    }
  }

  private track(key: string, occurrence: Occurrence): void {
    this.recent.delete(key);
    this.recent.set(key, occurrence);
    if (this.recent.size > MAX_TRACKED) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
