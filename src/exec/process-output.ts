// Where a process's output goes: every line to the per-run log file (0600) and to the logger at debug, and the tail
// of each stream kept in memory for the result. The output comes through pipes, or, when the child writes into
// the log file itself (so that it outlives Orion), by following that file.
import { closeSync, fstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { ResultPromise } from 'execa';
import type { Logger } from '../telemetry/logger.js';

/** Characters of each stream kept in memory (the tail). */
export const CAPTURE_LIMIT = 1024 * 1024;

/** Keeps the last `limit` characters of a stream of lines. */
class TailBuffer {
  private readonly lines: string[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}

  push(line: string): void {
    this.lines.push(line);
    this.size += line.length + 1;
    while (this.size > this.limit && this.lines.length > 1) {
      this.size -= (this.lines.shift() ?? '').length + 1;
    }
  }

  text(): string {
    const joined = this.lines.join('\n');
    return joined.length > this.limit ? joined.slice(joined.length - this.limit) : joined;
  }
}

/** Appends lines to a log file opened once (0600); writes are synchronous so the log is complete on return. */
export class LineLog {
  readonly fd: number;
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.fd = openSync(path, 'a', 0o600);
  }
  write(line: string): void {
    writeSync(this.fd, line + '\n');
  }
  /** Bytes written so far (by anyone appending to the file). */
  size(): number {
    return fstatSync(this.fd).size;
  }
  close(): void {
    closeSync(this.fd);
  }
}

const FOLLOW_INTERVAL_MS = 200;

/** Reads what another process appends to a file, from `start`, line by line, until stopped. */
class FileFollower {
  private readonly decoder = new StringDecoder('utf8');
  private readonly buffer = Buffer.alloc(64 * 1024);
  private partial = '';
  private reading: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly file: FileHandle,
    private position: number,
    private readonly onLine: (line: string) => void,
  ) {
    this.timer = setInterval(() => void this.poll(), FOLLOW_INTERVAL_MS);
  }

  static async start(path: string, start: number, onLine: (line: string) => void): Promise<FileFollower> {
    return new FileFollower(await open(path, 'r'), start, onLine);
  }

  /**
   * Reads to the end once more (the writer has exited), flushes a last unterminated line, closes the file.
   * Returns whether the file ended mid-line.
   */
  async stop(): Promise<boolean> {
    clearInterval(this.timer);
    await this.poll();
    const last = this.partial + this.decoder.end();
    if (last) this.onLine(last);
    await this.file.close();
    return last !== '';
  }

  private poll(): Promise<void> {
    this.reading = this.reading.then(() => this.readAvailable()).catch(() => undefined);
    return this.reading;
  }

  private async readAvailable(): Promise<void> {
    for (;;) {
      const { bytesRead } = await this.file.read(this.buffer, 0, this.buffer.length, this.position);
      if (bytesRead === 0) return;
      this.position += bytesRead;
      const lines = (this.partial + this.decoder.write(this.buffer.subarray(0, bytesRead))).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
  }
}

function pumpLines(stream: Readable | null, onLine: (line: string) => void): Promise<void> {
  if (!stream) return Promise.resolve();
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on('line', onLine);
  return new Promise((resolve) => lines.once('close', resolve));
}

/** Where a run's output goes: the log file, the logger (debug) and the in-memory tails. */
export class RunOutput {
  readonly stdout = new TailBuffer(CAPTURE_LIMIT);
  readonly stderr = new TailBuffer(CAPTURE_LIMIT);
  private follower?: FileFollower;
  private pumped: Promise<unknown> = Promise.resolve();

  constructor(
    readonly file: LineLog,
    private readonly log: Logger,
  ) {}

  /** What the child's stdout and stderr are: the log file's descriptor (followed from here on), or pipes. */
  async childOutput(toLogFile: boolean): Promise<number | undefined> {
    if (!toLogFile) return undefined;
    this.follower = await FileFollower.start(this.file.path, this.file.size(), this.sink(this.stderr, 'stderr', false));
    return this.file.fd;
  }

  /** Reads the child's pipes (none when it writes to the log file itself). */
  attach(child: ResultPromise): void {
    this.pumped = Promise.all([
      pumpLines(child.stdout, this.sink(this.stdout, 'stdout', true)),
      pumpLines(child.stderr, this.sink(this.stderr, 'stderr', true)),
    ]);
  }

  /** Once the child has exited: everything it wrote has been read. */
  async drain(): Promise<void> {
    await this.pumped;
    await this.stopFollowing();
  }

  async close(): Promise<void> {
    await this.stopFollowing();
    this.file.close();
  }

  private async stopFollowing(): Promise<void> {
    const follower = this.follower;
    this.follower = undefined;
    // The child's last line had no newline: end it, so that our next line starts a line of its own.
    if (await follower?.stop()) this.file.write('');
  }

  private sink(tail: TailBuffer, stream: 'stdout' | 'stderr', toFile: boolean): (line: string) => void {
    return (line) => {
      tail.push(line);
      if (toFile) this.file.write(line);
      this.log.debug({ stream }, line);
    };
  }
}
