// The two limits a person meets: a request rate (a token bucket per identity: a burst, refilled per minute) and
// quotas (how many objects of a kind they may hold). A refusal says which limit was hit and when to come back.
// Creates of one person and kind are serialized in this process, so two concurrent requests cannot both pass the
// count and overshoot the quota.
import type { KindName, Resource } from '../../api/types.js';
import type { Store } from '../../store/store.js';
import { OWNER_LABEL, isOwner, ownerLabelValue, type Identity } from '../auth/identity.js';
import { ApiProblem } from '../problem.js';
import type { PortalPolicy } from './policy.js';

interface Bucket {
  tokens: number;
  at: number;
}

const MAX_BUCKETS = 100_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly rate: PortalPolicy['rate']) {}

  /** Takes one request from the person's bucket, or throws a 429 that says when to retry. */
  take(identity: Identity): void {
    const now = Date.now();
    const perMs = this.rate.perMinute / 60_000;
    const bucket = this.buckets.get(identity.name) ?? { tokens: this.rate.burst, at: now };
    bucket.tokens = Math.min(this.rate.burst, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    if (bucket.tokens < 1) {
      const retry = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
      throw new ApiProblem(429, `rate limit: at most ${this.rate.perMinute} requests per minute (bursts of ${this.rate.burst}) for ${identity.name}; retry in ${retry} s`, {
        type: 'https://orion.lab/problems/rate-limit',
        headers: { 'Retry-After': String(retry) },
      });
    }
    bucket.tokens -= 1;
    if (this.buckets.size >= MAX_BUCKETS && !this.buckets.has(identity.name)) this.buckets.clear();
    this.buckets.set(identity.name, bucket);
  }
}

export class Quotas {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: Store,
    private readonly policy: PortalPolicy,
  ) {}

  /** Runs `create` when the person is under their quota of the kind, one create per person and kind at a time. */
  async within<T>(identity: Identity, kind: KindName, create: () => Promise<T>): Promise<T> {
    const limit = identity.admin ? undefined : this.policy.quota(kind);
    if (limit === undefined) return create();
    const key = `${identity.name}\u0000${kind}`;
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => {
      const held = this.held(identity, kind);
      if (held >= limit) {
        throw new ApiProblem(403, `quota: ${identity.name} may hold at most ${limit} ${kind}(s) and holds ${held}; delete one first`, { type: 'https://orion.lab/problems/quota' });
      }
      return create();
    });
    this.locks.set(key, run);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === run) this.locks.delete(key);
    }
  }

  /** Objects of the kind the person owns that are not on their way out. */
  held(identity: Identity, kind: KindName): number {
    const label = ownerLabelValue(identity.name);
    return this.store
      .list<Resource>(kind)
      .filter((o) => o.metadata.labels?.[OWNER_LABEL] === label && isOwner(identity, o) && !o.metadata.deletionTimestamp).length;
  }
}
