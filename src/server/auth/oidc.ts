// OpenID Connect login for the web app (Kubernetes mode): the authorization code flow with PKCE (openid-client).
//   GET /auth/oidc/start      a fresh state, nonce and PKCE verifier, kept server-side under a short-lived,
//                             HttpOnly, SameSite=Lax cookie (the provider's redirect back is a cross-site navigation),
//                             then a redirect to the provider
//   GET /auth/oidc/callback   the code is exchanged (state, nonce and PKCE checked by openid-client), the ID token's
//                             user and groups claims become the session's identity, and the browser goes back to /
// The identity is a Kubernetes user like any other: every action is then a SubjectAccessReview with that user and
// those groups (kube-access.ts), so RBAC decides what an OIDC user may do. Tokens from the provider are not kept.
import { randomBytes } from 'node:crypto';
import { Router, type Request } from 'express';
import * as client from 'openid-client';
import { logger } from '../../telemetry/logger.js';
import { ApiProblem } from '../problem.js';
import { isLoopback } from '../transport.js';
import type { Identity } from './identity.js';
import { startSession } from './session-routes.js';
import { cookieValue, type SessionBook } from './sessions.js';

export interface OidcSettings {
  issuer: string;
  clientId: string;
  /** A confidential client's secret (from a file or the environment, never a flag value that shows in ps). */
  clientSecret?: string;
  /** Where the provider sends the browser back: this portal's /auth/oidc/callback, as the provider knows it. */
  redirectUri: string;
  usernameClaim?: string;
  groupsClaim?: string;
  scopes?: string[];
}

const FLOW_COOKIE = 'orion_oidc';
const FLOW_TTL_MS = 10 * 60_000;
const MAX_FLOWS = 10_000;

interface Flow {
  verifier: string;
  state: string;
  nonce: string;
  until: number;
}

export function oidcRoutes(settings: OidcSettings, sessions: SessionBook, secure: (req: Request) => boolean): Router {
  const router = Router();
  const flows = new Map<string, Flow>();
  let configuration: Promise<client.Configuration> | undefined;
  const config = (): Promise<client.Configuration> => {
    configuration ??= discover(settings).catch((err: unknown) => {
      configuration = undefined;
      throw err;
    });
    return configuration;
  };

  router.get('/auth/oidc/start', async (req, res) => {
    const flow: Flow = { verifier: client.randomPKCECodeVerifier(), state: client.randomState(), nonce: client.randomNonce(), until: Date.now() + FLOW_TTL_MS };
    const id = randomBytes(24).toString('base64url');
    if (flows.size >= MAX_FLOWS) flows.clear();
    flows.set(id, flow);
    const url = client.buildAuthorizationUrl(await config().catch(unavailable), {
      redirect_uri: settings.redirectUri,
      scope: (settings.scopes ?? ['openid', 'email', 'profile', 'groups']).join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    res.setHeader('Set-Cookie', `${FLOW_COOKIE}=${id}; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=${FLOW_TTL_MS / 1000}${secure(req) ? '; Secure' : ''}`);
    res.redirect(302, url.href);
  });

  router.get('/auth/oidc/callback', async (req, res) => {
    const id = cookieValue(req.headers.cookie, FLOW_COOKIE);
    const flow = id ? flows.get(id) : undefined;
    if (id) flows.delete(id);
    if (!flow || flow.until < Date.now()) throw new ApiProblem(400, 'this sign-in has expired or was not started here; start again from the login page');
    const current = new URL(req.originalUrl, settings.redirectUri);
    let claims: Record<string, unknown> | undefined;
    try {
      const tokens = await client.authorizationCodeGrant(await config(), current, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
      claims = tokens.claims() as Record<string, unknown> | undefined;
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'OpenID Connect sign-in refused');
      throw new ApiProblem(401, 'the identity provider\'s answer could not be verified; start again from the login page');
    }
    const identity = identityFrom(claims, settings);
    const expiresAt = typeof claims?.exp === 'number' ? claims.exp * 1000 : undefined;
    const { id: sessionId, session } = sessions.open({ identity, ...(expiresAt ? { expiresAt } : {}) });
    startSession(res, sessionId, session, secure(req));
    res.append('Set-Cookie', `${FLOW_COOKIE}=; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=0`);
    res.redirect(303, '/');
  });

  return router;
}

async function discover(settings: OidcSettings): Promise<client.Configuration> {
  const issuer = new URL(settings.issuer);
  // Plain HTTP only for a provider on this machine (a test, a sidecar); anything else must be HTTPS.
  const insecure = issuer.protocol === 'http:' && isLoopback(issuer.hostname);
  return client.discovery(issuer, settings.clientId, settings.clientSecret, undefined, insecure ? { execute: [client.allowInsecureRequests] } : undefined);
}

/** The Kubernetes user and groups of an ID token, as the API server's --oidc-username-claim / --oidc-groups-claim. */
export function identityFrom(claims: Record<string, unknown> | undefined, settings: Pick<OidcSettings, 'usernameClaim' | 'groupsClaim'>): Identity {
  const userClaim = settings.usernameClaim ?? 'email';
  const name = claims?.[userClaim];
  if (typeof name !== 'string' || !name) throw new ApiProblem(403, `the identity provider gave no "${userClaim}" claim; ask an admin`);
  const raw = claims?.[settings.groupsClaim ?? 'groups'];
  const groups = Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string') : [];
  return { name, groups, admin: false, via: 'kubernetes' };
}

function unavailable(err: unknown): never {
  logger.error({ err: (err as Error).message }, 'OpenID Connect provider discovery failed');
  throw new ApiProblem(503, 'the identity provider cannot be reached right now; retry shortly or log in with a token', { headers: { 'Retry-After': '10' } });
}
