// SSH key files of the local data plane: ed25519 key pairs made by ssh-keygen, and their public lines.
import { access, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

export interface ClientKeyPair {
  privateKeyPath: string;
  privateKey: string;
  /** "ssh-ed25519 AAAA..." (no comment) */
  publicKey: string;
}

const KEYGEN_TIMEOUT_MS = 15_000;

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** Creates an ed25519 key pair at `keyPath` (and `keyPath.pub`) unless both files already exist. */
export async function ensureKeyPair(keyPath: string, comment: string): Promise<void> {
  if ((await exists(keyPath)) && (await exists(`${keyPath}.pub`))) return;
  await rm(keyPath, { force: true });
  await rm(`${keyPath}.pub`, { force: true });
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', keyPath], {
    stdin: 'ignore',
    timeout: KEYGEN_TIMEOUT_MS,
  });
}

/** Replaces the key pair at `keyPath` by a new one. */
export async function replaceKeyPair(keyPath: string, comment: string): Promise<void> {
  await rm(keyPath, { force: true });
  await rm(`${keyPath}.pub`, { force: true });
  await ensureKeyPair(keyPath, comment);
}

/** Reads an OpenSSH public key file and returns its "type base64" part, without the comment. */
export async function readPublicKeyLine(pubPath: string): Promise<string> {
  const text = await readFile(pubPath, 'utf8');
  const [type, blob] = text.trim().split(/\s+/);
  if (!type || !blob) throw new Error(`${pubPath} is not an OpenSSH public key`);
  return `${type} ${blob}`;
}

/**
 * The orchestrator's client key: an ed25519 pair `<dir>/id_ed25519{,.pub}` made by ssh-keygen,
 * reused when it already exists.
 */
export async function generateClientKeyPair(dir: string): Promise<ClientKeyPair> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const privateKeyPath = path.join(path.resolve(dir), 'id_ed25519');
  await ensureKeyPair(privateKeyPath, 'orion');
  return {
    privateKeyPath,
    privateKey: await readFile(privateKeyPath, 'utf8'),
    publicKey: await readPublicKeyLine(`${privateKeyPath}.pub`),
  };
}
