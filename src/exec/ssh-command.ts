// Runs fixed commands on a machine over SSH (ssh2) and returns their exit code and output: how the Desktop
// controller looks at a desktop's sessions without spawning ssh. The host key must match the pinned one (the
// key recorded on first contact); the private key is used in memory only and never appears in an error.
//
// runSshCommand logs in, runs one command and logs out. KeptSshConnections keeps one login per machine for a
// command run again and again: each login costs the machine a key exchange, a PAM session and a logind session
// (with a systemd user manager started and, 10 s after the last session, stopped again). On a small or slow
// machine that is most of what a check every minute costs, and a check every few seconds (tests) starved a
// 1-vCPU TCG desktop of the CPU its first XFCE start needed.
import net from 'node:net';
import { Client, type ConnectConfig, type ServerHostKeyAlgorithm } from 'ssh2';
import { sha256 } from '../base/hash.js';
import { fingerprint, parsePublicKeyLine } from './ssh.js';

export interface SshCommandTarget {
  address: string;
  port: number;
  user: string;
  /** OpenSSH or PEM private key text. Never logged nor echoed in errors. */
  privateKey: string;
  /** "ssh-ed25519 AAAA...": any other host key is refused. */
  pinnedHostKey: string;
  /** Covers connect, handshake, authentication and the command (a kept connection: the command). */
  timeoutMs: number;
}

export interface SshCommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The command could not be run (connection, host key, authentication, timeout). Short and free of secrets. */
export class SshCommandError extends Error {
  override name = 'SshCommandError';
  constructor(
    message: string,
    /** The time ran out (rather than the connection failing). */
    readonly timedOut = false,
  ) {
    super(message);
  }
}

const MAX_OUTPUT_BYTES = 256 * 1024;
/** A kept connection whose machine stopped answering is found out within about a minute and a half. */
const KEEPALIVE_INTERVAL_MS = 30_000;
const KEEPALIVE_COUNT_MAX = 3;

/** Logs in, runs one command, logs out. */
export async function runSshCommand(target: SshCommandTarget, command: string): Promise<SshCommandResult> {
  const deadline = Date.now() + target.timeoutMs;
  const client = await connect(target, {});
  try {
    const result = await exec(client, command, Math.max(1, deadline - Date.now()));
    client.end();
    return result;
  } catch (err) {
    // A machine that stopped answering would never finish a polite logout: its socket would stay open.
    client.destroy();
    throw err;
  }
}

interface Kept {
  /** What the connection was made for: address, port, user, pinned host key and a digest of the private key. */
  identity: string;
  client: Promise<Client>;
}

/**
 * One SSH connection per key (a desktop), kept between commands. A connection made for another address, port,
 * user, host key or private key is replaced; one that fails is dropped (a command that fails on a connection that
 * had worked before is tried once more on a new one: the machine may have restarted). close() when the key goes,
 * closeAll() when the controller stops (a kept connection's keepalive timer holds the process open).
 */
export class KeptSshConnections {
  private readonly kept = new Map<string, Kept>();

  async run(key: string, target: SshCommandTarget, command: string): Promise<SshCommandResult> {
    const identity = sha256(JSON.stringify([target.address, target.port, target.user, target.pinnedHostKey, sha256(target.privateKey)]));
    const current = this.kept.get(key);
    if (current && current.identity !== identity) this.close(key);
    const reused = this.kept.get(key);
    if (reused) {
      try {
        return await exec(await reused.client, command, target.timeoutMs);
      } catch (err) {
        this.drop(key, reused, 'destroy');
        if (err instanceof SshCommandError && err.timedOut) throw err;
      }
    }
    const deadline = Date.now() + target.timeoutMs;
    const fresh = this.open(key, identity, target);
    try {
      return await exec(await fresh.client, command, Math.max(1, deadline - Date.now()));
    } catch (err) {
      this.drop(key, fresh, 'destroy');
      throw err;
    }
  }

  /** Ends the key's connection, if there is one. */
  close(key: string): void {
    const kept = this.kept.get(key);
    if (kept) this.drop(key, kept, 'end');
  }

  closeAll(): void {
    for (const key of [...this.kept.keys()]) this.close(key);
  }

  get size(): number {
    return this.kept.size;
  }

