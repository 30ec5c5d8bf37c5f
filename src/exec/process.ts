// The one way Orion spawns processes (Ansible, Terraform, ...): an argument array through execa, never a shell;
// the child leads its own process group so that a timeout or a cancel kills the whole tree (SIGTERM to the
// group, SIGKILL after a grace period); every line goes to a per-run log file (0600) and to the logger at debug;
// only the tail of each stream is kept in memory. A non-zero exit is a result, not an exception: the promise
// rejects only when the binary cannot be spawned at all.
//
// With `outputToLogFile` the child writes its stdout and stderr straight into the log file (a file descriptor,
// not a pipe) and Orion follows the file: a long run such as `tofu apply` then survives Orion's death (a pipe
// would kill it with SIGPIPE at its next write) and finishes, and its log is complete whatever happens to Orion.
import { closeSync, fstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { execa, type Options, type ResultPromise } from 'execa';
import { logger as rootLogger, type Logger } from '../telemetry/logger.js';

export interface RunOptions {
  cwd?: string;
  /** Variables added to the environment. With `inheritEnv: false` they are the whole environment. */
  env?: Record<string, string>;
  /** Inherit the parent's environment (default true). */
  inheritEnv?: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Created (mode 0600) or appended to; every stdout/stderr line is written here. */
  logFile: string;
  logger?: Logger;
  /** Time between SIGTERM and SIGKILL to the process group (default 5 s). */
  killGraceMs?: number;
  /**
   * The child writes stdout and stderr into the log file itself, so it outlives this process. Both streams are
   * then one: the result's `stderr` holds the tail of the combined output and `stdout` is empty.
   */
  outputToLogFile?: boolean;
}

export interface ProcessResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  cancelled: boolean;
}

/** Characters of each stream kept in memory (the tail). */
export const CAPTURE_LIMIT = 1024 * 1024;
const DEFAULT_KILL_GRACE_MS = 5000;

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
class LineLog {
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

/** Signals a whole process group; a group that is already gone is not an error. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

function pumpLines(stream: Readable | null, onLine: (line: string) => void): Promise<void> {
  if (!stream) return Promise.resolve();
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on('line', onLine);
  return new Promise((resolve) => lines.once('close', resolve));
}

function spawnError(file: string, result: { code?: string; message?: string }): Error {
  if (result.code === 'ENOENT') return new Error(`${file} not found on PATH`);
  return new Error(`cannot start ${file}: ${result.message ?? result.code ?? 'unknown error'}`);
}

interface Termination {
  timedOut: boolean;
  cancelled: boolean;
  dispose(): void;
}

/**
 * Arms the timeout and the abort signal. Either one sends SIGTERM to the group, then SIGKILL after the grace.
 * When the group leader exits, whatever is left of its group (orphaned grandchildren holding our pipes) is
 * killed too, so the run always ends with its whole tree.
 */
function armTermination(child: ResultPromise, opts: RunOptions, log: Logger): Termination {
  const pid = child.pid;
  const grace = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const timers: NodeJS.Timeout[] = [];
  const state: Termination = { timedOut: false, cancelled: false, dispose };
  const terminate = (why: 'timeout' | 'cancel'): void => {
    if (pid === undefined || state.timedOut || state.cancelled) return;
    if (why === 'timeout') state.timedOut = true;
    else state.cancelled = true;
    log.debug({ pid, why }, 'terminating process group');
    signalGroup(pid, 'SIGTERM');
    timers.push(setTimeout(() => signalGroup(pid, 'SIGKILL'), grace));
  };
  const onAbort = (): void => terminate('cancel');
  timers.push(setTimeout(() => terminate('timeout'), opts.timeoutMs));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  child.once('exit', () => {
    if (pid !== undefined) signalGroup(pid, 'SIGKILL');
  });
  function dispose(): void {
    for (const t of timers) clearTimeout(t);
    opts.signal?.removeEventListener('abort', onAbort);
  }
  return state;
}

/** `output`: the log file's descriptor the child writes to, or undefined for pipes. */
function startChild(file: string, args: string[], opts: RunOptions, output?: number): ResultPromise {
  // execa's types name only descriptors 1-9; at run time it hands any open descriptor to the child, as spawn does.
  const toFile = output as 3 | undefined;
  const options: Options = {
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: opts.inheritEnv ?? true,
    detached: true,
    cleanup: false,
    reject: false,
    buffer: false,
    stdin: 'ignore',
    stdout: toFile ?? 'pipe',
    stderr: toFile ?? 'pipe',
    windowsHide: true,
  };
  return execa(file, args, options) as ResultPromise;
}

/** Where a run's output goes: the log file, the logger (debug) and the in-memory tails. */
class RunOutput {
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

export async function runProcess(file: string, args: string[], opts: RunOptions): Promise<ProcessResult> {
  const log = (opts.logger ?? rootLogger).child({ cmd: file });
  const started = Date.now();
  if (opts.signal?.aborted) {
    return { exitCode: null, stdout: '', stderr: '', durationMs: 0, timedOut: false, cancelled: true };
  }
  const output = new RunOutput(new LineLog(opts.logFile), log);
  output.file.write(`# ${new Date(started).toISOString()} ${file} ${args.join(' ')}`);
  let child: ResultPromise;
  try {
    child = startChild(file, args, opts, await output.childOutput(opts.outputToLogFile ?? false));
  } catch (err) {
    await output.close();
    throw err;
  }
  output.attach(child);
  const termination = armTermination(child, opts, log);
  try {
    const result = await child;
    await output.drain();
    if (result.failed && result.exitCode === undefined && result.signal === undefined) {
      output.file.write(`# not started: ${result.code ?? result.shortMessage}`);
      throw spawnError(file, result);
    }
    const durationMs = Date.now() - started;
    const exitCode = result.exitCode ?? null;
    const how = termination.timedOut ? ' (timed out)' : termination.cancelled ? ' (cancelled)' : '';
    output.file.write(`# exit ${exitCode ?? result.signal ?? 'unknown'} after ${durationMs} ms${how}`);
    return {
      exitCode,
      stdout: output.stdout.text(),
      stderr: output.stderr.text(),
      durationMs,
      timedOut: termination.timedOut,
      cancelled: termination.cancelled,
    };
  } finally {
    termination.dispose();
    await output.close();
  }
}
