// Kubernetes mode's door, the kube-rbac-proxy pattern: a bearer token is checked with a TokenReview, and every
// action with a SubjectAccessReview on the orion.lab resource in its namespace, so Kubernetes RBAC is the one
// policy. Answers are cached briefly (tokens by their hash, decisions by user and attributes) so that a busy
// portal does not send a review per request; a revoked binding counts within the cache's lifetime.
import { createHash } from 'node:crypto';
import { GROUP } from '../../api/group.js';
import { kindDefinition } from '../../api/kinds.js';
import type { Resource } from '../../api/types.js';
/** What the reviews need of Kubernetes mode's client (src/kube/client.ts): one JSON request. */
export interface ReviewClient {
  request<T>(req: { method: 'POST'; path: string; body: unknown; verb: string; resource: string; timeoutMs?: number }): Promise<T>;
}
import { logger } from '../../telemetry/logger.js';
import type { Access, AccessRequest } from './access.js';
import { loginOf, type Identity } from './identity.js';

const TOKEN_TTL_MS = 60_000;
const DENIED_TOKEN_TTL_MS = 5_000;
const DECISION_TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

interface TokenReviewStatus {
  authenticated?: boolean;
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  error?: string;
}

interface Cached<T> {
  value: T;
  until: number;
}

export class KubeAccess implements Access {
  readonly mode = 'kube' as const;
  private readonly tokens = new Map<string, Cached<(Identity & { uid?: string; extra?: Record<string, string[]> }) | undefined>>();
  private readonly decisions = new Map<string, Cached<boolean>>();

  constructor(private readonly client: ReviewClient) {}

  async authenticate(token: string): Promise<Identity | undefined> {
    const key = createHash('sha256').update(token).digest('hex');
    const cached = this.tokens.get(key);
    if (cached && cached.until > Date.now()) return cached.value;
    const review = await this.client.request<{ status?: TokenReviewStatus }>({
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/tokenreviews',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      verb: 'create',
      resource: 'tokenreviews',
      timeoutMs: 10_000,
    });
    const user = review.status?.authenticated ? review.status.user : undefined;
    const identity = user?.username
      ? { name: user.username, groups: user.groups ?? [], admin: false, via: 'kubernetes' as const, uid: user.uid, extra: user.extra }
      : undefined;
    remember(this.tokens, key, identity, identity ? TOKEN_TTL_MS : DENIED_TOKEN_TTL_MS);
    return identity;
  }

  async allows(identity: Identity, request: AccessRequest): Promise<boolean> {
    const { plural } = kindDefinition(request.kind);
    return this.review(identity, {
      group: GROUP,
      resource: plural,
      verb: request.verb,
      ...(request.namespace ? { namespace: request.namespace } : {}),
      ...(request.name ? { name: request.name } : {}),
      ...(request.subresource ? { subresource: request.subresource } : {}),
    });
  }

  sees(_identity: Identity, _obj: Resource): boolean {
    return true;
  }

  /** Acting for another person is impersonating them, as kubectl --as asks for. */
  async mayActFor(identity: Identity, login: string): Promise<boolean> {
    if (loginOf(identity) === login) return true;
    return this.review(identity, { group: '', resource: 'users', verb: 'impersonate', name: login });
  }

  private async review(identity: Identity, attributes: Record<string, string>): Promise<boolean> {
    const key = JSON.stringify([identity.name, identity.groups, attributes]);
    const cached = this.decisions.get(key);
    if (cached && cached.until > Date.now()) return cached.value;
    const full = identity as Identity & { uid?: string; extra?: Record<string, string[]> };
    const answer = await this.client.request<{ status?: { allowed?: boolean; reason?: string } }>({
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user: identity.name, groups: [...identity.groups], ...(full.uid ? { uid: full.uid } : {}), ...(full.extra ? { extra: full.extra } : {}), resourceAttributes: attributes },
      },
      verb: 'create',
      resource: 'subjectaccessreviews',
      timeoutMs: 10_000,
    });
    const allowed = answer.status?.allowed === true;
    logger.debug({ user: identity.name, ...attributes, allowed }, 'subject access review');
    remember(this.decisions, key, allowed, DECISION_TTL_MS);
    return allowed;
  }
}

function remember<T>(map: Map<string, Cached<T>>, key: string, value: T, ttlMs: number): void {
  if (map.size >= MAX_ENTRIES) map.clear();
  map.set(key, { value, until: Date.now() + ttlMs });
}
