// The rules a Rental lives by, apart from the steps that apply them (controller.ts): which rentals a node's change
// concerns, when a rental must leave its node and why, when it expires, and what its create_user run depends on.
import type { NodeResource, RentalResource } from '../../src/api/types.js';
import { keyOf, refFromNamespacedName, refKey } from '../../src/api/refs.js';
import { digestOf } from '../../src/base/hash.js';
import type { ReconcileResult } from '../../src/runtime/controller.js';
import type { Store, WatchEvent } from '../../src/store/store.js';
import { isFree } from './scheduler.js';
import type { RentalTerms } from './class.js';

/**
 * Rentals to look at when a node changes: the one it holds (named by its allocation), and when it is free or
 * holds no one, the rentals that still name it and the waiting ones.
 */
export function rentalsAffectedBy(store: Store, event: WatchEvent): string[] {
  const node = event.object as NodeResource;
  const namespace = node.metadata.namespace;
  const keys: string[] = [];
  const holder = node.status?.allocation?.rental;
  if (holder) keys.push(refKey(refFromNamespacedName('Rental', holder)));
  const free = event.type !== 'DELETED' && isFree(node);
  if (holder && !free) return keys;
  for (const r of store.list<RentalResource>('Rental', namespace)) {
    if (r.status?.nodeName === node.metadata.name || (free && !r.status?.nodeName && r.status?.phase !== 'Expired')) {
      keys.push(keyOf(r));
    }
  }
  return keys;
}

/** A rental leaves a node that is Dead or being deleted. */
export function mustLeave(node: NodeResource): boolean {
  return node.status?.health === 'Dead' || Boolean(node.metadata.deletionTimestamp);
}

/** Why a rental leaves its node (or the node it named, gone), and since when. */
export function leaving(node: NodeResource | undefined): { reason: string; state: string; since?: string } {
  if (!node) return { reason: 'NodeGone', state: 'gone' };
  if (node.metadata.deletionTimestamp) return { reason: 'NodeDeleted', state: 'being deleted', since: node.metadata.deletionTimestamp };
  return { reason: 'NodeDead', state: 'Dead', since: node.status?.lastTransitionTime };
}

export function expiryOf(rental: RentalResource): number | undefined {
  const ttl = rental.spec.ttlSeconds;
  return ttl === undefined ? undefined : Date.parse(rental.metadata.creationTimestamp) + ttl * 1000;
}

export function untilExpiry(expiresAt: number | undefined): ReconcileResult | void {
  if (expiresAt !== undefined) return { requeueAfterMs: Math.max(0, expiresAt - Date.now()) };
}

/** What create_user depends on: a change of any of these (the class's create playbook among them) runs it again. */
export function provisionHash(rental: RentalResource, node: NodeResource, terms: RentalTerms, consoleKey: string | undefined): string {
  const { user, sshPublicKeys, sudo } = rental.spec;
  const inputs = { user, sshPublicKeys, sudo, playbook: terms.playbooks.create, node: node.metadata.uid, ...(consoleKey ? { consoleKey } : {}) };
  return digestOf(inputs);
}
