// How Orion names one object, in every form it takes: the reference a store and a work queue use, its key, its
// "namespace/name", and the folders on disk where its run logs and its Terraform workspace are filed. Each form is
// derived here from the one ObjectRef, never built by hand, so a writer and a reader can never disagree on it.
import { KINDS, isClusterScoped } from './kinds.js';
import type { KindName } from './types.js';

/** Identifies one object: what a work queue holds, what a store is asked for. */
export interface ObjectRef {
  kind: KindName;
  /** '' for a cluster-scoped kind (an admin-owned class). */
  namespace: string;
  name: string;
}

/** Anything named like an object: a resource, or a manifest before it becomes one. */
export interface Named {
  kind: KindName;
  metadata: { namespace: string; name: string };
}

export function refOf(obj: Named): ObjectRef {
  return { kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name };
}

/** "Kind/namespace/name": the key of a work queue, a cache, a log line; "Kind//name" for a cluster-scoped kind. */
export function refKey(ref: ObjectRef): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

/** The key of an object: refKey(refOf(obj)). */
export function keyOf(obj: Named): string {
  return refKey(refOf(obj));
}

export function parseRefKey(key: string): ObjectRef {
  const [kind, namespace, name] = key.split('/');
  const scopeFits = kind !== undefined && (isClusterScoped(kind) ? namespace === '' : Boolean(namespace));
  if (!kind || !scopeFits || !name) throw new Error(`malformed object key "${key}"`);
  return { kind: kind as KindName, namespace: namespace as string, name };
}

/** The reference to a cluster-scoped object (an admin-owned class) by its name. */
export function clusterRef(kind: KindName, name: string): ObjectRef {
  return { kind, namespace: '', name };
}

/** "namespace/name": how one object names another of a known kind (a Node's allocation names its Rental). */
export function namespacedName(ref: { namespace: string; name: string }): string {
  return `${ref.namespace}/${ref.name}`;
}

/** The reference to the object of `kind` that a namespacedName() names. */
export function refFromNamespacedName(kind: KindName, text: string): ObjectRef {
  const [namespace, name, extra] = text.split('/');
  if (!namespace || !name || extra !== undefined) throw new Error(`malformed namespace/name "${text}"`);
  return { kind, namespace, name };
}

/** Three path segments under which the files of one object are kept: <kind>/<namespace>/<name>. */
export interface PathRef {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/** Where an object's Ansible run logs are filed: <runs>/<Kind>/<namespace>/<name>, the kind as it is written. */
export function runLogRef(ref: ObjectRef): PathRef {
  return { kind: ref.kind, namespace: ref.namespace, name: ref.name };
}

/**
 * Where an object's Terraform workspace and its run logs are: <terraform>/{workspaces,logs}/<kind>/<namespace>/<name>,
 * the kind in lower case (a DNS label, like every segment of a workspace path).
 */
export function workspaceRef(ref: ObjectRef): PathRef {
  return { kind: ref.kind.toLowerCase(), namespace: ref.namespace, name: ref.name };
}

/** The object a workspace belongs to (the inverse of workspaceRef), or undefined for a kind Orion does not have. */
export function ownerOfWorkspace(ws: PathRef): ObjectRef | undefined {
  const kind = KINDS.find((k) => workspaceRef({ kind: k.kind, namespace: '', name: '' }).kind === ws.kind)?.kind;
  return kind ? { kind, namespace: ws.namespace, name: ws.name } : undefined;
}
