// `orion token create|list|revoke`: folder mode's bearer tokens. A token is printed once, at creation; the state
// directory keeps only its hash. Kubernetes mode has no tokens of its own (service accounts, OIDC: TokenReview).
import { readFile } from 'node:fs/promises';
import { TokenStore, tokensFile, type TokenRecord } from '../server/auth/tokens.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30d", "12h", "90m", "3600s" (or plain seconds) in milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match || Number(match[1]) <= 0) throw new Error(`--ttl must be a duration such as 30d, 12h or 90m, got "${text}"`);
  return Number(match[1]) * (UNITS[match[2] || 's'] as number);
}

export interface TokenCreateOptions {
  admin?: boolean;
  ttl?: string;
  sshKey?: string[];
}

export async function tokenCreate(stateDir: string, name: string, options: TokenCreateOptions): Promise<string> {
  const keys = await Promise.all((options.sshKey ?? []).map(async (file) => (await readFile(file, 'utf8')).trim()));
  const store = new TokenStore(tokensFile(stateDir));
  const { token, record } = await store.create(name, {
    admin: options.admin,
    ...(options.ttl ? { ttlMs: parseDuration(options.ttl) } : {}),
    sshPublicKeys: keys.flatMap((k) => k.split('\n')).filter(Boolean),
  });
  const role = record.admin ? 'admin' : 'tenant';
  const expiry = record.expiresAt ? `, expires ${record.expiresAt}` : '';
  return [
    token,
    '',
    `# ${role} token "${name}"${expiry}. It is shown only now: Orion keeps its hash only.`,
    `#   curl -H "Authorization: Bearer <token>" http://127.0.0.1:9477/api/v1/rentals`,
  ].join('\n');
}

export async function tokenList(stateDir: string): Promise<string> {
  const tokens = await new TokenStore(tokensFile(stateDir)).list();
  if (tokens.length === 0) return 'No tokens. Create one with: orion token create NAME [--admin]';
  const rows = [['NAME', 'ROLE', 'CREATED', 'EXPIRES'], ...tokens.map(row)];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => cell.padEnd((widths[i] ?? 0) + 3)).join('').trimEnd()).join('\n');
}

function row(t: TokenRecord): string[] {
  const expired = t.expiresAt && Date.parse(t.expiresAt) <= Date.now() ? ' (expired)' : '';
  return [t.name, t.admin ? 'admin' : 'tenant', t.createdAt, (t.expiresAt ?? 'never') + expired];
}

export async function tokenRevoke(stateDir: string, name: string): Promise<string> {
  const removed = await new TokenStore(tokensFile(stateDir)).revoke(name);
  if (!removed) throw new Error(`no token named "${name}"`);
  return `token "${name}" revoked; a running Orion refuses it within a second`;
}
