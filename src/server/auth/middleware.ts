// The door itself: a request without a valid bearer token or browser session gets 401, whatever it asks for; with
// one, the caller's identity travels with the request (res.locals.identity) and is charged one request of their
// rate limit. A browser session's writes must carry its CSRF token (sessions.ts).
import type { Request, RequestHandler, Response } from 'express';
import { logger } from '../../telemetry/logger.js';
import type { RateLimiter } from '../api/limits.js';
import { ApiProblem } from '../problem.js';
import type { Access } from './access.js';
import type { Identity } from './identity.js';
import { CSRF_HEADER, type SessionBook } from './sessions.js';

const BEARER = /^Bearer\s+([A-Za-z0-9._~+/=-]{1,4096})\s*$/i;

export function requireIdentity(access: Access, limiter: RateLimiter, sessions?: SessionBook): RequestHandler {
  return async (req, res, next) => {
    let identity: Identity | undefined;
    try {
      identity = await callerOf(req, access, sessions);
    } catch (err) {
      if (err instanceof ApiProblem) return next(err);
      logger.error({ err: (err as Error).message }, 'cannot check a token');
      return next(new ApiProblem(503, 'the identity of this request cannot be checked right now; retry shortly', { headers: { 'Retry-After': '5' } }));
    }
    res.locals.identity = identity;
    limiter.take(identity);
    next();
  };
}

/** Who sends the request: its bearer token's identity, or its browser session's. */
export async function callerOf(req: Request, access: Access, sessions?: SessionBook): Promise<Identity> {
  const match = BEARER.exec(req.headers.authorization ?? '');
  if (match) {
    const identity = await access.authenticate(match[1] as string);
    if (!identity) throw unauthorized('the bearer token is not valid (unknown, revoked or expired)');
    return identity;
  }
  const session = sessions?.of(req);
  if (!session) throw unauthorized('this request needs a bearer token (Authorization: Bearer <token>, orion token create) or a session: log in at /');
  if (!isSafe(req.method) && !sessions?.csrfMatches(session, req)) {
    throw new ApiProblem(403, `a write with a session cookie needs the session's CSRF token in the ${CSRF_HEADER} header (GET /auth/session gives it)`);
  }
  const identity = session.identity ?? (session.token ? await access.authenticate(session.token) : undefined);
  if (!identity) {
    sessions?.end(req);
    throw unauthorized('the session has ended (its token was revoked or expired); log in again');
  }
  return identity;
}

export function identityOf(res: Response): Identity {
  const identity = res.locals.identity as Identity | undefined;
  if (!identity) throw unauthorized('this request needs a bearer token');
  return identity;
}

export function isSafe(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}

function unauthorized(detail: string): ApiProblem {
  return new ApiProblem(401, detail, { headers: { 'WWW-Authenticate': 'Bearer realm="orion"' } });
}
