// Folder mode's bearer tokens, issued by `orion token create` and kept in <state>/tokens.json (0600) as SHA-256
// hashes only: the token itself is printed once and never stored, logged or echoed. A token is 32 random bytes,
// so a fast hash is enough (nothing to brute-force). The running Orion re-reads the file when it changes, so a
// created or revoked token counts within a second, without a restart.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { POSIX_LOGIN } from '../../base/names.js';
import type { Identity } from './identity.js';

export interface TokenRecord {
  name: string;
  /** SHA-256 of the token, hex. */
  hash: string;
  admin: boolean;
  createdAt: string;
  expiresAt?: string;
  /** The person's SSH public keys (public: not secrets), for rents that bring none. */
  sshPublicKeys?: string[];
}

interface TokenFile {
  version: 1;
  tokens: TokenRecord[];
}

const TOKEN_PREFIX = 'orion_';
const RELOAD_CHECK_MS = 500;
const NAME = new RegExp(POSIX_LOGIN);

export function tokensFile(stateDir: string): string {
  return join(stateDir, 'tokens.json');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Changes of one token file, one at a time in this process (each is a read, a change and a rename). */
const writing = new Map<string, Promise<unknown>>();

function serialized<T>(file: string, change: () => Promise<T>): Promise<T> {
  const next = (writing.get(file) ?? Promise.resolve()).catch(() => undefined).then(change);
  writing.set(file, next);
  return next;
}

export class TokenStore {
  private byHash = new Map<string, TokenRecord>();
  private loadedStamp = '';
  private checkedAt = 0;

  constructor(readonly file: string) {}

  /** Issues a token for NAME and returns it: the only time it is ever seen. */
  create(name: string, options: { admin?: boolean; ttlMs?: number; sshPublicKeys?: string[] } = {}): Promise<{ token: string; record: TokenRecord }> {
    return serialized(this.file, () => this.createNow(name, options));
  }

  private async createNow(name: string, options: { admin?: boolean; ttlMs?: number; sshPublicKeys?: string[] }): Promise<{ token: string; record: TokenRecord }> {
    if (!NAME.test(name)) throw new Error(`token name "${name}" must be a POSIX login (${POSIX_LOGIN}): it is the person's identity`);
    const current = await this.read();
    if (current.tokens.some((t) => t.name === name)) throw new Error(`a token named "${name}" exists; revoke it first (orion token revoke ${name})`);
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const now = new Date();
    const record: TokenRecord = {
      name,
      hash: hashToken(token),
      admin: options.admin ?? false,
      createdAt: now.toISOString(),
      ...(options.ttlMs ? { expiresAt: new Date(now.getTime() + options.ttlMs).toISOString() } : {}),
      ...(options.sshPublicKeys?.length ? { sshPublicKeys: options.sshPublicKeys } : {}),
    };
    await this.write({ version: 1, tokens: [...current.tokens, record] });
    return { token, record };
  }

  async list(): Promise<TokenRecord[]> {
    return (await this.read()).tokens;
  }

  /** Removes the token of NAME; false when there was none. */
  revoke(name: string): Promise<boolean> {
    return serialized(this.file, () => this.revokeNow(name));
  }

  private async revokeNow(name: string): Promise<boolean> {
    const current = await this.read();
    const tokens = current.tokens.filter((t) => t.name !== name);
    if (tokens.length === current.tokens.length) return false;
    await this.write({ version: 1, tokens });
    return true;
  }

  /** The identity a bearer token stands for, or undefined (unknown, revoked or expired). */
  async verify(token: string): Promise<Identity | undefined> {
    if (!token.startsWith(TOKEN_PREFIX)) return undefined;
    const hash = hashToken(token);
    // Revocations count within RELOAD_CHECK_MS; a token not known yet makes Orion look at the file at once.
    await this.reloadIfChanged(!this.byHash.has(hash));
    const record = this.byHash.get(hash);
    if (!record || !timingSafeEqual(Buffer.from(record.hash, 'hex'), Buffer.from(hash, 'hex'))) return undefined;
    if (record.expiresAt && Date.parse(record.expiresAt) <= Date.now()) return undefined;
    return {
      name: record.name,
      groups: record.admin ? ['orion:admins'] : [],
      admin: record.admin,
      via: 'token',
      ...(record.sshPublicKeys ? { sshPublicKeys: record.sshPublicKeys } : {}),
    };
  }

  private async reloadIfChanged(immediately = false): Promise<void> {
    const now = Date.now();
    if (!immediately && now - this.checkedAt < RELOAD_CHECK_MS) return;
    this.checkedAt = now;
    const info = await stat(this.file).catch(() => undefined);
    const stamp = info ? `${info.ino}:${info.mtimeMs}:${info.size}` : 'none'; // each write renames a new inode in
    if (stamp === this.loadedStamp) return;
    const { tokens } = await this.read();
    this.byHash = new Map(tokens.map((t) => [t.hash, t]));
    this.loadedStamp = stamp;
  }

  private async read(): Promise<TokenFile> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, tokens: [] };
      throw err;
    }
    const parsed = JSON.parse(text) as TokenFile;
    if (parsed.version !== 1 || !Array.isArray(parsed.tokens)) throw new Error(`${this.file} is not an Orion token file`);
    return parsed;
  }

  private async write(content: TokenFile): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, this.file).catch(async (err: unknown) => {
      await rm(tmp, { force: true });
      throw err;
    });
    this.checkedAt = 0;
  }
}
