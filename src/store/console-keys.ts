// The per-rental key of the browser console. Orion never holds a tenant's private key: instead each Rental gets
// its own SSH key, which the create playbook authorizes for the tenant's login (marked "orion-console") and the
// delete playbook removes; the web terminal (src/server/console) logs in with it. The key is an Ed25519 key
// derived from a secret kept where the run mode keeps generated credentials (GeneratedPasswords: a 0600 file in
// folder mode, a Secret owned by the Rental in Kubernetes mode), so the same key comes back on every reconcile and
// after a restart, and goes when the Rental goes.
import { createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import type { Resource } from '../api/types.js';
import type { GeneratedPasswords } from './generated-passwords.js';

const PURPOSE = 'console-ssh-key';
export const CONSOLE_KEY_COMMENT = 'orion-console';

export interface ConsoleKey {
  /** "ssh-ed25519 AAAA… orion-console": the authorized_keys line. */
  publicKey: string;
  /** The OpenSSH private key, for ssh2; never logged, never leaves Orion's memory. */
  privateKey: string;
}

export class ConsoleKeys {
  constructor(private readonly secrets: GeneratedPasswords) {}

  async of(owner: Resource): Promise<ConsoleKey> {
    const { password } = await this.secrets.ensure(owner, PURPOSE);
    return ed25519FromSecret(password);
  }

  discard(owner: Resource): Promise<void> {
    return this.secrets.discard(owner, PURPOSE);
  }
}

/** The Ed25519 key whose seed is the SHA-256 of the secret (with a purpose label). */
export function ed25519FromSecret(secret: string, comment = CONSOLE_KEY_COMMENT): ConsoleKey {
  const seed = createHash('sha256').update(`orion console key\0${secret}`).digest();
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const publicRaw = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32);
  const publicBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(publicRaw)]);
  return {
    publicKey: `ssh-ed25519 ${publicBlob.toString('base64')} ${comment}`,
    privateKey: openSshPrivateKey(publicBlob, seed, publicRaw, comment),
  };
}

/** The unencrypted "openssh-key-v1" format (PROTOCOL.key), which ssh2 reads. */
function openSshPrivateKey(publicBlob: Buffer, seed: Buffer, publicRaw: Buffer, comment: string): string {
  const check = randomBytes(4);
  let section = Buffer.concat([
    check,
    check,
    sshString('ssh-ed25519'),
    sshString(publicRaw),
    sshString(Buffer.concat([seed, publicRaw])),
    sshString(comment),
  ]);
  const padding = Buffer.from(Array.from({ length: (8 - (section.length % 8)) % 8 }, (_, i) => i + 1));
  section = Buffer.concat([section, padding]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(publicBlob),
    sshString(section),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

function sshString(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  return Buffer.concat([uint32(bytes.length), bytes]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
