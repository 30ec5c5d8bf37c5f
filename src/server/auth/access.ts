// Who may do what, behind one interface with two answers: folder mode's (an admin sees and changes everything; a
// tenant creates Rentals, Desktops and Labs and sees and changes only their own; Nodes are read by all, changed
// by none through the portal) and Kubernetes mode's (kube-access.ts: every action is a SubjectAccessReview, so
// RBAC is the one policy). Authentication is here too: a bearer token in, an identity or nothing out.
import type { KindName, Resource } from '../../api/types.js';
import { isOwner, type Identity } from './identity.js';
import type { TokenStore } from './tokens.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'delete' | 'patch';

export interface AccessRequest {
  verb: Verb;
  kind: KindName;
  namespace?: string;
  name?: string;
  /** `log` for run logs, as pods/log. */
  subresource?: string;
}

export interface Access {
  readonly mode: 'folder' | 'kube';
  /** The caller behind a bearer token, or undefined (unknown, revoked, expired). */
  authenticate(token: string): Promise<Identity | undefined>;
  /** Whether the caller may do this at all (in this namespace). */
  allows(identity: Identity, request: AccessRequest): Promise<boolean>;
  /**
   * Whether the caller sees this object once `allows` said yes: folder mode hides other people's objects (a 404,
   * never a 403 that would tell they exist); in Kubernetes mode RBAC already decided per namespace.
   */
  sees(identity: Identity, obj: Resource): boolean;
  /** Whether the caller may act for USER (create a session in their name): that user, or an admin. */
  mayActFor(identity: Identity, login: string): Promise<boolean>;
}

const TENANT_KINDS = new Set<KindName>(['Rental', 'Desktop', 'Lab']);

export class FolderAccess implements Access {
  readonly mode = 'folder' as const;

  constructor(private readonly tokens: TokenStore) {}

  authenticate(token: string): Promise<Identity | undefined> {
    return this.tokens.verify(token);
  }

  async allows(identity: Identity, { verb, kind, subresource }: AccessRequest): Promise<boolean> {
    if (kind === 'Node') {
      if (subresource === 'log') return identity.admin; // its runs remove other people's logins
      return verb === 'get' || verb === 'list' || verb === 'watch';
    }
    if (identity.admin) return true;
    return TENANT_KINDS.has(kind);
  }

  sees(identity: Identity, obj: Resource): boolean {
    if (identity.admin || obj.kind === 'Node') return true;
    return isOwner(identity, obj);
  }

  async mayActFor(identity: Identity, login: string): Promise<boolean> {
    return identity.admin || identity.name === login;
  }
}
