// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: a candidate
// takes the Lease when it is free or its holder has not renewed it within leaseDuration (measured on
// the candidate's own clock from when it last saw the record change), the leader renews it every
// retryPeriod, and steps down when it could not renew for renewDeadline. Every write carries the Lease's
// resourceVersion, so two candidates can never both win. On a graceful stop the leader releases the
// Lease so a standby takes over at once.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Elector } from '../runtime/manager.js';
import { logger } from '../telemetry/logger.js';
import { KubeApiError, type KubeClient } from './client.js';
import { microTime } from './events.js';

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name?: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  /** Called once when leadership is lost (renewal failed past the deadline). */
  onLost: () => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: LeaseSpec;
}

export const DEFAULT_LEASE_NAME = 'orion-leader';

export class LeaderElector implements Elector {
  private lease?: Lease;
  private observedAt = 0;
  private leading = false;
  private stopped = false;
  private renewLoop?: Promise<void>;
  private readonly wake = new AbortController();
  private readonly durationMs: number;
  private readonly deadlineMs: number;
  private readonly retryMs: number;
  private readonly log;

  constructor(private readonly options: LeaderElectionOptions) {
    this.durationMs = (options.leaseDurationSeconds ?? 15) * 1000;
    this.deadlineMs = (options.renewDeadlineSeconds ?? 10) * 1000;
    this.retryMs = (options.retryPeriodSeconds ?? 2) * 1000;
    this.log = logger.child({ component: 'leader-election', lease: `${options.namespace}/${this.name}`, identity: options.identity });
  }

  get name(): string {
    return this.options.name ?? DEFAULT_LEASE_NAME;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Resolves once this process holds the Lease (never, while another healthy leader holds it). */
  async acquire(): Promise<void> {
    this.log.info('waiting for leadership');
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        this.log.info('became leader');
        this.renewLoop = this.renew();
        return;
      }
      await this.pause(this.retryMs);
    }
    throw new Error('leader election stopped before leadership was acquired');
  }

  /** Stops renewing and, when leading, releases the Lease so another candidate can take it at once. */
  async release(): Promise<void> {
    this.stopped = true;
    this.wake.abort();
    await this.renewLoop;
    if (!this.leading || !this.lease || this.lease.spec.holderIdentity !== this.options.identity) return;
    this.leading = false;
    const now = microTime(new Date());
    try {
      await this.update({ ...this.lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now });
      this.log.info('released the lease');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not release the lease');
    }
  }

  private async renew(): Promise<void> {
    let lastRenew = Date.now();
    while (!this.stopped) {
      await this.pause(this.retryMs);
      if (this.stopped) return;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = Date.now();
        continue;
      }
      if (Date.now() - lastRenew >= this.deadlineMs || !this.stillOurs()) {
        this.leading = false;
        this.log.error({ sinceRenewMs: Date.now() - lastRenew }, 'leadership lost');
        this.options.onLost();
        return;
      }
    }
  }

  /** One round of client-go's tryAcquireOrRenew. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    try {
      const current = await this.get();
      if (!current) return await this.create(now);
      this.observe(current);
      const spec = current.spec;
      const holder = spec.holderIdentity ?? '';
      const ours = holder === this.options.identity;
      const expired = Date.now() > this.observedAt + (spec.leaseDurationSeconds ?? 15) * 1000;
      if (holder && !ours && !expired) return false;
      const next: LeaseSpec = {
        ...spec,
        holderIdentity: this.options.identity,
        leaseDurationSeconds: this.durationMs / 1000,
        renewTime: microTime(now),
      };
      if (!ours) {
        next.acquireTime = microTime(now);
        next.leaseTransitions = (spec.leaseTransitions ?? 0) + (holder ? 1 : 0);
      }
      await this.update(next);
      return true;
    } catch (err) {
      const conflict = err instanceof KubeApiError && (err.statusCode === 409 || err.statusCode === 422);
      if (!conflict) this.log.warn({ err: (err as Error).message }, 'lease request failed');
      return false;
    }
  }

  private stillOurs(): boolean {
    return this.lease?.spec.holderIdentity === this.options.identity;
  }

  private observe(lease: Lease): void {
    const before = this.lease;
    if (!before || before.metadata.resourceVersion !== lease.metadata.resourceVersion) this.observedAt = Date.now();
    this.lease = lease;
  }

  private path(name?: string): string {
    const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.options.namespace)}/leases`;
    return name ? `${base}/${encodeURIComponent(name)}` : base;
  }

  private async get(): Promise<Lease | undefined> {
    try {
      return await this.options.client.request<Lease>({ method: 'GET', path: this.path(this.name), verb: 'get', resource: 'leases', timeoutMs: this.deadlineMs / 2 });
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  private async create(now: Date): Promise<boolean> {
    const spec: LeaseSpec = {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: this.durationMs / 1000,
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    const lease = await this.options.client.request<Lease>({
      method: 'POST',
      path: this.path(),
      verb: 'create',
      resource: 'leases',
      body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.name, namespace: this.options.namespace }, spec },
    });
    this.observe(lease);
    return true;
  }

  private async update(spec: LeaseSpec): Promise<void> {
    if (!this.lease) throw new Error('no lease observed');
    const lease = await this.options.client.request<Lease>({
      method: 'PUT',
      path: this.path(this.name),
      verb: 'update',
      resource: 'leases',
      timeoutMs: this.deadlineMs / 2,
      body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: this.lease.metadata, spec },
    });
    this.observe(lease);
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.wake.signal }).catch(() => undefined);
  }
}
