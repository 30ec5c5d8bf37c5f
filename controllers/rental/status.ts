// How a Rental's status changes at each step of its life, as changes for the one status writer (src/api/status.ts).
import type { StatusChange } from '../../src/api/status.js';
import type { NodeResource, RentalResource, RentalStatus } from '../../src/api/types.js';

type Phase = NonNullable<RentalStatus['phase']>;
const MAX_HISTORY = 20;

export function boundChange(rental: RentalResource, node: NodeResource, migrating: boolean): StatusChange<RentalStatus> {
  const now = new Date().toISOString();
  const history = [...(rental.status?.history ?? []), { node: node.metadata.name, reason: migrating ? 'Failover' : 'Scheduled', from: now }];
  return {
    phase: migrating ? 'Migrating' : 'Provisioning',
    conditions: [
      { type: 'Scheduled', status: 'True', reason: 'Bound', message: `bound to node ${node.metadata.name}` },
      { type: 'Provisioned', status: 'False', reason: 'Provisioning', message: 'creating the tenant user' },
      { type: 'Ready', status: 'False', reason: 'Provisioning', message: `provisioning on ${node.metadata.name}` },
    ],
    fields: {
      nodeName: node.metadata.name,
      boundAt: now,
      connection: { host: node.spec.address, port: node.spec.port, user: rental.spec.user },
      history: history.slice(-MAX_HISTORY),
    },
  };
}

/** Closes the open binding in the history and forgets the node. */
export function unboundChange(rental: RentalResource, phase: Phase, reason: string, message: string, fields: Partial<RentalStatus> = {}): StatusChange<RentalStatus> {
  const now = new Date().toISOString();
  const history = (rental.status?.history ?? []).map((h, i, all) => (i === all.length - 1 && !h.to ? { ...h, to: now } : h));
  return {
    phase,
    conditions: [
      { type: 'Scheduled', status: 'False', reason, message },
      { type: 'Provisioned', status: 'False', reason, message },
      { type: 'Ready', status: 'False', reason, message },
    ],
    fields: { ...fields, history, nodeName: undefined, connection: undefined, provisionedHash: undefined, boundAt: undefined },
  };
}

/** The change a create_user run starts from: newly bound, a renamed user, or none (the current status). */
export function startingChange(rental: RentalResource, node: NodeResource, previousUser: string | undefined): StatusChange<RentalStatus> | undefined {
  if (rental.status?.nodeName !== node.metadata.name) return boundChange(rental, node, rental.status?.failoverStartedAt !== undefined);
  if (previousUser === rental.spec.user) return undefined;
  return {
    phase: 'Provisioning',
    conditions: [{ type: 'Ready', status: 'False', reason: 'Provisioning', message: `creating user ${rental.spec.user}` }],
    fields: { connection: { host: node.spec.address, port: node.spec.port, user: rental.spec.user } },
  };
}

/**
 * The ClassTerms condition of a bound rental: False with the refusal while its class no longer allows what it asks
 * (it keeps its node), True once it fits again; nothing while it never stopped fitting.
 */
export function classTermsChange(rental: RentalResource, refusal?: string): StatusChange<RentalStatus> | undefined {
  if (refusal) return { conditions: [{ type: 'ClassTerms', status: 'False', reason: 'ClassRefused', message: refusal }] };
  const current = rental.status?.conditions?.find((c) => c.type === 'ClassTerms');
  if (!current || current.status === 'True') return undefined;
  return { conditions: [{ type: 'ClassTerms', status: 'True', reason: 'Fits', message: 'the rental fits its class' }] };
}
