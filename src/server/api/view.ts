// How objects leave the portal: the Kubernetes shape (apiVersion, kind, metadata, spec, status) and nothing of how
// a store keeps them; for a tenant, a Node tells whether it is taken but not by whom.
import type { NodeResource, Resource } from '../../api/types.js';
import type { Store } from '../../store/store.js';
import { isOwner, type Identity } from '../auth/identity.js';

const METADATA_FIELDS = ['name', 'namespace', 'uid', 'generation', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'labels', 'annotations', 'finalizers'] as const;

/** `restricted`: a folder-mode tenant (in Kubernetes mode RBAC decided what the caller may read, all of it). */
export function viewOf(obj: Resource, identity: Identity, store: Store, restricted: boolean): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  for (const field of METADATA_FIELDS) if (obj.metadata[field] !== undefined) metadata[field] = obj.metadata[field];
  const view: Record<string, unknown> = { apiVersion: obj.apiVersion, kind: obj.kind, metadata, spec: obj.spec };
  if (obj.status !== undefined) view.status = obj.kind === 'Node' && restricted ? nodeStatusFor(obj as NodeResource, identity, store) : obj.status;
  return view;
}

/** Other people's rentals on a node, and the logins waiting for cleanup there, are theirs: a tenant sees only their own. */
function nodeStatusFor(node: NodeResource, identity: Identity, store: Store): NodeResource['status'] {
  const { allocation, cleanup: _cleanup, ...rest } = node.status ?? {};
  if (!allocation?.rental) return rest;
  const [namespace = '', name = ''] = allocation.rental.split('/');
  const rental = store.get({ kind: 'Rental', namespace, name });
  return rental && isOwner(identity, rental) ? { ...rest, allocation } : rest;
}
