// Follows one run's log as server-sent events: every line is a message whose id is `<run id>:<byte offset after
// the line>`, so a client that reconnects with Last-Event-ID gets exactly the lines it missed; when the run has
// ended and its log is read to the end, an `end` event carries the result and the stream closes. New lines are
// noticed through inotify (fs.watch), with a short poll as a safety net.
import { watch, type FSWatcher } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import type { RunInfo, RunReader } from '../../api/runs.js';
import type { EventStream } from './sse.js';

const POLL_MS = 250;
const CHUNK = 64 * 1024;

export interface FollowOptions {
  /** Byte offset to start from (a resumed stream). */
  from?: number;
  /** Stop following after this long even if the run has not ended (an `end` with its state then). */
  maxMs?: number;
}

export async function followRunLog(stream: EventStream, catalog: RunReader, run: RunInfo, options: FollowOptions = {}): Promise<void> {
  const file = await open(run.file, 'r');
  const follower = new LogFollower(stream, file, run.id, options.from ?? 0);
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  const deadline = Date.now() + (options.maxMs ?? 3_600_000);
  await new Promise<void>((resolve) => {
    const finish = (): void => {
      watcher?.close();
      clearInterval(timer);
      resolve();
    };
    stream.onClose(finish);
    const step = async (): Promise<void> => {
      await follower.readAvailable();
      const current = (await catalog.get(run.id)) ?? run;
      const ended = current.state === 'SUCCESS' || current.state === 'ERROR';
      if (!ended && Date.now() < deadline) return;
      await follower.readAvailable(true);
      stream.send({ event: 'end', id: `${run.id}:${follower.offset}`, data: JSON.stringify(endOf(current)) });
      stream.close();
    };
    const tick = (): void => void follower.serial(step).catch(() => stream.close());
    try {
      watcher = watch(run.file, { persistent: false }, tick);
      watcher.on('error', () => undefined);
    } catch {
      // no inotify for this file: the poll alone
    }
    timer = setInterval(tick, POLL_MS);
    tick();
  });
  await file.close();
}

function endOf(run: RunInfo): Record<string, unknown> {
  return { id: run.id, state: run.state, startedAt: run.startedAt, endedAt: run.endedAt ?? null, result: run.result ?? null, message: run.message ?? null };
}

/** Reads what was appended since the last read, sends whole lines (the last partial one at the end). */
class LogFollower {
  private readonly decoder = new StringDecoder('utf8');
  private readonly buffer = Buffer.alloc(CHUNK);
  private partial = '';
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly stream: EventStream,
    private readonly file: FileHandle,
    private readonly runId: string,
    /** Bytes read from the file so far. */
    private position: number,
  ) {
    this.lineStart = position;
  }

  /** Where the line not sent yet starts: the offset a client resumes from. */
  private lineStart: number;

  get offset(): number {
    return this.lineStart;
  }

  /** One step at a time: inotify and the poll may fire together. */
  serial(step: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(step);
    return this.chain;
  }

  async readAvailable(flushPartial = false): Promise<void> {
    for (;;) {
      const { bytesRead } = await this.file.read(this.buffer, 0, CHUNK, this.position);
      if (bytesRead === 0) break;
      this.position += bytesRead;
      this.take(this.buffer.subarray(0, bytesRead));
    }
    if (flushPartial && this.partial) {
      this.lineStart = this.position;
      this.stream.send({ id: `${this.runId}:${this.lineStart}`, data: this.partial });
      this.partial = '';
    }
  }

  private take(bytes: Buffer): void {
    const lines = (this.partial + this.decoder.write(bytes)).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      this.lineStart += Buffer.byteLength(line) + 1;
      this.stream.send({ id: `${this.runId}:${this.lineStart}`, data: line });
    }
  }
}

/** `<run id>:<offset>` from a Last-Event-ID, if it is one of ours. */
export function parseLogEventId(value: string | undefined): { runId: string; offset: number } | undefined {
  const match = /^(.+):(\d+)$/.exec(value ?? '');
  return match ? { runId: match[1] as string, offset: Number(match[2]) } : undefined;
}
