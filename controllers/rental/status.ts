// How a Rental's status reads for each step of its life. Each function returns a new status.
import { setCondition, type ConditionInput } from '../../src/api/conditions.js';
import type { NodeResource, RentalResource, RentalStatus } from '../../src/api/types.js';

type Phase = NonNullable<RentalStatus['phase']>;
const MAX_HISTORY = 20;

export function withConditions(rental: RentalResource, status: RentalStatus, conditions: ConditionInput[]): RentalStatus {
  let list = status.conditions ?? rental.status?.conditions;
  for (const c of conditions) list = setCondition(list, c, rental.metadata.generation);
  return { ...status, observedGeneration: rental.metadata.generation, conditions: list };
}

export function phaseStatus(rental: RentalResource, phase: Phase, conditions: ConditionInput[], extra: Partial<RentalStatus> = {}): RentalStatus {
  return withConditions(rental, { ...rental.status, ...extra, phase }, conditions);
}

export function boundStatus(rental: RentalResource, node: NodeResource, migrating: boolean): RentalStatus {
  const now = new Date().toISOString();
  const history = [...(rental.status?.history ?? []), { node: node.metadata.name, reason: migrating ? 'Failover' : 'Scheduled', from: now }];
  return phaseStatus(
    rental,
    migrating ? 'Migrating' : 'Provisioning',
    [
      { type: 'Scheduled', status: 'True', reason: 'Bound', message: `bound to node ${node.metadata.name}` },
      { type: 'Provisioned', status: 'False', reason: 'Provisioning', message: 'creating the tenant user' },
      { type: 'Ready', status: 'False', reason: 'Provisioning', message: `provisioning on ${node.metadata.name}` },
    ],
    {
      nodeName: node.metadata.name,
      boundAt: now,
      connection: { host: node.spec.address, port: node.spec.port, user: rental.spec.user },
      history: history.slice(-MAX_HISTORY),
    },
  );
}

/** Closes the open binding in the history and forgets the node. */
export function unboundStatus(rental: RentalResource, phase: Phase, reason: string, message: string, extra: Partial<RentalStatus> = {}): RentalStatus {
  const now = new Date().toISOString();
  const history = (rental.status?.history ?? []).map((h, i, all) => (i === all.length - 1 && !h.to ? { ...h, to: now } : h));
  const status = phaseStatus(
    rental,
    phase,
    [
      { type: 'Scheduled', status: 'False', reason, message },
      { type: 'Provisioned', status: 'False', reason, message },
      { type: 'Ready', status: 'False', reason, message },
    ],
    { ...extra, history },
  );
  delete status.nodeName;
  delete status.connection;
  delete status.provisionedHash;
  delete status.boundAt;
  return status;
}

/** The status a create_user run starts from: newly bound, a renamed user, or the current one. */
export function startingStatus(rental: RentalResource, node: NodeResource, previousUser: string | undefined): RentalStatus | undefined {
  if (rental.status?.nodeName !== node.metadata.name) return boundStatus(rental, node, rental.status?.failoverStartedAt !== undefined);
  if (previousUser === rental.spec.user) return rental.status;
  const connection = { host: node.spec.address, port: node.spec.port, user: rental.spec.user };
  return phaseStatus(rental, 'Provisioning', [
    { type: 'Ready', status: 'False', reason: 'Provisioning', message: `creating user ${rental.spec.user}` },
  ], { connection });
}
