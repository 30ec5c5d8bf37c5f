// What every route of the portal works with, and the few steps they share: which kind a URL names, whether the
// caller may act, how a store's refusal reads as an HTTP answer, and the Event that records who wrote.
import { KINDS, type KindDefinition } from '../../api/kinds.js';
import type { ObjectRef } from '../../api/refs.js';
import type { NodeResource, RentalResource, Resource } from '../../api/types.js';
import type { RunReader } from '../../api/runs.js';
import { AlreadyExistsError, ConflictError, InvalidObjectError, NotFoundError, NotWritableError } from '../../store/errors.js';
import type { Store } from '../../store/store.js';
import type { Access, AccessRequest } from '../auth/access.js';
import type { Identity } from '../auth/identity.js';
import { ApiProblem } from '../problem.js';
import type { Quotas } from './limits.js';
import type { PortalPolicy } from './policy.js';
import { viewOf } from './view.js';

/** What the rent asks of the Rental scheduler's NodeIndex (controllers/rental/scheduler.ts), given by the run mode. */
export interface NodePlacement {
  /** Nodes of the namespace that are free to bind (Alive, not cordoned, not held, nothing to clean). */
  freeNodes(namespace: string): NodeResource[];
  /** The Node whose allocation holds this Rental. */
  heldNode(rental: RentalResource): NodeResource | undefined;
}

export interface Portal {
  store: Store;
  access: Access;
  policy: PortalPolicy;
  runs: RunReader;
  /** The Rental scheduler's index of Nodes (the rent's quick answer asks the index that binds). */
  nodes: NodePlacement;
  quotas: Quotas;
}

export const API_PREFIX = '/api/v1';

export function kindOfPlural(plural: string): KindDefinition {
  const def = KINDS.find((k) => k.plural === plural);
  if (!def) throw new ApiProblem(404, `no resource "${plural}" here (there are ${KINDS.map((k) => k.plural).join(', ')})`);
  return def;
}

/** A kind that lives in namespaces, for the /namespaces/NS/PLURAL routes: a cluster-scoped class is not there. */
export function namespacedKindOfPlural(plural: string): KindDefinition {
  const def = kindOfPlural(plural);
  if (def.scope === 'Cluster') throw new ApiProblem(404, `${def.plural} are cluster-scoped: GET ${API_PREFIX}/${def.plural} lists them`);
  return def;
}

export async function authorize(portal: Portal, identity: Identity, request: AccessRequest): Promise<void> {
  if (await portal.access.allows(identity, request)) return;
  const where = request.namespace ? ` in namespace ${request.namespace}` : '';
  const what = request.subresource ? `${request.kind}/${request.subresource}` : request.kind;
  throw new ApiProblem(403, `${identity.name} may not ${request.verb} ${what}${request.name ? ` "${request.name}"` : ''}${where}`);
}

/** A folder-mode tenant, held to the portal's policy and shown only their own. */
export function restricted(portal: Portal, identity: Identity): boolean {
  return portal.access.mode === 'folder' && !identity.admin;
}

/** The object if it exists and the caller may see it; a 404 otherwise (never a hint that someone else's exists). */
export function visibleObject<T extends Resource>(portal: Portal, identity: Identity, ref: ObjectRef): T {
  const obj = portal.store.get<T>(ref);
  if (!obj || !portal.access.sees(identity, obj)) throw new ApiProblem(404, `${ref.kind} "${ref.name}" not found in namespace ${ref.namespace}`);
  return obj;
}

export function view(portal: Portal, identity: Identity, obj: Resource): Record<string, unknown> {
  return viewOf(obj, identity, portal.store, restricted(portal, identity));
}

export function objectPath(obj: { kind: string; metadata: { namespace: string; name: string } }): string {
  const def = KINDS.find((k) => k.kind === obj.kind);
  return `${API_PREFIX}/namespaces/${obj.metadata.namespace}/${def?.plural ?? ''}/${obj.metadata.name}`;
}

/** Where to follow what a write set going: the object's changes and its runs' logs. */
export function watchLinks(obj: { kind: string; metadata: { namespace: string; name: string } }): string {
  const def = KINDS.find((k) => k.kind === obj.kind);
  const watch = `${API_PREFIX}/watch?kind=${def?.plural ?? ''}&namespace=${obj.metadata.namespace}&name=${obj.metadata.name}`;
  return `<${watch}>; rel="watch", <${objectPath(obj)}/log?follow=true>; rel="log"`;
}

/** A store's refusal as the answer a person reads. */
export function fromStoreError(err: unknown): never {
  if (err instanceof AlreadyExistsError) throw new ApiProblem(409, `${err.message}; choose another name (or leave metadata.name out)`);
  if (err instanceof InvalidObjectError) throw new ApiProblem(422, err.message, { errors: [...err.fields] });
  if (err instanceof NotWritableError) throw new ApiProblem(409, err.message);
  if (err instanceof ConflictError) throw new ApiProblem(409, `${err.message}; read it again and retry`);
  if (err instanceof NotFoundError) throw new ApiProblem(404, err.message);
  throw err;
}

/** Every write names its actor in an Event on the object. */
export async function recordWrite(portal: Portal, obj: Resource, identity: Identity, reason: string, what: string): Promise<void> {
  await portal.store.recordEvent(obj, { type: 'Normal', reason, message: `${what} by ${identity.name} through the portal` }).catch(() => undefined);
}
