// Binds rentals to nodes. A node is free when it is Alive, not cordoned, held by no rental and has no
// tenant left to clean up. The claim is a status write on the Node guarded by its resourceVersion, so
// two rentals can never hold one node whatever the concurrency: the loser gets a conflict and moves on.
import type { StatusPatch } from '../../src/api/status.js';
import type { NodeResource, NodeStatus, RentalClassResource, RentalResource } from '../../src/api/types.js';
import { keyOf, namespacedName, parseRefKey, refOf } from '../../src/api/refs.js';
import { ConflictError } from '../../src/store/errors.js';
import { retryOnConflict } from '../../src/store/retry.js';
import { writeStatus } from '../../src/store/status-writer.js';
import type { Store } from '../../src/store/store.js';
import { releasePlaybookOf } from './class.js';

const MAX_PLACE_ROUNDS = 3;

export type Placement =
  | { bound: NodeResource }
  | { unschedulable: 'NoMatchingNode' | 'NoHealthyNode'; message: string };

/** How a Node's allocation and cleanup entries name the rental: "namespace/name". */
export function rentalId(rental: RentalResource): string {
  return namespacedName(rental.metadata);
}

/**
 * Whether the node is in the rental's class pool and matches the rental's own selector: both must match, so a
 * tenant's selector narrows the class's pool and never widens it.
 */
