// The door itself: a request without a valid bearer token gets 401, whatever it asks for; with one, the caller's
// identity travels with the request (res.locals.identity) and is charged one request of their rate limit.
import type { RequestHandler, Response } from 'express';
import { logger } from '../../telemetry/logger.js';
import type { RateLimiter } from '../api/limits.js';
import { ApiProblem } from '../problem.js';
import type { Access } from './access.js';
import type { Identity } from './identity.js';

const BEARER = /^Bearer\s+([A-Za-z0-9._~+/=-]{1,4096})\s*$/i;

export function requireIdentity(access: Access, limiter: RateLimiter): RequestHandler {
  return async (req, res, next) => {
    const match = BEARER.exec(req.headers.authorization ?? '');
    if (!match) return next(unauthorized('this request needs a bearer token: Authorization: Bearer <token> (orion token create)'));
    let identity: Identity | undefined;
    try {
      identity = await access.authenticate(match[1] as string);
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'cannot check a token');
      return next(new ApiProblem(503, 'the identity of this request cannot be checked right now; retry shortly', { headers: { 'Retry-After': '5' } }));
    }
    if (!identity) return next(unauthorized('the bearer token is not valid (unknown, revoked or expired)'));
    res.locals.identity = identity;
    limiter.take(identity);
    next();
  };
}

export function identityOf(res: Response): Identity {
  const identity = res.locals.identity as Identity | undefined;
  if (!identity) throw unauthorized('this request needs a bearer token');
  return identity;
}

function unauthorized(detail: string): ApiProblem {
  return new ApiProblem(401, detail, { headers: { 'WWW-Authenticate': 'Bearer realm="orion"' } });
}
