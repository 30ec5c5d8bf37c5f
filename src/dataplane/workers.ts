// The local SSH data plane: worker "hosts" that are real sshd processes on 127.0.0.1, each in its own
// mount and pid namespaces, with its own /etc (overlay: its own users), its own /home and its own /run.
// Used by the quickstart and by tests as the static inventory that Node and Rental controllers manage.
import { mkdir, open, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { logger } from '../telemetry/logger.js';
import { ensureKeyPair, readPublicKeyLine, replaceKeyPair } from './keys.js';
import { childDir, workerLayout, type WorkerLayout } from './layout.js';
import { NamespaceProcess } from './namespace-process.js';
import { answersWithSshBanner, assertPortFree } from './port.js';
import { assertDataPlaneSupported } from './preflight.js';
import { renderSshdConfig } from './sshd-config.js';
import { WORKER_INIT_SCRIPT, WORKER_PAM_SSHD, workerInitArgs } from './worker-init.js';

export { generateClientKeyPair, type ClientKeyPair } from './keys.js';

export interface WorkerSpec {
  /** A DNS label. */
  name: string;
  /** Port on 127.0.0.1. */
  port: number;
  /** Persistent directory of the worker (see WorkerLayout). */
  dir: string;
  /** Public keys ("ssh-ed25519 AAAA...") allowed to log in as root: the orchestrator's. */
  authorizedKeys: string[];
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

const READY_TIMEOUT_MS = 10_000;
const READY_POLL_MS = 25;
const STOP_TIMEOUT_MS = 5_000;
const EXEC_TIMEOUT_MS = 60_000;
const LOG_TAIL_BYTES = 2_048;

export class SshWorker {
  readonly name: string;
  readonly port: number;
  readonly dir: string;
  private readonly layout: WorkerLayout;
  private readonly authorizedKeys: string[];
  private ns: NamespaceProcess | undefined;
  private readonly log;

  constructor(spec: WorkerSpec) {
    assertPort(spec.port);
    this.layout = workerLayout(spec.name, spec.dir);
    this.name = spec.name;
    this.port = spec.port;
    this.dir = this.layout.dir;
    this.authorizedKeys = spec.authorizedKeys.map(assertPublicKeyLine);
    this.log = logger.child({ component: 'dataplane', worker: spec.name, port: spec.port });
  }

  get running(): boolean {
    return this.ns?.alive ?? false;
  }

  /** Starts sshd in fresh namespaces; resolves once 127.0.0.1:port answers with an SSH banner. */
  async start(): Promise<void> {
    if (this.running) return;
    await assertDataPlaneSupported();
    await this.prepareDir();
    await assertPortFree(this.port);
    const ns = NamespaceProcess.spawn(['bash', '-c', WORKER_INIT_SCRIPT, 'worker-init', ...workerInitArgs(this.layout)], this.layout.logPath);
    this.ns = ns;
    try {
      await this.waitUntilReady(ns);
    } catch (err) {
      await this.kill();
      throw err;
    }
    this.log.info({ unsharePid: ns.unsharePid, initPid: await ns.hostInitPid() }, 'worker started');
  }

  /** SIGTERM to the namespace's sshd, then SIGKILL after a timeout; resolves once everything in it is gone. */
  async stop(): Promise<void> {
    const ns = this.ns;
    if (!ns?.alive) return;
    ns.signal('SIGTERM');
    if (!(await ns.waitExit(STOP_TIMEOUT_MS))) {
      this.log.warn('worker ignored SIGTERM; killing it');
      await this.kill();
      return;
    }
    this.log.info('worker stopped');
  }

  /** SIGKILL to the whole namespace: how a node "dies" in tests. */
  async kill(): Promise<void> {
    const ns = this.ns;
    if (!ns?.alive) return;
    ns.killNow();
    if (!(await ns.waitExit(STOP_TIMEOUT_MS))) {
      ns.killAllNow();
      if (!(await ns.waitExit(STOP_TIMEOUT_MS))) throw new Error(`worker ${this.name} did not exit after SIGKILL`);
    }
    this.log.info('worker killed');
  }

  /** "ssh-ed25519 AAAA..." of the host key (made at first start, or now if it does not exist yet). */
  async hostPublicKey(): Promise<string> {
    await mkdir(this.layout.dir, { recursive: true, mode: 0o700 });
    await ensureKeyPair(this.layout.hostKeyPath, `orion-worker-${this.name}`);
    return readPublicKeyLine(`${this.layout.hostKeyPath}.pub`);
  }

  /** Replaces the host key; a running sshd keeps the old one until its next start. */
  async rotateHostKey(): Promise<void> {
    await mkdir(this.layout.dir, { recursive: true, mode: 0o700 });
    await replaceKeyPair(this.layout.hostKeyPath, `orion-worker-${this.name}`);
  }

  /** Runs `argv` inside the worker's mount and pid namespaces (e.g. ['id', 'alice']). */
  async exec(argv: string[]): Promise<ExecResult> {
    const ns = this.ns;
    if (!ns?.alive) throw new Error(`worker ${this.name} is not running`);
    if (argv.length === 0) throw new Error('exec needs a command');
    const pid = await ns.hostInitPid();
    const result = await execa('nsenter', ['-t', String(pid), '-m', '-p', '--', ...argv], {
      reject: false,
      stdin: 'ignore',
      timeout: EXEC_TIMEOUT_MS,
    });
    return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? -1 };
  }

  private async prepareDir(): Promise<void> {
    const l = this.layout;
    await mkdir(l.dir, { recursive: true, mode: 0o700 });
    await Promise.all([l.etcUpperDir, l.etcWorkDir].map((d) => mkdir(d, { recursive: true, mode: 0o755 })));
    // /home must be root-owned and not group/world-writable for StrictModes to accept users' keys.
    await mkdir(l.homeDir, { recursive: true, mode: 0o755 });
    await mkdir(l.rootHomeDir, { recursive: true, mode: 0o700 });
    await ensureKeyPair(l.hostKeyPath, `orion-worker-${this.name}`);
    await writeFile(l.rootAuthorizedKeysPath, this.authorizedKeys.map((k) => `${k}\n`).join(''), { mode: 0o600 });
    await writeFile(l.sshdConfigPath, renderSshdConfig(l, this.port), { mode: 0o600 });
    await writeFile(l.pamSshdPath, WORKER_PAM_SSHD, { mode: 0o644 });
  }

  private async waitUntilReady(ns: NamespaceProcess): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    await ns.hostInitPid();
    while (Date.now() < deadline) {
      if (!ns.alive) throw await this.startError('exited during start');
      if (await answersWithSshBanner(this.port, 500)) {
        if (ns.alive) return;
      }
      await sleep(READY_POLL_MS);
    }
    throw await this.startError(`did not answer with an SSH banner within ${READY_TIMEOUT_MS} ms`);
  }

  private async startError(what: string): Promise<Error> {
    const tail = await readTail(this.layout.logPath, LOG_TAIL_BYTES);
    return new Error(`worker ${this.name} (127.0.0.1:${this.port}) ${what}; ${this.layout.logPath} ends with:\n${tail}`);
  }
}

