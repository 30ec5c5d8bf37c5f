// Kubernetes mode: a generated password in the Secret <resource>-<purpose> of the resource's namespace, owned by
// the resource (ownerReferences, controller: true, and the label orion.lab/owner-uid) so that it goes with it. Read
// from the store's cache of Orion's own Secrets; created when missing. A create that finds the Secret already there
// reads it from the API: the cache lagged behind our own create (it is ours: its password is used), or it is someone
// else's Secret of that name, which Orion never uses, replaces or deletes (owned-secrets.ts).
import { GROUP, VERSION } from '../api/group.js';
import type { Resource } from '../api/types.js';
import { KubeApiError, type KubeClient } from './client.js';
import { OWNER_UID_LABEL, SecretNotOwnedError, deleteOwnedSecret, getSecret, isOwnedBy, type SecretMetadata } from './owned-secrets.js';
import { GeneratedSecretConflict, newPassword, type GeneratedPassword, type GeneratedPasswords } from '../store/generated-passwords.js';

const PASSWORD_KEY = 'password';
const GENERATED_FOR_LABEL = 'orion.lab/generated-for';

interface SecretJson {
  metadata: SecretMetadata;
  data?: Record<string, string>;
}

export class KubeGeneratedPasswords implements GeneratedPasswords {
  constructor(
    private readonly client: KubeClient,
    /** Orion's own Secrets (the store's label-selected cache): only those it made. */
    private readonly secrets: { readOwnSecret(namespace: string, name: string, ownerUid: string): Promise<Record<string, string> | undefined> },
  ) {}

  async ensure(owner: Resource, purpose: string): Promise<GeneratedPassword> {
    const name = secretName(owner, purpose);
    const reference = { passwordSecretRef: { name, key: PASSWORD_KEY } };
    const cached = (await this.secrets.readOwnSecret(owner.metadata.namespace, name, owner.metadata.uid))?.[PASSWORD_KEY];
    if (cached) return { password: cached, reference };
    const password = newPassword();
    try {
      await this.client.request({ method: 'POST', path: this.collection(owner), verb: 'create', resource: 'secrets', body: this.secret(owner, name, password) });
      return { password, reference };
    } catch (err) {
      if (!(err instanceof KubeApiError && err.statusCode === 409)) throw new Error(`cannot create Secret ${owner.metadata.namespace}/${name}: ${(err as Error).message}`);
    }
    const existing = await getSecret<SecretJson>(this.client, owner.metadata.namespace, name);
    if (!existing) throw new Error(`Secret ${owner.metadata.namespace}/${name} was there a moment ago and is gone; trying again`);
    if (!isOwnedBy(existing, owner.metadata.uid)) {
      throw new GeneratedSecretConflict(new SecretNotOwnedError(owner.metadata.namespace, name, `${owner.kind} ${owner.metadata.name}`).message);
    }
    const data = existing.data?.[PASSWORD_KEY];
    if (!data) throw new Error(`Secret ${owner.metadata.namespace}/${name} exists without a "${PASSWORD_KEY}" key`);
    return { password: Buffer.from(data, 'base64').toString('utf8'), reference };
  }

  /** Deletes the Secret only when it is the one Orion made for this resource; anyone else's stays. */
  async discard(owner: Resource, purpose: string): Promise<void> {
    const existing = await getSecret<SecretJson>(this.client, owner.metadata.namespace, secretName(owner, purpose));
    if (existing) await deleteOwnedSecret(this.client, owner.metadata.namespace, existing, owner.metadata.uid);
  }

  private secret(owner: Resource, name: string, password: string): object {
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name,
        namespace: owner.metadata.namespace,
        labels: {
          [GENERATED_FOR_LABEL]: `${owner.kind.toLowerCase()}.${owner.metadata.name}`.slice(0, 63).replace(/[^A-Za-z0-9]+$/, ''),
          [OWNER_UID_LABEL]: owner.metadata.uid,
        },
        ownerReferences: [{ apiVersion: `${GROUP}/${VERSION}`, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true }],
      },
      data: { [PASSWORD_KEY]: Buffer.from(password).toString('base64') },
    };
  }

  private collection(owner: Resource): string {
    return `/api/v1/namespaces/${encodeURIComponent(owner.metadata.namespace)}/secrets`;
  }
}

/** <name>-<purpose>: a resource name is a DNS label (≤ 63), so this stays a valid, bounded Secret name. */
export function secretName(owner: Resource, purpose: string): string {
  return `${owner.metadata.name}-${purpose}`;
}
