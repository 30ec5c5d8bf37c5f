// One process tree in its own mount+pid namespace, and the guarantees that it dies with us.
//
//   node ─ setpriv --pdeathsig KILL ─exec→ unshare --fork --kill-child ─ bash (pid 1 inside) ─exec→ sshd
//
// - `setpriv --pdeathsig KILL`: unshare is SIGKILLed when this process dies, however it dies.
// - `unshare --kill-child`: the namespace's pid 1 is SIGKILLed when unshare dies.
// - when pid 1 of a pid namespace dies, the kernel kills everything else in it.
// unshare ignores SIGTERM while it waits, so a graceful stop signals pid 1 (by its host pid) instead.
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';

/** What this module needs of an execa subprocess. */
type Subprocess = PromiseLike<unknown> & { pid?: number };

const INIT_PID_TIMEOUT_MS = 5_000;
const INIT_PID_POLL_MS = 5;

export class NamespaceProcess {
  /** Host pid of unshare. */
  readonly unsharePid: number;
  /** Resolves when unshare has exited, i.e. when everything in the namespace is gone. */
  readonly exited: Promise<void>;
  private initPid: number | undefined;
  private done = false;

  private constructor(child: Subprocess) {
    if (child.pid === undefined) throw new Error('unshare did not start');
    this.unsharePid = child.pid;
    live.add(this);
    this.exited = Promise.resolve(child).then(
      () => this.markExited(),
      () => this.markExited(),
    );
  }

  /** Starts `argv` as pid 1 of new mount and pid namespaces; its stdout and stderr append to `logPath`. */
  static spawn(argv: string[], logPath: string): NamespaceProcess {
    registerExitHook();
    // execa's types only list descriptors 3..9; any open descriptor works (it goes to spawn's stdio).
    const logFd = openSync(logPath, 'a', 0o600) as 3;
    try {
      const child = execa(
        'setpriv',
        ['--pdeathsig', 'KILL', '--', 'unshare', '--mount', '--pid', '--fork', '--mount-proc',
          '--propagation', 'private', '--kill-child', '--', ...argv],
        { stdin: 'ignore', stdout: logFd, stderr: logFd, reject: false, cleanup: false },
      );
      return new NamespaceProcess(child);
    } finally {
      closeSync(logFd);
    }
  }

  get alive(): boolean {
    return !this.done;
  }

  /** Host pid of the namespace's pid 1 (for nsenter and signals); waits until unshare has forked it. */
  async hostInitPid(): Promise<number> {
    const deadline = Date.now() + INIT_PID_TIMEOUT_MS;
    while (this.initPid === undefined) {
      if (this.done) throw new Error('the namespace exited before its first process started');
      if (Date.now() > deadline) throw new Error('unshare did not fork its first process in time');
      this.initPid = await readFirstChild(this.unsharePid);
      if (this.initPid === undefined) await sleep(INIT_PID_POLL_MS);
    }
    return this.initPid;
  }

  /** Signals pid 1 of the namespace (falls back to unshare before pid 1 is known). */
  signal(sig: NodeJS.Signals): void {
    if (this.done) return;
    const target = this.initPid ?? (sig === 'SIGKILL' ? this.unsharePid : undefined);
    if (target !== undefined) trySignal(target, sig);
  }

  /**
   * SIGKILLs pid 1: the kernel kills the rest of the namespace, and unshare exits once all of it is gone
   * (so `exited` means the listening socket is closed). Before pid 1 is known, SIGKILLs unshare instead.
   */
  killNow(): void {
    if (this.done) return;
    trySignal(this.initPid ?? this.unsharePid, 'SIGKILL');
  }

  /** Last resort, for process exit: SIGKILL pid 1 and unshare at once, without waiting. */
  killAllNow(): void {
    if (this.done) return;
    if (this.initPid !== undefined) trySignal(this.initPid, 'SIGKILL');
    trySignal(this.unsharePid, 'SIGKILL');
  }

  /** Waits for exit; false when it did not happen within `timeoutMs`. */
  async waitExit(timeoutMs: number): Promise<boolean> {
    const timeout = sleep(timeoutMs, false, { ref: false });
    return Promise.race([this.exited.then(() => true), timeout]);
  }

  private markExited(): void {
    this.done = true;
    live.delete(this);
  }
}

async function readFirstChild(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  const first = Number.parseInt(text.trim().split(/\s+/)[0] ?? '', 10);
  return Number.isInteger(first) && first > 0 ? first : undefined;
}

function trySignal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

const live = new Set<NamespaceProcess>();
let exitHookRegistered = false;

/** On a normal exit of this process, kill every namespace still running (pdeathsig covers crashes). */
function registerExitHook(): void {
  if (exitHookRegistered) return;
  exitHookRegistered = true;
  process.on('exit', () => {
    for (const ns of live) ns.killAllNow();
  });
}
