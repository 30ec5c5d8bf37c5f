// The one way Orion spawns processes (Ansible, Terraform, ...): an argument array through execa, never a shell;
// the child leads its own process group so that a timeout or a cancel kills the whole tree (SIGTERM to the
// group, SIGKILL after a grace period); every line goes to a per-run log file (0600) and to the logger at debug;
// only the tail of each stream is kept in memory. A non-zero exit is a result, not an exception: the promise
// rejects only when the binary cannot be spawned at all.
import { mkdirSync, openSync, closeSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { execa, type ResultPromise } from 'execa';
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
  private readonly fd: number;
  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.fd = openSync(path, 'a', 0o600);
  }
  write(line: string): void {
    writeSync(this.fd, line + '\n');
  }
  close(): void {
    closeSync(this.fd);
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

function startChild(file: string, args: string[], opts: RunOptions): ResultPromise {
  return execa(file, args, {
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: opts.inheritEnv ?? true,
    detached: true,
    cleanup: false,
    reject: false,
    buffer: false,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    windowsHide: true,
  });
}

export async function runProcess(file: string, args: string[], opts: RunOptions): Promise<ProcessResult> {
  const log = (opts.logger ?? rootLogger).child({ cmd: file });
  const started = Date.now();
  if (opts.signal?.aborted) {
    return { exitCode: null, stdout: '', stderr: '', durationMs: 0, timedOut: false, cancelled: true };
  }
  const out = new LineLog(opts.logFile);
  const stdout = new TailBuffer(CAPTURE_LIMIT);
  const stderr = new TailBuffer(CAPTURE_LIMIT);
  out.write(`# ${new Date(started).toISOString()} ${file} ${args.join(' ')}`);
  const child = startChild(file, args, opts);
  const termination = armTermination(child, opts, log);
  try {
    const pumped = Promise.all([
      pumpLines(child.stdout, (line) => {
        stdout.push(line);
        out.write(line);
        log.debug({ stream: 'stdout' }, line);
      }),
      pumpLines(child.stderr, (line) => {
        stderr.push(line);
        out.write(line);
        log.debug({ stream: 'stderr' }, line);
      }),
    ]);
    const result = await child;
    await pumped;
    if (result.failed && result.exitCode === undefined && result.signal === undefined) {
      out.write(`# not started: ${result.code ?? result.shortMessage}`);
      throw spawnError(file, result);
    }
    const durationMs = Date.now() - started;
    const exitCode = result.exitCode ?? null;
    const how = termination.timedOut ? ' (timed out)' : termination.cancelled ? ' (cancelled)' : '';
    out.write(`# exit ${exitCode ?? result.signal ?? 'unknown'} after ${durationMs} ms${how}`);
    return {
      exitCode,
      stdout: stdout.text(),
      stderr: stderr.text(),
      durationMs,
      timedOut: termination.timedOut,
      cancelled: termination.cancelled,
    };
  } finally {
    termination.dispose();
    out.close();
  }
}
