// The web app's login, behind the host and Origin checks like every route of the portal:
//   POST /auth/login {"token"}   a pasted token (folder mode: orion token create; Kubernetes mode: any token the
//                                cluster's TokenReview accepts) becomes a session cookie; the token is never sent back
//   POST /auth/logout            ends the session (needs its CSRF token, as every write with a cookie)
//   GET  /auth/session           who the session is, what the app may show them, and the CSRF token for writes
// OpenID Connect logins (Kubernetes mode) are in oidc.ts and end in the same kind of session.
import express, { Router, type Request, type Response } from 'express';
import { KINDS } from '../../api/kinds.js';
import type { KindName } from '../../api/types.js';
import type { Access, Verb } from './access.js';
import type { Identity } from './identity.js';
import { callerOf } from './middleware.js';
import { ApiProblem } from '../problem.js';
import { sessionCookie, type Session, type SessionBook } from './sessions.js';

const TOKEN = /^[A-Za-z0-9._~+/=-]{1,4096}$/;

export interface SessionRouteOptions {
  access: Access;
  sessions: SessionBook;
  /** Whether an OpenID Connect login is offered (its button on the login page). */
  oidc: boolean;
  /** The cookie's Secure flag: the portal is served over TLS (or a TLS proxy says so). */
  secure: (req: Request) => boolean;
  /** Where people's objects are (the portal policy's namespace): in Kubernetes mode a tenant watches there. */
  namespace: string;
}

export function sessionRoutes(options: SessionRouteOptions): Router {
  const { access, sessions } = options;
  const router = Router();
  const json = express.json({ limit: '16kb', type: 'application/json' });

  router.post('/auth/login', json, async (req, res) => {
    const token = (req.body as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string' || !TOKEN.test(token.trim())) throw new ApiProblem(400, 'send {"token": "<your token>"} as application/json');
    const identity = await access.authenticate(token.trim());
    if (!identity) throw new ApiProblem(401, 'this token is not valid (unknown, revoked or expired)');
    const { id, session } = sessions.open({ token: token.trim() });
    startSession(res, id, session, options.secure(req));
    res.json(await describe(access, identity, session, options));
  });

  router.post('/auth/logout', async (req, res) => {
    const session = sessions.of(req);
    if (session && !sessions.csrfMatches(session, req)) throw new ApiProblem(403, 'logout needs the session\'s CSRF token');
    sessions.end(req);
    res.setHeader('Set-Cookie', sessionCookie('', { secure: options.secure(req) }));
    res.status(204).end();
  });

  router.get('/auth/session', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const session = sessions.of(req);
    if (!session) return void res.json({ authenticated: false, mode: access.mode, oidc: options.oidc });
    const identity = await callerOf(req, access, sessions).catch(() => undefined);
    if (!identity) return void res.json({ authenticated: false, mode: access.mode, oidc: options.oidc });
    res.json(await describe(access, identity, session, options));
  });

  return router;
}

function allowed(access: Access, identity: Identity, verb: Verb, kind: KindName, namespace?: string): Promise<boolean> {
  return access.allows(identity, { verb, kind, ...(namespace ? { namespace } : {}) }).catch(() => false);
}

export function startSession(res: Response, id: string, session: Session, secure: boolean): void {
  res.setHeader('Set-Cookie', sessionCookie(id, { secure, maxAgeMs: session.expiresAt - Date.now() }));
}

/** What the app needs to know about the person: name, whether to show the admin's views, what it may watch, the CSRF token. */
async function describe(access: Access, identity: Identity, session: Session, options: SessionRouteOptions): Promise<Record<string, unknown>> {
  const admin = identity.admin || (access.mode === 'kube' && (await allowed(access, identity, 'create', 'PlaybookRun')));
  // RBAC may grant a tenant one namespace only: there is where the app watches their objects.
  const namespace = access.mode === 'kube' && !admin ? options.namespace : undefined;
  const watchable: string[] = [];
  for (const def of KINDS) if ((def.kind !== 'Node' || admin) && (await allowed(access, identity, 'watch', def.kind, namespace))) watchable.push(def.plural);
  return {
    watchable,
    ...(namespace ? { namespace } : {}),
    authenticated: true,
    name: identity.name,
    groups: identity.groups,
    admin,
    mode: access.mode,
    oidc: options.oidc,
    csrf: session.csrf,
    expiresAt: new Date(session.expiresAt).toISOString(),
  };
}
