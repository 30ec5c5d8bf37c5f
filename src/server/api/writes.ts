// The portal's writes, shared by /api/v1 and the seeds' routes: create (admission, quota, the store, an Event
// naming the actor) and delete (the object goes through its finalizers: the controllers do the work).
import { isClusterScoped, kindDefinition } from '../../api/kinds.js';
import type { DesktopSpec, KindName, LabSpec, PlaybookRunSpec, RentalSpec, Resource } from '../../api/types.js';
import type { Identity } from '../auth/identity.js';
import { ApiProblem } from '../problem.js';
import { admit } from './admission.js';
import { authorize, fromStoreError, recordWrite, restricted, visibleObject, type Portal } from './context.js';
import { checkDesktopClassQuota, desktopTermsForRequest } from './desktop-classes.js';
import { checkLabClassQuota, machineTermsForRequest } from './machine-classes.js';
import { checkClassQuota, termsForRequest } from './rental-classes.js';

export interface CreateRequest {
  kind: KindName;
  namespace: string;
  body: unknown;
  /** Whose object it is when the caller acts for someone (mayActFor checked by the caller): their quota, their owner. */
  owner?: string;
  /** The spec was built by the portal (the seeds' routes: the default class and its first image), not sent by the caller. */
  trusted?: boolean;
}

export async function createObject<T extends Resource>(portal: Portal, identity: Identity, { kind, namespace, body, owner, trusted }: CreateRequest): Promise<T> {
  refuseAdminKinds(kind);
  await authorize(portal, identity, { verb: 'create', kind, namespace });
  if (kind === 'PlaybookRun') checkRecipe(portal, (body as { spec?: { playbook?: unknown } } | undefined)?.spec?.playbook);
  const holder: Identity = owner && owner !== identity.name ? { name: owner, groups: [], admin: false, via: identity.via } : identity;
  const admitted = admit(body, { identity: holder, restricted: !trusted && restricted(portal, identity), kind, namespace, policy: portal.policy });
  if (kind === 'PlaybookRun') checkNodes(portal, namespace, admitted.spec as PlaybookRunSpec);
  const terms = kind === 'Rental' ? termsForRequest(portal.store, admitted.spec as RentalSpec) : undefined;
  const labTerms = kind === 'Lab' ? machineTermsForRequest(portal.store, admitted.spec as LabSpec) : undefined;
  const desktopTerms = kind === 'Desktop' ? desktopTermsForRequest(portal.store, admitted.spec as DesktopSpec) : undefined;
  const created = await portal.quotas.within(holder, kind, () => {
    if (terms) checkClassQuota(portal.store, holder, terms);
    if (labTerms) checkLabClassQuota(portal.store, holder, labTerms);
    if (desktopTerms) checkDesktopClassQuota(portal.store, holder, desktopTerms);
    return portal.store.create<T>(admitted).catch(fromStoreError);
  });
  await recordWrite(portal, created, identity, 'Created', 'created');
  return created;
}

export async function deleteObject(portal: Portal, identity: Identity, ref: { kind: KindName; namespace: string; name: string }): Promise<Resource> {
  refuseAdminKinds(ref.kind);
  await authorize(portal, identity, { verb: 'delete', ...ref });
  const obj = visibleObject(portal, identity, ref);
  await recordWrite(portal, obj, identity, 'DeleteRequested', 'deletion requested');
  await portal.store.delete(ref, { uid: obj.metadata.uid }).catch(fromStoreError);
  return portal.store.get(ref) ?? obj;
}

/** Nodes and the admin's cluster-scoped classes are declared by the admin (manifests or kubectl): the portal reads them only. */
function refuseAdminKinds(kind: KindName): void {
  if (kind === 'Node' || isClusterScoped(kind)) {
    throw new ApiProblem(405, `${kind === 'Node' ? 'Nodes' : kindDefinition(kind).plural} are declared by the admin (manifests or kubectl); the portal reads them only`, { headers: { Allow: 'GET' } });
  }
}

/** A job names an allowed recipe (a name, with or without .yml, never a path): otherwise 400, and nothing runs. */
export function checkRecipe(portal: Portal, playbook: unknown): string {
  const recipe = typeof playbook === 'string' ? playbook.replace(/\.ya?ml$/, '') : '';
  if (!portal.policy.recipes.includes(recipe)) {
    throw new ApiProblem(400, `recipe ${JSON.stringify(playbook ?? null)} is not allowed (allowed: ${portal.policy.recipes.join(', ')}); recipes are names, never paths`);
  }
  return recipe;
}

/** A job's Nodes exist: otherwise 400, and nothing is created. */
function checkNodes(portal: Portal, namespace: string, spec: PlaybookRunSpec): void {
  const missing = spec.nodes.filter((name) => !portal.store.get({ kind: 'Node', namespace, name }));
  if (missing.length > 0) throw new ApiProblem(400, `no Node named ${missing.join(', ')} in namespace ${namespace}`);
}
