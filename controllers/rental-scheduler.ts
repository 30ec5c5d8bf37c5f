// Binds rentals to nodes. A node is free when it is Alive, not cordoned, held by no rental and has no
// tenant left to clean up. The claim is a status write on the Node guarded by its resourceVersion, so
// two rentals can never hold one node whatever the concurrency: the loser gets a conflict and moves on.
import type { NodeResource, NodeStatus, RentalResource } from '../src/api/types.js';
import { ConflictError } from '../src/runtime/errors.js';
import type { Store } from '../src/store/store.js';

export type Placement =
  | { bound: NodeResource }
  | { unschedulable: 'NoMatchingNode' | 'NoHealthyNode'; message: string };

export function rentalId(rental: RentalResource): string {
  return `${rental.metadata.namespace}/${rental.metadata.name}`;
}

export function matchesSelector(node: NodeResource, rental: RentalResource): boolean {
  const wanted = rental.spec.nodeSelector.matchLabels ?? {};
  const labels = node.metadata.labels ?? {};
  return Object.entries(wanted).every(([key, value]) => labels[key] === value);
}

export function isFree(node: NodeResource): boolean {
  const status = node.status;
  return (
    status?.health === 'Alive' &&
    !node.spec.unschedulable &&
    !node.metadata.deletionTimestamp &&
    !status.allocation?.rental &&
    (status.cleanup ?? []).length === 0
  );
}

/** The node this rental holds, found from the node side (survives a crash between the two writes). */
export function heldNode(store: Store, rental: RentalResource): NodeResource | undefined {
  return store
    .list<NodeResource>('Node', rental.metadata.namespace)
    .find((n) => n.status?.allocation?.uid === rental.metadata.uid);
}

export class RentalScheduler {
  constructor(private readonly store: Store) {}

  /** Claims a free matching node for the rental, or says why none can be had. */
  async place(rental: RentalResource, avoid: ReadonlySet<string> = new Set()): Promise<Placement> {
    const matching = this.store
      .list<NodeResource>('Node', rental.metadata.namespace)
      .filter((n) => matchesSelector(n, rental));
    if (matching.length === 0) {
      return { unschedulable: 'NoMatchingNode', message: `no Node matches the selector ${describeSelector(rental)}` };
    }
    // Spread rentals over nodes: start at an offset derived from the rental's uid, then go round.
    const candidates = matching.filter((n) => isFree(n) && !avoid.has(n.metadata.name)).sort(byName);
    const offset = candidates.length > 0 ? hashOf(rental.metadata.uid) % candidates.length : 0;
    for (let i = 0; i < candidates.length; i++) {
      const node = candidates[(offset + i) % candidates.length] as NodeResource;
      const claimed = await this.claim(node, rental);
      if (claimed) return { bound: claimed };
    }
    return {
      unschedulable: 'NoHealthyNode',
      message: `none of the ${matching.length} matching node(s) is Alive and free`,
    };
  }

  /** Writes the allocation on the node; undefined when another writer got there first. */
  private async claim(node: NodeResource, rental: RentalResource): Promise<NodeResource | undefined> {
    const current = this.store.get<NodeResource>({ kind: 'Node', namespace: node.metadata.namespace, name: node.metadata.name });
    if (!current || !isFree(current)) return undefined;
    const status: NodeStatus = {
      ...current.status,
      allocation: { rental: rentalId(rental), uid: rental.metadata.uid, since: new Date().toISOString() },
    };
    try {
      return await this.store.updateStatus(current, status);
    } catch (err) {
      if (err instanceof ConflictError) return undefined;
      throw err;
    }
  }

  /**
   * Lets go of the node: clears the allocation and, when the tenant could not be removed there,
   * records it for cleanup so the node is not free again before `delete_user` ran on it.
   */
  async release(node: NodeResource, rental: RentalResource, cleanupReason?: string): Promise<void> {
    await this.updateNode(node, (status) => {
      if (status.allocation?.uid === rental.metadata.uid) delete status.allocation;
      if (cleanupReason) addCleanupEntry(status, tenantOnNode(rental), rental, cleanupReason);
    });
  }

  /** Records a tenant to remove from a node the rental keeps (its user was renamed). */
  async addCleanup(node: NodeResource, user: string, rental: RentalResource, reason: string): Promise<void> {
    await this.updateNode(node, (status) => addCleanupEntry(status, user, rental, reason));
  }

  private async updateNode(node: NodeResource, change: (status: NodeStatus) => void): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = this.store.get<NodeResource>({ kind: 'Node', namespace: node.metadata.namespace, name: node.metadata.name });
      if (!current) return;
      const status: NodeStatus = { ...current.status };
      change(status);
      try {
        await this.store.updateStatus(current, status);
        return;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    }
    throw new ConflictError(`node ${node.metadata.name} kept changing while updating its allocation`);
  }
}

/** The login the rental has on its node: the provisioned one, which may differ from a just-edited spec. */
export function tenantOnNode(rental: RentalResource): string {
  return rental.status?.connection?.user ?? rental.spec.user;
}

function addCleanupEntry(status: NodeStatus, user: string, rental: RentalResource, reason: string): void {
  const others = (status.cleanup ?? []).filter((c) => c.user !== user);
  status.cleanup = [...others, { user, rental: rentalId(rental), reason, since: new Date().toISOString() }];
}

function describeSelector(rental: RentalResource): string {
  const labels = rental.spec.nodeSelector.matchLabels ?? {};
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  return parts.length > 0 ? parts.join(',') : '(any)';
}

function byName(a: NodeResource, b: NodeResource): number {
  return a.metadata.name.localeCompare(b.metadata.name);
}

function hashOf(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (hash * 31 + text.charCodeAt(i)) >>> 0;
  return hash;
}
