// Which Secrets are Orion's to change: only those it made for an object, which say so with an ownerReference to the
// object's uid, or the label orion.lab/owner-uid=<uid>. A Secret that merely has the name Orion would give it (a
// user's `<desktop>-rdp`, a `tfstate-lab-web` made by hand) is someone else's: Orion reads it only where a spec names
// it, and never replaces or deletes it. Deletes carry the Secret's uid and resourceVersion as preconditions, so a
// Secret swapped for another between the check and the delete is not deleted either.
import { KubeApiError, type KubeClient } from './client.js';

/** The label Orion puts on the Secrets it makes for an object (its uid); the store's Secret informer selects on it. */
export const OWNER_UID_LABEL = 'orion.lab/owner-uid';

export interface SecretMetadata {
  name: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  ownerReferences?: unknown[];
}

/** Whether the Secret was made by Orion for the object with this uid. */
export function isOwnedBy(secret: { metadata: SecretMetadata }, ownerUid: string | undefined): boolean {
  if (!ownerUid) return false;
  const { labels, ownerReferences } = secret.metadata;
  if (labels?.[OWNER_UID_LABEL] === ownerUid) return true;
  return (ownerReferences ?? []).some((ref) => typeof ref === 'object' && ref !== null && (ref as { uid?: unknown }).uid === ownerUid);
}

/** A Secret with the name Orion would use is there, but Orion did not make it for this object. */
export class SecretNotOwnedError extends Error {
  constructor(namespace: string, name: string, owner: string) {
    super(`Secret ${namespace}/${name} exists and was not made by Orion for ${owner}; Orion leaves it alone (rename or remove it)`);
    this.name = 'SecretNotOwnedError';
  }
}

/**
 * Deletes the Secret if, and only if, it is the owner's; returns whether it was deleted (a Secret already gone counts
 * as deleted). The delete is conditional on the Secret read (uid, resourceVersion): a 409 means it changed meanwhile,
 * and it is left alone.
 */
export async function deleteOwnedSecret(client: KubeClient, namespace: string, secret: { metadata: SecretMetadata }, ownerUid: string | undefined): Promise<boolean> {
  if (!isOwnedBy(secret, ownerUid)) return false;
  const { name, uid, resourceVersion } = secret.metadata;
  try {
    await client.request({
      method: 'DELETE',
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
      verb: 'delete',
      resource: 'secrets',
      body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { ...(uid ? { uid } : {}), ...(resourceVersion ? { resourceVersion } : {}) } },
    });
    return true;
  } catch (err) {
    if (err instanceof KubeApiError && err.statusCode === 404) return true;
    if (err instanceof KubeApiError && err.statusCode === 409) return false;
    throw err;
  }
}

/** Reads a Secret by name; undefined when there is none. */
export async function getSecret<T extends { metadata: SecretMetadata }>(client: KubeClient, namespace: string, name: string): Promise<T | undefined> {
  try {
    return await client.request<T>({
      method: 'GET',
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
      verb: 'get',
      resource: 'secrets',
    });
  } catch (err) {
    if (err instanceof KubeApiError && err.statusCode === 404) return undefined;
    throw err;
  }
}