export function matchesSelector(node: NodeResource, rental: RentalResource, pool: Readonly<Record<string, string>> = {}): boolean {
  const labels = node.metadata.labels ?? {};
  const has = (wanted: Readonly<Record<string, string>>): boolean => Object.entries(wanted).every(([key, value]) => labels[key] === value);
  return has(pool) && has(rental.spec.nodeSelector.matchLabels ?? {});
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

/**
 * The Nodes as the scheduler needs them, kept in step with the store's Node events so that a reconcile does not
 * scan every node: which node holds which rental (found from the node side: the claim is the binding, so this
 * survives a crash between the claim and the rental's status write) and which nodes are free. Nodes are always
 * read back from the store and checked again.
 */
export class NodeIndex {
  private readonly nodeOf = new Map<string, string>(); // rental uid → node key
  private readonly rentalOn = new Map<string, string>(); // node key → rental uid
  private readonly all = new Map<string, Set<string>>(); // namespace → node keys
  private readonly free = new Map<string, Set<string>>(); // namespace → keys of free nodes

  constructor(private readonly store: Store) {
    store.watch('Node', (event) => this.track(event.object as NodeResource, event.type === 'DELETED'));
    for (const node of store.list<NodeResource>('Node')) this.track(node, false);
  }

  /** The node this rental holds. */
  heldNode(rental: RentalResource): NodeResource | undefined {
    const key = this.nodeOf.get(rental.metadata.uid);
    const node = key === undefined ? undefined : this.store.get<NodeResource>(parseRefKey(key));
    return node?.status?.allocation?.uid === rental.metadata.uid ? node : undefined;
  }

  freeNodes(namespace: string): NodeResource[] {
    return this.read(this.free.get(namespace)).filter(isFree);
  }

  /** Whether some node of the namespace passes the test (stops at the first). */
  some(namespace: string, test: (node: NodeResource) => boolean): boolean {
    for (const key of this.all.get(namespace) ?? []) {
      const node = this.store.get<NodeResource>(parseRefKey(key));
      if (node && test(node)) return true;
    }
    return false;
  }

  private read(keys: Set<string> | undefined): NodeResource[] {
    const nodes: NodeResource[] = [];
    for (const key of keys ?? []) {
      const node = this.store.get<NodeResource>(parseRefKey(key));
      if (node) nodes.push(node);
    }
    return nodes;
  }

  private track(node: NodeResource, deleted: boolean): void {
    const key = keyOf(node);
    const namespace = node.metadata.namespace;
    setMember(this.all, namespace, key, !deleted);
    setMember(this.free, namespace, key, !deleted && isFree(node));
    const previous = this.rentalOn.get(key);
    const uid = deleted ? undefined : node.status?.allocation?.uid;
    if (previous === uid) return;
    if (previous !== undefined && this.nodeOf.get(previous) === key) this.nodeOf.delete(previous);
    if (uid === undefined) {
      this.rentalOn.delete(key);
      return;
    }
    this.rentalOn.set(key, uid);
    this.nodeOf.set(uid, key);
  }
}

function setMember(sets: Map<string, Set<string>>, namespace: string, key: string, member: boolean): void {
  let set = sets.get(namespace);
  if (member) {
    if (!set) sets.set(namespace, (set = new Set()));
    set.add(key);
  } else if (set) {
    set.delete(key);
    if (set.size === 0) sets.delete(namespace);
  }
}

export class RentalScheduler {
  /** Nodes this process is claiming right now: other rentals here pass them by instead of racing for them. */
  private readonly claiming = new Map<string, Promise<unknown>>();
  readonly nodes: NodeIndex;

  constructor(private readonly store: Store) {
    this.nodes = new NodeIndex(store);
  }

  /** Claims a free node of the class's pool matching the rental's selector, or says why none can be had. */
  async place(rental: RentalResource, pool: Readonly<Record<string, string>> = {}, avoid: ReadonlySet<string> = new Set()): Promise<Placement> {
    const namespace = rental.metadata.namespace;
    if (!this.nodes.some(namespace, (n) => matchesSelector(n, rental, pool))) {
      return { unschedulable: 'NoMatchingNode', message: `no Node matches the selector ${describeSelector(rental, pool)}` };
    }
    // A free node another rental of this process is claiming may be left to us if that claim fails: wait for
    // those claims (never for long: one API write) and look again, rather than report no node.
    for (let round = 0; round < MAX_PLACE_ROUNDS; round++) {
      const free = this.nodes.freeNodes(namespace).filter((n) => matchesSelector(n, rental, pool) && !avoid.has(n.metadata.name));
      const claimed = await this.claimOne(free.filter((n) => !this.claiming.has(keyOf(n))), rental);
      if (claimed) return { bound: claimed };
      const inFlight = free.map((n) => this.claiming.get(keyOf(n))).filter((p) => p !== undefined);
      if (inFlight.length === 0) break;
      await Promise.allSettled(inFlight);
    }
    // Stable wording (no counts): the condition changes when the situation does, not with every new node.
    return { unschedulable: 'NoHealthyNode', message: 'no matching node is Alive and free' };
  }

  /** Spreads rentals over nodes: starts at an offset derived from the rental's uid, then goes round. */
  private async claimOne(free: NodeResource[], rental: RentalResource): Promise<NodeResource | undefined> {
    const candidates = free.sort(byName);
    const offset = candidates.length > 0 ? hashOf(rental.metadata.uid) % candidates.length : 0;
    for (let i = 0; i < candidates.length; i++) {
      const node = candidates[(offset + i) % candidates.length] as NodeResource;
      const claimed = await this.claim(node, rental);
      if (claimed) return claimed;
    }
    return undefined;
  }

  /**
   * Writes the allocation on the node; undefined when another writer got there first. The write is guarded by
   * the node's resourceVersion, which is what keeps two Orion processes apart; within this one, a node being
   * claimed is passed by the others (no doomed write).
   */
  private async claim(node: NodeResource, rental: RentalResource): Promise<NodeResource | undefined> {
    const key = keyOf(node);
    const current = this.store.get<NodeResource>(refOf(node));
    if (!current || !isFree(current) || this.claiming.has(key)) return undefined;
    const allocation = { rental: rentalId(rental), uid: rental.metadata.uid, user: rental.spec.user, releasePlaybook: this.releasePlaybookOf(rental), since: new Date().toISOString() };
    const write = writeStatus(this.store, current, { fields: { allocation } });
    this.claiming.set(key, write);
    try {
      return await write;
    } catch (err) {
      if (err instanceof ConflictError) return undefined;
      throw err;
    } finally {
      this.claiming.delete(key);
    }
  }

  /**
   * Lets go of the node: clears the allocation and, when the tenant could not be removed there,
   * records it for cleanup so the node is not free again before the release playbook ran on it.
   */
  async release(node: NodeResource, rental: RentalResource, cleanupReason?: string): Promise<void> {
    await this.updateNode(node, (status) => ({
      ...(status.allocation?.uid === rental.metadata.uid ? { allocation: undefined } : {}),
      ...(cleanupReason ? { cleanup: withCleanupEntry(status, tenantOnNode(rental), rental, this.releasePlaybookOf(rental), cleanupReason) } : {}),
    }));
  }

  /** Records a tenant to remove from a node the rental keeps (its user was renamed); the allocation names the new login. */
  async addCleanup(node: NodeResource, user: string, rental: RentalResource, reason: string): Promise<void> {
    await this.updateNode(node, (status) => ({
      cleanup: withCleanupEntry(status, user, rental, this.releasePlaybookOf(rental), reason),
      ...(status.allocation?.uid === rental.metadata.uid ? { allocation: { ...status.allocation, user: rental.spec.user } } : {}),
    }));
  }

  /**
   * The playbook that removes the rental's tenant, recorded on the node with the allocation and each cleanup entry:
   * the node's cleanup runs it after the rental is gone (the admin's class's choice, never the tenant's).
   */
  private releasePlaybookOf(rental: RentalResource): string {
    return releasePlaybookOf(rental, this.store.list<RentalClassResource>('RentalClass'));
  }

  private async updateNode(node: NodeResource, change: (status: NodeStatus) => StatusPatch<NodeStatus>): Promise<void> {
    await retryOnConflict(async () => {
      const current = this.store.get<NodeResource>(refOf(node));
      if (!current) return;
      await writeStatus(this.store, current, { fields: change(current.status ?? {}) });
    }, { gaveUp: () => new ConflictError(`node ${node.metadata.name} kept changing while updating its allocation`) });
  }
}

/** The login the rental has on its node: the provisioned one, which may differ from a just-edited spec. */
export function tenantOnNode(rental: RentalResource): string {
  return rental.status?.connection?.user ?? rental.spec.user;
}

/** The node's cleanup list with the tenant (once) in it. */
function withCleanupEntry(status: NodeStatus, user: string, rental: RentalResource, playbook: string, reason: string): NonNullable<NodeStatus['cleanup']> {
  const others = (status.cleanup ?? []).filter((c) => c.user !== user);
  return [...others, { user, rental: rentalId(rental), uid: rental.metadata.uid, playbook, reason, since: new Date().toISOString() }];
}

function describeSelector(rental: RentalResource, pool: Readonly<Record<string, string>>): string {
  const text = (labels: Readonly<Record<string, string>>): string => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
  const own = text(rental.spec.nodeSelector.matchLabels ?? {}) || '(any)';
  return Object.keys(pool).length > 0 ? `${own} within the class's pool ${text(pool)}` : own;
}

/** Code-point order: any stable order spreads rentals, and localeCompare is costly over a thousand nodes. */
function byName(a: NodeResource, b: NodeResource): number {
  const x = a.metadata.name;
  const y = b.metadata.name;
  return x < y ? -1 : x > y ? 1 : 0;
}

function hashOf(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (hash * 31 + text.charCodeAt(i)) >>> 0;
  return hash;
}
