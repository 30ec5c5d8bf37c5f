// Server-sent events: the headers that keep proxies from buffering (nginx: X-Accel-Buffering), a comment line as
// heartbeat so idle connections stay open through proxies, and messages with an id a client resumes from
// (Last-Event-ID). A client that stops reading is dropped rather than buffered without end.
import type { Request, Response } from 'express';

const HEARTBEAT_MS = 15_000;
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export interface SseMessage {
  event?: string;
  id?: string;
  data: string;
}

export class EventStream {
  private readonly heartbeat: NodeJS.Timeout;
  private readonly closers: Array<() => void> = [];
  private ended = false;

  constructor(
    req: Request,
    private readonly res: Response,
  ) {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('X-Accel-Buffering', 'no');
    res.setHeader('Connection', 'keep-alive');
    res.flushHeaders();
    res.write('retry: 2000\n\n');
    this.heartbeat = setInterval(() => this.write(': ping\n\n'), HEARTBEAT_MS);
    req.on('close', () => this.close());
  }

  get closed(): boolean {
    return this.ended;
  }

  send(message: SseMessage): void {
    const lines: string[] = [];
    if (message.event) lines.push(`event: ${message.event}`);
    if (message.id) lines.push(`id: ${message.id}`);
    for (const line of message.data.split(/\r\n|\r|\n/)) lines.push(`data: ${line}`);
    this.write(`${lines.join('\n')}\n\n`);
  }

  /** Called once when the stream ends, by either side. */
  onClose(fn: () => void): void {
    if (this.ended) fn();
    else this.closers.push(fn);
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.heartbeat);
    for (const fn of this.closers.splice(0)) fn();
    this.res.end();
  }

  private write(text: string): void {
    if (this.ended) return;
    if (this.res.writableLength > MAX_BUFFERED_BYTES) return this.close();
    this.res.write(text);
  }
}

/** Whether the client asked for a stream (EventSource sends this Accept), or for a follow explicitly. */
export function wantsStream(req: Request): boolean {
  return req.query.follow === 'true' || req.query.follow === '1' || (req.headers.accept ?? '').includes('text/event-stream');
}
