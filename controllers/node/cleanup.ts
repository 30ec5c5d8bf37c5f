// Node cleanup: the tenants a node still has to lose. A node that came back keeps the tenants of rentals that left
// it while it was down; a node being deleted keeps its finalizer until its tenants are gone; an allocation whose
// rental no longer exists is stale. This controller runs the release playbook for each tenant of the node's cleanup
// list once it can reach the node, and only then is the node free again (the scheduler skips nodes with pending
// cleanup) or let go of (the finalizer). Each entry carries the uid of the rental that made the account and the
// release playbook of that rental's class (recorded when the rental bound or left: the rental may be gone by now;
// delete_user for entries from before classes), and delete_user removes an account only when the node's marker
// proves it is that rental's.
//
// While tenants wait, the node says so: `CleanupPending=True` names them and why they wait. A deleted node that
// cannot be reached is retried with backoff until it can, or until an admin lets go with the annotation
// `orion.lab/abandon-cleanup: "true"` (the accounts then stay on the machine, and a Warning Event names them).
import { getCondition, type ConditionInput } from '../../src/api/conditions.js';
import type { StatusChange } from '../../src/api/status.js';
import type { NodeResource, NodeStatus, RentalResource } from '../../src/api/types.js';
import { keyOf, parseRefKey, refFromNamespacedName, refOf } from '../../src/api/refs.js';
import type { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import type { ReconcileRequest } from '../../src/runtime/controller.js';
import type { ControllerSetup } from '../../src/runtime/manager.js';
import { ConflictError } from '../../src/store/errors.js';
import { retryOnConflict } from '../../src/store/retry.js';
import { writeStatus, type StatusOf } from '../../src/store/status-writer.js';
import { FINALIZER, type Store, type WatchEvent } from '../../src/store/store.js';
import { describeAnsibleRun } from '../run-summary.js';
import { AdminLoginError, TenantAccess } from './tenant-access.js';

export const DELETE_USER_PLAYBOOK = 'delete_user';
/** Set to "true" on a Node being deleted to let it go without removing its tenants (the machine is gone for good). */
export const ABANDON_CLEANUP_ANNOTATION = 'orion.lab/abandon-cleanup';
export const CLEANUP_PENDING = 'CleanupPending';

type CleanupEntry = NonNullable<NodeStatus['cleanup']>[number];

export function nodeCleanupController(store: Store, runner: AnsibleRunner, concurrency = 4): ControllerSetup {
  const steps = new NodeCleanup(store, new TenantAccess(store, runner));
  return {
    name: 'node-cleanup',
    kind: 'Node',
    reconcile: (request) => steps.reconcile(request),
    concurrency,
    // A rental that is gone leaves its allocation behind when its finalizer was taken off by other means.
    watches: [{ kind: 'Rental', map: (event) => nodesHeldBy(store, event) }],
  };
}

function nodesHeldBy(store: Store, event: WatchEvent): string[] {
  if (event.type !== 'DELETED') return [];
  const rental = event.object as RentalResource;
  return store
    .list<NodeResource>('Node', rental.metadata.namespace)
    .filter((n) => n.status?.allocation?.uid === rental.metadata.uid)
    .map(keyOf);
}

class NodeCleanup {
  constructor(
    private readonly store: Store,
    private readonly access: TenantAccess,
  ) {}

  async reconcile({ key, signal }: ReconcileRequest): Promise<void> {
    let node = this.store.get<NodeResource>(parseRefKey(key));
    if (!node) return;
    if (!node.metadata.finalizers?.includes(FINALIZER)) {
      // The finalizer goes on before any tenant can be placed here; its watch event brings the node back.
      if (!node.metadata.deletionTimestamp) await this.store.addFinalizer(node, FINALIZER);
      return;
    }
    node = await this.clearStaleAllocation(node);
    if (node.metadata.deletionTimestamp) return this.finalize(node, signal);
    if ((node.status?.cleanup ?? []).length === 0) {
      await this.settled(node);
      return;
    }
    // A live node is cleaned once its probes say it is Alive.
    if (node.status?.health !== 'Alive') {
      await this.pending(node, `node is ${node.status?.health ?? 'Unknown'}; the release playbook runs when it is Alive`);
      return;
    }
    await this.removeAll(node, signal);
  }

  /**
   * A node being deleted lets go once it has no tenant left: its rental has moved off (the rental controller does
   * that), and the release playbook ran for each cleanup entry. It is no longer probed: the run is the probe.
   */
  private async finalize(node: NodeResource, signal: AbortSignal): Promise<void> {
    if (node.metadata.annotations?.[ABANDON_CLEANUP_ANNOTATION] === 'true') return this.abandon(node);
    const waitingFor = node.status?.allocation?.rental;
    if (waitingFor) {
      await this.pending(node, `waiting for rental ${waitingFor} to move off the node`);
      return;
    }
    if ((node.status?.cleanup ?? []).length > 0) {
      await this.removeAll(node, signal);
      return; // the last removal's status write brings the node back, with nothing left to remove
    }
    await this.store.removeFinalizer(await this.settled(node), FINALIZER);
  }

  private async removeAll(node: NodeResource, signal: AbortSignal): Promise<void> {
    for (const entry of node.status?.cleanup ?? []) await this.remove(node, entry, signal);
  }

  /** No tenant left: CleanupPending goes False (when it was ever set). */
  private settled(node: NodeResource): Promise<NodeResource> {
    return this.setPending(node, { type: CLEANUP_PENDING, status: 'False', reason: 'NoTenantsLeft', message: 'no tenant to remove' });
  }

  /** Runs the release playbook for one tenant and drops its entry; a failure is written as CleanupPending and retried. */
  private async remove(node: NodeResource, entry: CleanupEntry, signal: AbortSignal): Promise<void> {
    if (!entry.uid) {
      // Recorded before accounts carried their rental's marker: nothing proves the account is Orion's.
      await this.dropEntry(node, entry.user);
      await this.store.recordEvent(node, { type: 'Warning', reason: 'TenantLeftInPlace', message: `user ${entry.user} of ${entry.rental} has no rental uid to prove it is Orion's; left on the node` });
      return;
    }
    const playbook = entry.playbook ?? DELETE_USER_PLAYBOOK;
    let message: string | undefined;
    try {
      const result = await this.access.run({ node, playbook, user: entry.user, ownerUid: entry.uid, owner: refOf(node), signal });
      if (result.result !== 'success') message = `${playbook} ${entry.user}: ${describeAnsibleRun(result)}`;
    } catch (err) {
      if (!(err instanceof AdminLoginError)) message = `${playbook} ${entry.user}: ${(err as Error).message}`;
      // The node's own login: Orion never made it, so there is nothing to remove.
    }
    if (message) {
      await this.pending(node, message);
      throw new Error(`${message} on ${node.metadata.name}`);
    }
    await this.dropEntry(node, entry.user);
    await this.store.recordEvent(node, { type: 'Normal', reason: 'TenantRemoved', message: `user ${entry.user} of ${entry.rental} removed` });
  }

  /** An allocation naming a rental that no longer exists: cleared, its tenant goes to the cleanup list. */
  private async clearStaleAllocation(node: NodeResource): Promise<NodeResource> {
    const allocation = node.status?.allocation;
    if (!allocation?.rental || this.rentalExists(allocation.rental, allocation.uid)) return node;
    const written = await this.updateNode(node, (status) => {
      const current = status.allocation;
      if (!current || current.uid !== allocation.uid || this.rentalExists(allocation.rental ?? '', allocation.uid)) return undefined;
      const others = (status.cleanup ?? []).filter((c) => c.user !== current.user);
      const cleanup = current.user
        ? [...others, {
            user: current.user,
            rental: current.rental ?? '',
            ...(current.uid ? { uid: current.uid } : {}),
            ...(current.releasePlaybook ? { playbook: current.releasePlaybook } : {}),
            reason: 'RentalGone',
            since: new Date().toISOString(),
          }]
        : status.cleanup;
      return { fields: { allocation: undefined, cleanup } };
    });
    await this.store.recordEvent(node, {
      type: 'Warning',
      reason: 'StaleAllocation',
      message: allocation.user
        ? `rental ${allocation.rental} no longer exists; its user ${allocation.user} is to be removed`
        : `rental ${allocation.rental} no longer exists; its allocation named no user (made before Orion recorded it): check the node`,
    });
    return written;
  }

  private rentalExists(rental: string, uid: string | undefined): boolean {
    let found: RentalResource | undefined;
    try {
      found = this.store.get<RentalResource>(refFromNamespacedName('Rental', rental));
    } catch {
      return false; // not a namespace/name: no rental can hold it
    }
    return found !== undefined && (uid === undefined || found.metadata.uid === uid);
  }

  private async abandon(node: NodeResource): Promise<void> {
    const tenants = tenantsOf(node);
    if (tenants.length > 0) {
      await this.store.recordEvent(node, { type: 'Warning', reason: 'CleanupAbandoned', message: `${ABANDON_CLEANUP_ANNOTATION}: left on the machine: ${tenants.join(', ')}` });
    }
    await this.store.removeFinalizer(node, FINALIZER);
  }

  private async pending(node: NodeResource, why: string): Promise<NodeResource> {
    const tenants = tenantsOf(node);
    return this.setPending(node, { type: CLEANUP_PENDING, status: 'True', reason: 'TenantsLeft', message: `${tenants.join(', ') || 'no tenant'}: ${why}` });
  }

  private async setPending(node: NodeResource, condition: ConditionInput): Promise<NodeResource> {
    const previous = getCondition(node.status?.conditions, CLEANUP_PENDING);
    if (!previous && condition.status === 'False') return node; // nothing was ever pending: no write
    if (previous?.status === condition.status && previous.message === condition.message) return node;
    return this.updateNode(node, () => ({ conditions: [condition] }));
  }

  private async dropEntry(node: NodeResource, user: string): Promise<void> {
    await this.updateNode(node, (status) => ({ fields: { cleanup: (status.cleanup ?? []).filter((c) => c.user !== user) } }));
  }

  /** Applies a change to the node's latest status; the change is undefined when there is nothing to write. */
  private async updateNode(node: NodeResource, change: (status: NodeStatus) => StatusChange<StatusOf<NodeResource>> | undefined): Promise<NodeResource> {
    return retryOnConflict(async () => {
      const current = this.store.get<NodeResource>(refOf(node));
      if (!current) return node;
      const next = change(current.status ?? {});
      return next ? writeStatus(this.store, current, next) : current;
    }, { gaveUp: () => new ConflictError(`node ${node.metadata.name} kept changing while recording its cleanup`) });
  }
}

/** "user (rental)" for every tenant the node still has: its allocation's and its cleanup list's. */
function tenantsOf(node: NodeResource): string[] {
  const allocation = node.status?.allocation;
  const held = allocation?.rental ? [`${allocation.user ?? '?'} (${allocation.rental})`] : [];
  return [...held, ...(node.status?.cleanup ?? []).map((c) => `${c.user} (${c.rental})`)];
}
