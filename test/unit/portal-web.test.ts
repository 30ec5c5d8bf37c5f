// The web app's server-side pieces without a network: browser sessions (cookie, CSRF, expiry), console tickets
// (single use, expiry, bound to a person and a target), the per-rental console key, OIDC claims to an identity,
// the transport rule the consoles' websockets use, and the log view's ANSI colours.
import type { IncomingMessage } from 'node:http';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { identityFrom } from '../../src/server/auth/oidc.js';
import { CSRF_HEADER, SESSION_COOKIE, SessionBook, cookieValue, sessionCookie } from '../../src/server/auth/sessions.js';
import { TicketBook } from '../../src/server/console/tickets.js';
import { hypervisorHost } from '../../src/server/console/resolvers.js';
import { transportRule } from '../../src/server/transport.js';
import { ed25519FromSecret } from '../../src/store/console-keys.js';
import { ansiPieces } from '../../src/ui/lib/ansi.js';

const request = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;
const alice = { name: 'alice', groups: [], admin: false, via: 'token' as const };

describe('browser sessions', () => {
  it('finds a session by its cookie only, and ends it', () => {
    const book = new SessionBook();
    const { id, session } = book.open({ token: 'orion_x' });
    expect(book.of(request({ cookie: `a=b; ${SESSION_COOKIE}=${id}` }))).toBe(session);
    expect(book.of(request({ cookie: `${SESSION_COOKIE}=${id}x` }))).toBeUndefined();
    expect(book.of(request({}))).toBeUndefined();
    book.end(request({ cookie: `${SESSION_COOKIE}=${id}` }));
    expect(book.of(request({ cookie: `${SESSION_COOKIE}=${id}` }))).toBeUndefined();
  });

  it('checks the CSRF token of a write', () => {
    const book = new SessionBook();
    const { session } = book.open({ token: 'orion_x' });
    expect(book.csrfMatches(session, request({ [CSRF_HEADER]: session.csrf }))).toBe(true);
    expect(book.csrfMatches(session, request({ [CSRF_HEADER]: `${session.csrf}x` }))).toBe(false);
    expect(book.csrfMatches(session, request({}))).toBe(false);
  });

  it('lets a session expire', () => {
    const book = new SessionBook(-1);
    const { id } = book.open({ token: 'orion_x' });
    expect(book.of(request({ cookie: `${SESSION_COOKIE}=${id}` }))).toBeUndefined();
  });

  it('writes an HttpOnly, SameSite=Strict cookie, Secure over TLS', () => {
    expect(sessionCookie('abc', { secure: false, maxAgeMs: 60_000 })).toBe(`${SESSION_COOKIE}=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60`);
    expect(sessionCookie('abc', { secure: true })).toContain('; Secure');
    expect(cookieValue('x=1; y = 2', 'y')).toBe('2');
  });
});

describe('console tickets', () => {
  const target = { type: 'ssh' as const, kind: 'Rental', namespace: 'default', name: 'r1' };

  it('are redeemed once, with their holder and target', () => {
    const book = new TicketBook();
    const ticket = book.issue(alice, target);
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(book.redeem(ticket)).toMatchObject({ identity: { name: 'alice' }, target });
    expect(book.redeem(ticket)).toBeUndefined();
    expect(book.redeem('forged')).toBeUndefined();
  });

  it('expire', () => {
    const book = new TicketBook(-1);
    expect(book.redeem(book.issue(alice, target))).toBeUndefined();
  });
});

describe('the per-rental console key', () => {
  it('is the same for the same secret, another for another, and ssh2 reads it', () => {
    const a = ed25519FromSecret('secret-1');
    expect(ed25519FromSecret('secret-1')).toMatchObject({ publicKey: a.publicKey });
    expect(ed25519FromSecret('secret-2').publicKey).not.toBe(a.publicKey);
    expect(a.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+=* orion-console$/);
    const parsed = ssh2.utils.parseKey(a.privateKey);
    if (parsed instanceof Error) throw parsed;
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    expect(key?.type).toBe('ssh-ed25519');
    expect(key?.getPublicSSH().toString('base64')).toBe(a.publicKey.split(' ')[1]);
  });
});

describe('OpenID Connect claims', () => {
  it('make a Kubernetes identity from the username and groups claims', () => {
    expect(identityFrom({ email: 'kilgore@kilgore.trout', groups: ['authors', 3] }, {})).toEqual({ name: 'kilgore@kilgore.trout', groups: ['authors'], admin: false, via: 'kubernetes' });
    expect(identityFrom({ preferred_username: 'k', roles: ['x'] }, { usernameClaim: 'preferred_username', groupsClaim: 'roles' })).toMatchObject({ name: 'k', groups: ['x'] });
    expect(() => identityFrom({ sub: '1' }, {})).toThrow(/no "email" claim/);
  });
});

describe('the consoles\' transport rule', () => {
  const rule = transportRule('127.0.0.1', { allowedOrigins: ['https://portal.example'] });
  it('refuses other hosts and other origins, and lets its own through', () => {
    expect(rule('POST', '127.0.0.1:9477', 'http://127.0.0.1:9477')).toBeUndefined();
    expect(rule('POST', '127.0.0.1:9477', 'https://portal.example')).toBeUndefined();
    expect(rule('POST', '127.0.0.1:9477', 'http://evil.example')?.status).toBe(403);
    expect(rule('POST', 'evil.example', 'http://evil.example')?.status).toBe(421);
    expect(rule('POST', '127.0.0.1:9477', 'null')?.status).toBe(403);
  });
  it('finds the hypervisor of a libvirt URI', () => {
    expect(hypervisorHost('qemu:///system')).toBe('127.0.0.1');
    expect(hypervisorHost('qemu+ssh://root@hv1.lab/system')).toBe('hv1.lab');
    expect(hypervisorHost('qemu+unix:///system?socket=/run/x')).toBe('127.0.0.1');
  });
});

describe('ANSI colours in logs', () => {
  it('keeps colours and bold, and drops other escapes', () => {
    expect(ansiPieces('\x1b[0;32mok: [n1]\x1b[0m done')).toEqual([{ text: 'ok: [n1]', className: 'fg2' }, { text: ' done' }]);
    expect(ansiPieces('\x1b[1;31mfatal\x1b[22m!')).toEqual([{ text: 'fatal', className: 'fg1 bold' }, { text: '!', className: 'fg1' }]);
    expect(ansiPieces('a\x1b[2Kb\r')).toEqual([{ text: 'ab' }]);
    expect(ansiPieces('\x1b[38;5;208mx')).toEqual([{ text: 'x', className: 'fg7' }]);
  });
});
