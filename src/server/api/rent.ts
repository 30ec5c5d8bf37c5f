// POST /api/rent (seed 004): a Rental for the caller, answered once it is Ready with host, port and user — or a
// 503 with Retry-After when no healthy node is free, leaving nothing behind. How the answer is decided (ADR 11):
//
//   0. The RentalClass the spec names (or the default) must allow what it asks: otherwise 400, nothing created.
//   1. Fast refusal from the scheduler's own index: free matching Nodes of the class's pool (NodeIndex, kept from Node events) minus
//      the rents this process is still deciding. None left: 503 at once, nothing created. This is what makes a
//      503 cheap and what keeps 40 concurrent requests on 20 nodes from creating 40 Rentals.
//   2. Otherwise a reservation, and the Rental is created; the Rental controller binds it as it binds any Rental
//      (the claim on the Node guarded by its resourceVersion: no double booking, ADR 3). The decision is observed,
//      not guessed: a Node whose allocation names the Rental's uid (bound), or the Rental Unschedulable (another
//      writer took the last node: the Rental is deleted and the answer is 503).
//   3. Bound: wait for Ready (bounded), then 200 with the connection; past the bound, 202 with a Location.
import { refOf } from '../../api/refs.js';
import type { NodeResource, RentalResource, RentalSpec } from '../../api/types.js';
import type { Identity } from '../auth/identity.js';
import { ApiProblem } from '../problem.js';
import { authorize, type NodePlacement, type Portal } from './context.js';
import { createObject } from './writes.js';
import { termsForRequest } from './rental-classes.js';

export const RETRY_AFTER_SECONDS = 10;

export type RentOutcome =
  | { state: 'ready'; rental: RentalResource }
  | { state: 'accepted'; rental: RentalResource };

export interface RentRequest {
  namespace: string;
  spec: Record<string, unknown>;
  /** false: answer as soon as the Rental exists (202). */
  wait: boolean;
}

export class RentDesk {
  private readonly index: NodePlacement;
  private readonly deciding = new Map<string, number>();

  constructor(private readonly portal: Portal) {
    this.index = portal.nodes;
  }

  async rent(identity: Identity, request: RentRequest): Promise<RentOutcome> {
    const { namespace } = request;
    await authorize(this.portal, identity, { verb: 'create', kind: 'Rental', namespace }); // before telling anything
    const pool = termsForRequest(this.portal.store, request.spec as RentalSpec).nodeSelector;
    const wanted = (request.spec.nodeSelector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels ?? {};
    const free = this.index.freeNodes(namespace).filter((n) => hasLabels(n, pool) && hasLabels(n, wanted)).length;
    if (free - (this.deciding.get(namespace) ?? 0) <= 0) throw noNodeFree();
    this.deciding.set(namespace, (this.deciding.get(namespace) ?? 0) + 1);
    let decided = false;
    const decide = (): void => {
      if (decided) return;
      decided = true;
      this.deciding.set(namespace, (this.deciding.get(namespace) ?? 1) - 1);
    };
    try {
      const rental = await createObject<RentalResource>(this.portal, identity, { kind: 'Rental', namespace, body: { metadata: {}, spec: request.spec } });
      if (!request.wait) {
        void this.decision(rental).finally(decide);
        return { state: 'accepted', rental };
      }
      const bound = await this.decision(rental).finally(decide);
      if (bound === 'unschedulable') {
        await this.portal.store.delete(refOf(rental), { uid: rental.metadata.uid }).catch(() => undefined);
        throw noNodeFree();
      }
      return await this.ready(rental);
    } finally {
      decide();
    }
  }

  /** Bound (a Node holds the Rental's uid), unschedulable, or gone; bounded by the rent wait. */
  private decision(rental: RentalResource): Promise<'bound' | 'unschedulable' | 'timeout'> {
    const { store } = this.portal;
    const look = (): 'bound' | 'unschedulable' | undefined => {
      if (this.index.heldNode(rental)) return 'bound';
      const current = store.get<RentalResource>(refOf(rental));
      if (!current || current.metadata.uid !== rental.metadata.uid) return 'unschedulable';
      const phase = current.status?.phase;
      if (phase === 'Unschedulable' || phase === 'Failed') return 'unschedulable';
      return current.status?.nodeName ? 'bound' : undefined;
    };
    return this.until(look, ['Node', 'Rental'], this.portal.policy.waitSeconds.rent * 1000, 'timeout');
  }

  /** The Rental once Ready (200), or as it is when the wait runs out (202). A Failed one is an error to read. */
  private async ready(rental: RentalResource): Promise<RentOutcome> {
    const { store } = this.portal;
    const look = (): RentOutcome | undefined => {
      const current = store.get<RentalResource>(refOf(rental));
      if (!current) throw new ApiProblem(409, `rental ${rental.metadata.name} was deleted while it was being made`);
      if (current.status?.phase === 'Ready') return { state: 'ready', rental: current };
      if (current.status?.phase === 'Failed') {
        const message = current.status.conditions?.find((c) => c.type === 'Ready')?.message ?? 'provisioning failed';
        throw new ApiProblem(502, `rental ${rental.metadata.name} failed: ${message}`);
      }
      return undefined;
    };
    const outcome = await this.until(look, ['Rental'], this.portal.policy.waitSeconds.rent * 1000, undefined);
    return outcome ?? { state: 'accepted', rental: store.get<RentalResource>(refOf(rental)) ?? rental };
  }

  /** Resolves with the first defined answer of `look`, checked at once and on every event of the kinds. */
  private until<T, D>(look: () => T | undefined, kinds: Array<'Node' | 'Rental'>, timeoutMs: number, onTimeout: D): Promise<T | D> {
    return new Promise((resolve, reject) => {
      const offs: Array<() => void> = [];
      const done = (settle: () => void): void => {
        clearTimeout(timer);
        offs.forEach((off) => off());
        settle();
      };
      const check = (): void => {
        try {
          const answer = look();
          if (answer !== undefined) done(() => resolve(answer));
        } catch (err) {
          done(() => reject(err));
        }
      };
      const timer = setTimeout(() => done(() => resolve(onTimeout)), timeoutMs);
      for (const kind of kinds) offs.push(this.portal.store.watch(kind, check));
      check();
    });
  }

  /** The Node a Rental holds, for the answer. */
  nodeOf(rental: RentalResource): NodeResource | undefined {
    return this.index.heldNode(rental);
  }
}

/** The scheduler's selector, as a rent asks it: every label matches. */
function hasLabels(node: NodeResource, wanted: Record<string, string>): boolean {
  const labels = node.metadata.labels ?? {};
  return Object.entries(wanted).every(([key, value]) => labels[key] === value);
}

function noNodeFree(): ApiProblem {
  return new ApiProblem(503, 'no healthy node is free right now; nothing was reserved — retry later', {
    type: 'https://orion.lab/problems/no-node-free',
    headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
  });
}
