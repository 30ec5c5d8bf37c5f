// Events in folder mode: per object, the last 50, a repeat counted on its first occurrence (count,
// lastTimestamp) as kubectl shows them. Each is logged, and the list is kept in the state directory so that
// `orion get -o yaml` shows it after a restart.
import type { Resource } from '../api/types.js';
import type { EventInput, RecordedEvent } from '../store/store.js';
import { logger } from '../telemetry/logger.js';
import type { StateDir } from './state-dir.js';

const MAX_EVENTS_PER_OBJECT = 50;

export class EventLog {
  private readonly events = new Map<string, RecordedEvent[]>();

  constructor(private readonly state: StateDir) {}

  /** Records the event of the object known under `key`. */
  async record(key: string, obj: Resource, event: EventInput): Promise<void> {
    const now = new Date().toISOString();
    const list = this.events.get(key) ?? [];
    const same = list.find((e) => e.type === event.type && e.reason === event.reason && e.message === event.message);
    if (same) {
      same.count += 1;
      same.lastTimestamp = now;
    } else {
      list.push({ ...event, count: 1, firstTimestamp: now, lastTimestamp: now });
      if (list.length > MAX_EVENTS_PER_OBJECT) list.splice(0, list.length - MAX_EVENTS_PER_OBJECT);
    }
    this.events.set(key, list);
    const log = event.type === 'Warning' ? logger.warn.bind(logger) : logger.info.bind(logger);
    log({ resource: key, reason: event.reason }, event.message);
    await this.state.saveEvents(obj, list);
  }

  of(key: string): RecordedEvent[] {
    return [...(this.events.get(key) ?? [])];
  }

  /** The object is gone: its events go with it (the state directory's file is removed with the object). */
  forget(key: string): void {
    this.events.delete(key);
  }
}
