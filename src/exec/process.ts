// The one way Orion spawns processes (Ansible, Terraform, ...): an argument array through execa, never a shell;
// the child leads its own process group so that a timeout or a cancel kills the whole tree (SIGTERM to the
// group, SIGKILL after a grace period); every line goes to a per-run log file (0600) and to the logger at debug;
// only the tail of each stream is kept in memory (process-output.ts). A non-zero exit is a result, not an
// exception: the promise rejects only when the binary cannot be spawned at all.
//
// With `outputToLogFile` the child writes its stdout and stderr straight into the log file (a file descriptor,
// not a pipe) and Orion follows the file: a long run such as `tofu apply` then survives Orion's death (a pipe
// would kill it with SIGPIPE at its next write) and finishes, and its log is complete whatever happens to Orion.
import { execa, type Options, type ResultPromise } from 'execa';
import { logger as rootLogger, type Logger } from '../telemetry/logger.js';
import { LineLog, RunOutput } from './process-output.js';

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

const DEFAULT_KILL_GRACE_MS = 5000;

/** Signals a whole process group; a group that is already gone is not an error. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
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