export interface LocalDataPlaneOptions {
  /** Base directory; worker `<name>` lives in `<dir>/<name>`. */
  dir: string;
  /** Worker i (0-based) listens on 127.0.0.1:(basePort + i). */
  basePort: number;
  count: number;
  /** Workers are named `<namePrefix>-<i>` (default "worker"). */
  namePrefix?: string;
  /** Public keys allowed to log in as root on every worker. */
  authorizedKeys: string[];
}

/** A fixed set of workers on consecutive loopback ports. */
export class LocalDataPlane {
  readonly workers: SshWorker[];

  constructor(opts: LocalDataPlaneOptions) {
    if (!Number.isInteger(opts.count) || opts.count < 1 || opts.count > 1000) {
      throw new Error(`count must be an integer in 1..1000, got ${opts.count}`);
    }
    const prefix = opts.namePrefix ?? 'worker';
    this.workers = Array.from({ length: opts.count }, (_, i) => {
      const name = `${prefix}-${i}`;
      return new SshWorker({ name, port: opts.basePort + i, dir: childDir(opts.dir, name), authorizedKeys: opts.authorizedKeys });
    });
  }

  /** Starts every worker; when one fails, stops those that started and rethrows. */
  async start(): Promise<SshWorker[]> {
    const outcomes = await Promise.allSettled(this.workers.map((w) => w.start()));
    const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failure) {
      await this.stopAll();
      throw failure.reason;
    }
    return this.workers;
  }

  worker(name: string): SshWorker {
    const found = this.workers.find((w) => w.name === name);
    if (!found) throw new Error(`no worker named ${name}`);
    return found;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}

function assertPort(port: number): void {
  if (!Number.isInteger(port) || port < 1024 || port > 65535) {
    throw new Error(`worker port must be an integer in 1024..65535, got ${port}`);
  }
}

function assertPublicKeyLine(key: string): string {
  const line = key.trim();
  if (!/^(ssh-|ecdsa-|sk-)[a-z0-9@.-]+ [A-Za-z0-9+/=]+( [^\r\n]*)?$/.test(line)) {
    throw new Error('authorizedKeys entries must be single OpenSSH public key lines ("ssh-ed25519 AAAA...")');
  }
  return line;
}

async function readTail(file: string, bytes: number): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const start = Math.max(0, size - bytes);
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      return buffer.toString('utf8').split('\n').slice(-12).join('\n').trim();
    } finally {
      await handle.close();
    }
  } catch {
    return '(no log)';
  }
}
