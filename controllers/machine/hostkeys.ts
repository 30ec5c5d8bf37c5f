// The SSH host key of a freshly created machine, pinned on first contact (trust on first use, like the Node
// controller): read with ssh-keyscan, an ed25519 key preferred. Ansible then checks it strictly.
import { join } from 'node:path';
import { runProcess } from '../../src/exec/process.js';

const KEY_LINE = /^\S+\s+(ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|ssh-rsa)\s+([A-Za-z0-9+/]+={0,3})\s*$/;
const PREFERENCE = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'];

/** The preferred key in ssh-keyscan output, as "type base64"; undefined when there is none. */
export function pickHostKey(output: string): string | undefined {
  const keys = output
    .split('\n')
    .map((line) => KEY_LINE.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ type: m[1] as string, key: `${m[1]} ${m[2]}` }));
  keys.sort((a, b) => PREFERENCE.indexOf(a.type) - PREFERENCE.indexOf(b.type));
  return keys[0]?.key;
}

export interface HostKeyScanOptions {
  /** The ssh-keyscan binary (default: on PATH). */
  sshKeyscan?: string;
  timeoutSeconds?: number;
  logDir: string;
  signal?: AbortSignal;
}

export async function scanHostKey(address: string, port: number, opts: HostKeyScanOptions): Promise<string | undefined> {
  const timeout = opts.timeoutSeconds ?? 5;
  const run = await runProcess(opts.sshKeyscan ?? 'ssh-keyscan', ['-T', String(timeout), '-p', String(port), '-t', 'ed25519,ecdsa,rsa', address], {
    timeoutMs: (timeout + 5) * 1000,
    signal: opts.signal,
    logFile: join(opts.logDir, 'hostkeys.txt'),
  });
  return run.exitCode === 0 ? pickHostKey(run.stdout) : undefined;
}
