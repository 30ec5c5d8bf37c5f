// `orion logs KIND/NAME -f`: follows the resource's run through the portal's stream (the same server-sent events
// a browser gets), reconnecting with Last-Event-ID where it stopped, until the event that carries the result.
import { logger } from '../telemetry/logger.js';

export interface FollowOptions {
  server: string;
  token: string;
  namespace: string;
  out: (text: string) => void;
  /** Stop reconnecting after this many failures in a row. */
  maxRetries?: number;
}

interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

/** Resolves with the run's final state (SUCCESS, ERROR, PENDING). */
export async function followLogs(plural: string, name: string, options: FollowOptions): Promise<string> {
  const url = `${options.server.replace(/\/$/, '')}/api/v1/namespaces/${encodeURIComponent(options.namespace)}/${plural}/${encodeURIComponent(name)}/log?follow=true`;
  let lastId: string | undefined;
  let failures = 0;
  for (;;) {
    try {
      const end = await streamOnce(url, options, lastId, (id) => (lastId = id));
      if (end) return end;
      failures = 0;
    } catch (err) {
      if (err instanceof FatalFollowError) throw err;
      failures += 1;
      if (failures > (options.maxRetries ?? 10)) throw err;
      logger.debug({ err: (err as Error).message }, 'log stream broke; resuming');
    }
    await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** failures)));
  }
}

class FatalFollowError extends Error {}

async function streamOnce(url: string, options: FollowOptions, lastId: string | undefined, onId: (id: string) => void): Promise<string | undefined> {
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${options.token}`, accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) },
  });
  if (!response.ok || !response.body) throw new FatalFollowError(await problemDetail(response));
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let split: number;
    while ((split = buffer.indexOf('\n\n')) >= 0) {
      const event = parseEvent(buffer.slice(0, split));
      buffer = buffer.slice(split + 2);
      if (!event) continue;
      if (event.id) onId(event.id);
      const end = printEvent(event, options.out);
      if (end) return end;
    }
  }
  return undefined;
}

/** Prints one event; returns the run's final state at the `end` event. */
function printEvent(event: SseEvent, out: (text: string) => void): string | undefined {
  if (event.event === 'end') {
    const end = safeJson(event.data) as { state?: string; message?: string } | undefined;
    out(`==> ${end?.state ?? 'ended'}${end?.message ? `: ${end.message}` : ''}\n`);
    return end?.state ?? 'ERROR';
  }
  if (event.event === 'pending') out('==> PENDING: waiting for the run to start\n');
  else if (event.event === 'message') out(`${event.data}\n`);
  return undefined;
}

async function problemDetail(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  return (safeJson(text) as { detail?: string } | undefined)?.detail ?? `HTTP ${response.status}`;
}

function parseEvent(block: string): SseEvent | undefined {
  const event: SseEvent = { event: 'message', data: '' };
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event.event = value;
    else if (field === 'id') event.id = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0 && event.event === 'message') return undefined;
  event.data = data.join('\n');
  return event;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
