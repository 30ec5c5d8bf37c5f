// Runs one fixed command on a machine over SSH (ssh2) and returns its exit code and output: how the Desktop
// controller looks at a desktop's sessions without spawning ssh. The host key must match the pinned one (the
// key recorded on first contact); the private key is used in memory only and never appears in an error.
import net from 'node:net';
import { Client, type ConnectConfig, type ServerHostKeyAlgorithm } from 'ssh2';
import { fingerprint, parsePublicKeyLine } from './ssh.js';

export interface SshCommandTarget {
  address: string;
  port: number;
  user: string;
  /** OpenSSH or PEM private key text. Never logged nor echoed in errors. */
  privateKey: string;
  /** "ssh-ed25519 AAAA...": any other host key is refused. */
  pinnedHostKey: string;
  /** Covers connect, handshake, authentication and the command. */
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
}

const MAX_OUTPUT_BYTES = 256 * 1024;

export function runSshCommand(target: SshCommandTarget, command: string): Promise<SshCommandResult> {
  const pinned = parsePublicKeyLine(target.pinnedHostKey);
  if (!pinned) return Promise.reject(new SshCommandError('the pinned host key is not an OpenSSH public key line'));
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: target.address, port: target.port });
    socket.on('error', () => undefined); // reported through the client's 'error'
    const client = new Client();
    let mismatch: string | undefined;
    let settled = false;
    const finish = (err: Error | undefined, result?: SshCommandResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end();
      socket.destroy();
      if (err) reject(err);
      else resolve(result as SshCommandResult);
    };
    const timer = setTimeout(() => finish(new SshCommandError(`timeout after ${target.timeoutMs} ms`)), target.timeoutMs);
    client.on('ready', () => exec(client, command, finish));
    client.on('error', (err: Error & { level?: string; code?: string }) => finish(new SshCommandError(describe(err, mismatch, target.user))));
    client.on('close', () => finish(new SshCommandError('connection closed by the server')));
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
    };
    try {
      client.connect(config);
    } catch (err) {
      finish(new SshCommandError(describe(err as Error, mismatch, target.user)));
    }
  });
}

function exec(client: Client, command: string, finish: (err: Error | undefined, result?: SshCommandResult) => void): void {
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
