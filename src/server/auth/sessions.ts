// Browser sessions of the web app. A person logs in once (a pasted token, or OpenID Connect in Kubernetes mode) and
// the browser keeps only an opaque, random session id in an HttpOnly, SameSite=Strict cookie: scripts never see it,
// other sites never send it. The server keeps, in memory and keyed by the id's SHA-256, what the session stands for:
// the pasted token (re-checked on every request, so a revocation counts at once) or the identity an OIDC login
// proved. Writes made with the cookie must also carry the session's CSRF token in a header (X-Orion-CSRF): a value
// a page of another origin cannot read, on top of the Origin check in front of every write (transport.ts).
// Sessions end at logout, after their lifetime, or when Orion restarts.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Identity } from './identity.js';

export const SESSION_COOKIE = 'orion_session';
export const CSRF_HEADER = 'x-orion-csrf';
const DEFAULT_LIFETIME_MS = 12 * 3600_000;
const MAX_SESSIONS = 50_000;

export interface Session {
  /** What the session stands for: a bearer token checked on each request, or an identity proved at login. */
  readonly token?: string;
  readonly identity?: Identity;
  readonly csrf: string;
  readonly expiresAt: number;
}

export class SessionBook {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly lifetimeMs = DEFAULT_LIFETIME_MS) {}

  /** Opens a session; returns its id (for the cookie, never stored) and the session. */
  open(holder: { token: string } | { identity: Identity; expiresAt?: number }): { id: string; session: Session } {
    this.prune();
    const id = randomBytes(32).toString('base64url');
    const lifetimeEnd = Date.now() + this.lifetimeMs;
    const session: Session = {
      ...holder,
      csrf: randomBytes(24).toString('base64url'),
      expiresAt: 'expiresAt' in holder && holder.expiresAt ? Math.min(holder.expiresAt, lifetimeEnd) : lifetimeEnd,
    };
    this.sessions.set(keyOf(id), session);
    return { id, session };
  }

  /** The live session named by the request's cookie, if any. */
  of(req: IncomingMessage): Session | undefined {
    const id = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (!id) return undefined;
    const key = keyOf(id);
    const session = this.sessions.get(key);
    if (!session) return undefined;
    if (session.expiresAt <= Date.now()) {
      this.sessions.delete(key);
      return undefined;
    }
    return session;
  }

  /** Ends the session named by the request's cookie. */
  end(req: IncomingMessage): void {
    const id = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (id) this.sessions.delete(keyOf(id));
  }

  /** Whether the request carries the session's CSRF token. */
  csrfMatches(session: Session, req: IncomingMessage): boolean {
    const sent = req.headers[CSRF_HEADER];
    if (typeof sent !== 'string') return false;
    const a = Buffer.from(sent);
    const b = Buffer.from(session.csrf);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private prune(): void {
    if (this.sessions.size < MAX_SESSIONS) return;
    const now = Date.now();
    for (const [key, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(key);
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value as string);
  }
}

/** The Set-Cookie value of a session (or of its end, with an empty value and no lifetime). */
export function sessionCookie(id: string, options: { secure: boolean; maxAgeMs?: number }): string {
  const parts = [`${SESSION_COOKIE}=${id}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (options.secure) parts.push('Secure');
  parts.push(`Max-Age=${Math.max(0, Math.floor((options.maxAgeMs ?? 0) / 1000))}`);
  return parts.join('; ');
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

function keyOf(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}
