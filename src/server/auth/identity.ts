// Who is calling, as the portal knows it after authentication, and how ownership is written on objects: the owner
// is always the caller's identity (never a field of the body), in an annotation that holds it exactly and a label
// that makes listing by owner cheap (a label selector in Kubernetes, an index in folder mode).
import { createHash } from 'node:crypto';
import type { Resource } from '../../api/types.js';
import { RESERVED_LOGINS } from '../../api/schemas/common.js';
import { POSIX_LOGIN } from '../../base/names.js';

export interface Identity {
  /** The unique name: a token's name (folder mode) or the Kubernetes user name. */
  name: string;
  groups: readonly string[];
  /** Folder mode: an admin token. Kubernetes mode: always false (RBAC decides everything). */
  admin: boolean;
  via: 'token' | 'kubernetes';
  /** Public keys registered with a folder-mode token (orion token create --ssh-key): a rent without keys uses them. */
  sshPublicKeys?: readonly string[];
}

export const OWNER_ANNOTATION = 'orion.lab/owner';
export const OWNER_LABEL = 'orion.lab/owner';

const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LOGIN = new RegExp(POSIX_LOGIN);
const RESERVED = new Set<string>(RESERVED_LOGINS);

/** The label value for an owner: the name itself when it is a valid label value, else a hash of it. */
export function ownerLabelValue(name: string): string {
  if (LABEL_VALUE.test(name)) return name;
  return `h${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
}

export function ownerOf(obj: Resource): string | undefined {
  return obj.metadata.annotations?.[OWNER_ANNOTATION];
}

export function isOwner(identity: Identity, obj: Resource): boolean {
  return ownerOf(obj) === identity.name;
}

/**
 * The POSIX login a person gets on the machines Orion makes for them: the token name in folder mode; in Kubernetes
 * mode the service account's name or the user name before "@". Undefined when that is no usable login.
 */
export function loginOf(identity: Identity): string | undefined {
  const base = identity.via === 'kubernetes' ? kubeLoginBase(identity.name) : identity.name;
  return LOGIN.test(base) && !RESERVED.has(base) ? base : undefined;
}

function kubeLoginBase(user: string): string {
  if (user.startsWith('system:serviceaccount:')) return user.split(':').pop() ?? '';
  return (user.split('@')[0] ?? '').toLowerCase();
}