  private open(key: string, identity: string, target: SshCommandTarget): Kept {
    const kept: Kept = {
      identity,
      client: connect(target, { keepaliveInterval: KEEPALIVE_INTERVAL_MS, keepaliveCountMax: KEEPALIVE_COUNT_MAX }),
    };
    kept.client.then((client) => client.once('close', () => this.kept.get(key) === kept && this.kept.delete(key)), () => undefined);
    this.kept.set(key, kept);
    return kept;
  }

  /** 'end' logs out; 'destroy' (a connection that failed or timed out) just closes the socket. */
  private drop(key: string, kept: Kept, how: 'end' | 'destroy'): void {
    if (this.kept.get(key) === kept) this.kept.delete(key);
    kept.client.then((client) => (how === 'end' ? client.end() : client.destroy()), () => undefined);
  }
}

/** A logged-in client; the timeout covers connect, handshake and authentication. */
function connect(target: SshCommandTarget, extra: Pick<ConnectConfig, 'keepaliveInterval' | 'keepaliveCountMax'>): Promise<Client> {
  const pinned = parsePublicKeyLine(target.pinnedHostKey);
  if (!pinned) return Promise.reject(new SshCommandError('the pinned host key is not an OpenSSH public key line'));
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: target.address, port: target.port });
    socket.on('error', () => undefined); // reported through the client's 'error'
    const client = new Client();
    let mismatch: string | undefined;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end();
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new SshCommandError(`timeout after ${target.timeoutMs} ms`, true)), target.timeoutMs);
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(client);
    });
    client.on('error', (err: Error & { level?: string; code?: string }) => fail(new SshCommandError(describe(err, mismatch, target.user))));
    client.on('close', () => fail(new SshCommandError('connection closed by the server')));
    const config: ConnectConfig = {
      sock: socket,
      username: target.user,
      privateKey: target.privateKey,
      authHandler: ['publickey'],
      readyTimeout: target.timeoutMs,
      tryKeyboard: false,
      algorithms: { serverHostKey: hostKeyAlgorithms(pinned.type) },
      hostVerifier: (blob: Buffer): boolean => {
        if (pinned.blob.equals(blob)) return true;
        mismatch = `host key changed: expected ${fingerprint(pinned.blob)}, got ${fingerprint(blob)}`;
        return false;
      },
      ...extra,
    };
    try {
      client.connect(config);
    } catch (err) {
      fail(new SshCommandError(describe(err as Error, mismatch, target.user)));
    }
  });
}

/** Runs the command on a logged-in client (a channel of its connection). */
function exec(client: Client, command: string, timeoutMs: number): Promise<SshCommandResult> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, result?: SshCommandResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.off('close', closed);
      if (err) reject(err);
      else resolve(result as SshCommandResult);
    };
    const closed = (): void => finish(new SshCommandError('connection closed by the server'));
    const timer = setTimeout(() => finish(new SshCommandError(`timeout after ${timeoutMs} ms`, true)), timeoutMs);
    client.once('close', closed);
    try {
      client.exec(command, (err, stream) => {
        if (err) return finish(new SshCommandError(`cannot run the command: ${err.message}`));
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let size = 0;
        let exitCode = -1;
        const collect = (into: Buffer[]) => (chunk: Buffer): void => {
          size += chunk.length;
          if (size <= MAX_OUTPUT_BYTES) into.push(chunk);
        };
        stream.on('data', collect(out));
        stream.stderr.on('data', collect(errOut));
        stream.on('exit', (code: number | null) => (exitCode = code ?? -1));
        stream.on('close', () => finish(undefined, { exitCode, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errOut).toString('utf8') }));
      });
    } catch (err) {
      finish(new SshCommandError(`cannot run the command: ${(err as Error).message}`));
    }
  });
}

function describe(err: Error & { level?: string; code?: string }, mismatch: string | undefined, user: string): string {
  if (mismatch) return mismatch;
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.level === 'client-authentication') return `authentication failed for user ${user}`;
  if (err.level === 'client-timeout') return 'timeout in SSH handshake';
  return err.message.replace(/\s+/g, ' ').slice(0, 200);
}

function hostKeyAlgorithms(type: string): ServerHostKeyAlgorithm[] {
  return (type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type]) as ServerHostKeyAlgorithm[];
}
