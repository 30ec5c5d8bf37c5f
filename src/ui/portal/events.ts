// The Events Orion records, live (/api/v1/events): kept for the admin's feed, and the ones that matter to a
// person now — a node died, a rental moved, a desktop is about to expire — raised as notifications.
import { Observable } from '../lib/observable.js';

export interface FeedEvent {
  seq: number;
  at: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  object: { kind: string; namespace: string; name: string };
}

export interface Notice {
  id: number;
  text: string;
  tone: 'warn' | 'info';
}

const KEEP = 300;
const NOTIFY = new Set(['NodeDead', 'Migrated', 'ExpiringSoon', 'IdleSoon', 'Expired', 'Unschedulable', 'NoHealthyNode', 'HostKeyChanged', 'PlaybookFailed', 'Failed']);

export const feed = new Observable<FeedEvent[]>([]);
export const notices = new Observable<Notice[]>([]);

let source: EventSource | undefined;

export function startFeed(): void {
  stopFeed();
  const openedAt = Date.now();
  source = new EventSource('/api/v1/events');
  source.addEventListener('event', (e) => {
    const event = JSON.parse((e as MessageEvent<string>).data) as FeedEvent;
    feed.set([event, ...feed.value].slice(0, KEEP));
    // The backlog sent on connecting is history, not news.
    if (Date.parse(event.at) >= openedAt - 2000 && (NOTIFY.has(event.reason) || event.type === 'Warning')) notify(event);
  });
}

export function stopFeed(): void {
  source?.close();
  source = undefined;
  feed.set([]);
  notices.set([]);
}

function notify(event: FeedEvent): void {
  const notice: Notice = { id: event.seq, text: `${event.object.kind} ${event.object.name}: ${event.message}`, tone: event.type === 'Warning' ? 'warn' : 'info' };
  notices.set([...notices.value, notice].slice(-5));
  // Warnings stay until dismissed (or pushed out by newer ones): nobody should miss one for reading slowly.
  if (notice.tone === 'info') setTimeout(() => dismiss(notice.id), 20_000);
}

export function dismiss(id: number): void {
  notices.set(notices.value.filter((n) => n.id !== id));
}
