// Kubernetes mode: a generated password in the Secret <resource>-<purpose> of the resource's namespace, owned by
// the resource (ownerReferences, controller: true) so that it goes with it. Read from the store's Secret cache;
// created when missing. A create that finds the Secret already there (the cache lagged behind our own create)
// reads it from the API instead of making a second password.
import { GROUP, VERSION } from '../api/group.js';
import type { Resource } from '../api/types.js';
import { KubeApiError, type KubeClient } from './client.js';
import { newPassword, type GeneratedPassword, type GeneratedPasswords } from '../store/generated-passwords.js';

const PASSWORD_KEY = 'password';
const GENERATED_FOR_LABEL = 'orion.lab/generated-for';

export class KubeGeneratedPasswords implements GeneratedPasswords {
  constructor(
    private readonly client: KubeClient,
    private readonly secrets: { readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined> },
  ) {}

  async ensure(owner: Resource, purpose: string): Promise<GeneratedPassword> {
    const name = secretName(owner, purpose);
    const reference = { passwordSecretRef: { name, key: PASSWORD_KEY } };
    const cached = (await this.secrets.readSecret(owner.metadata.namespace, name))?.[PASSWORD_KEY];
    if (cached) return { password: cached, reference };
    const password = newPassword();
    try {
      await this.client.request({ method: 'POST', path: this.collection(owner), verb: 'create', resource: 'secrets', body: this.secret(owner, name, password) });
      return { password, reference };
    } catch (err) {
      if (!(err instanceof KubeApiError && err.statusCode === 409)) throw new Error(`cannot create Secret ${owner.metadata.namespace}/${name}: ${(err as Error).message}`);
    }
    const existing = await this.client.request<{ data?: Record<string, string> }>({ method: 'GET', path: `${this.collection(owner)}/${name}`, verb: 'get', resource: 'secrets' });
    const data = existing.data?.[PASSWORD_KEY];
    if (!data) throw new Error(`Secret ${owner.metadata.namespace}/${name} exists without a "${PASSWORD_KEY}" key`);
    return { password: Buffer.from(data, 'base64').toString('utf8'), reference };
  }

  async discard(owner: Resource, purpose: string): Promise<void> {
    try {
      await this.client.request({ method: 'DELETE', path: `${this.collection(owner)}/${secretName(owner, purpose)}`, verb: 'delete', resource: 'secrets' });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.statusCode === 404)) throw err;
    }
  }

  private secret(owner: Resource, name: string, password: string): object {
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name,
        namespace: owner.metadata.namespace,
        labels: { [GENERATED_FOR_LABEL]: `${owner.kind.toLowerCase()}.${owner.metadata.name}`.slice(0, 63).replace(/[^A-Za-z0-9]+$/, '') },
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
