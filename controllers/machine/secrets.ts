// The secrets a Lab or a Desktop names, read once per reconcile and never copied into the status, events, logs or
// the rendered module. Each kind says which Secrets it needs and which keys each must hold; a missing Secret or
// key is a RetryLater (the resource is reconciled again when the Secret appears), whose message names no value.
import type { MachineSpec } from './spec.js';
import { RetryLater } from '../../src/runtime/errors.js';
import type { Store } from '../../src/store/store.js';

export interface MachineSecrets {
  /** The key Ansible (and a Desktop's session check) logs in with. */
  privateKey?: string;
  /** Its public half, authorized on the machines by cloud-init. */
  sshPublicKey?: string;
  proxmoxToken?: { id: string; secret: string };
  /** The CA that signs the Proxmox endpoint's certificate. */
  ca?: string;
  rdpPassword?: string;
  adCredentials?: { username: string; password: string };
}

/** One Secret to read: its name (and namespace, when it is not the resource's own), the keys it must hold, and where they go. */
export interface SecretNeed {
  /** A Secret named by a cluster-scoped Hypervisor carries its namespace; left out, the resource's namespace. */
  namespace?: string;
  name: string;
  keys: string[];
  take(data: Record<string, string>, into: MachineSecrets): void;
}

/** The Secrets of the provider: the Proxmox token and CA (libvirt needs none). */
export function providerSecretNeeds(provider: MachineSpec['provider']): SecretNeed[] {
  const proxmox = provider.type === 'proxmox' ? provider.proxmox : undefined;
  if (!proxmox) return [];
  const { caSecretRef } = proxmox;
  const needs: SecretNeed[] = [{
    ...(proxmox.tokenSecretRef.namespace ? { namespace: proxmox.tokenSecretRef.namespace } : {}),
    name: proxmox.tokenSecretRef.name,
    keys: ['tokenId', 'tokenSecret'],
    take: (d, s) => void (s.proxmoxToken = { id: d.tokenId as string, secret: d.tokenSecret as string }),
  }];
  if (caSecretRef) {
    needs.push({ ...(caSecretRef.namespace ? { namespace: caSecretRef.namespace } : {}), name: caSecretRef.name, keys: ['ca.crt'], take: (d, s) => void (s.ca = d['ca.crt']) });
  }
  return needs;
}

/** The SSH key Secret: `privateKey`, and `publicKey` when it has one. */
export function sshKeyNeed(name: string): SecretNeed {
  return {
    name,
    keys: ['privateKey'],
    take: (d, s) => {
      s.privateKey = d.privateKey;
      if (d.publicKey) s.sshPublicKey = d.publicKey.trim();
    },
  };
}

/** The namespace a need's Secret is read from: its own, else the resource's. */
export function needNamespace(need: SecretNeed, resourceNamespace: string): string {
  return need.namespace ?? resourceNamespace;
}

/** Reads every Secret of `needs` (from its namespace, else the resource's); a missing one or key is a RetryLater with phase Failed. */
export async function readSecrets(store: Store, namespace: string, needs: SecretNeed[]): Promise<MachineSecrets> {
  const secrets: MachineSecrets = {};
  for (const need of needs) {
    const from = needNamespace(need, namespace);
    const data = await store.readSecret(from, need.name);
    const named = from === namespace ? `secret "${need.name}"` : `secret "${from}/${need.name}"`;
    if (!data) throw new RetryLater('SecretMissing', `${named} not found`, { phase: 'Failed' });
    const missing = need.keys.find((k) => !data[k]);
    if (missing) throw new RetryLater('SecretInvalid', `${named} has no "${missing}" key`, { phase: 'Failed' });
    need.take(data, secrets);
  }
  return secrets;
}

/** The environment of Terraform runs: the Proxmox token for the provider, never in main.tf.json. */
export function providerEnv(secrets: MachineSecrets, caFile: string): Record<string, string> {
  const env: Record<string, string> = {};
  if (secrets.proxmoxToken) {
    env.PM_API_TOKEN_ID = secrets.proxmoxToken.id;
    env.PM_API_TOKEN_SECRET = secrets.proxmoxToken.secret;
  }
  if (secrets.ca) env.SSL_CERT_FILE = caFile;
  return env;
}
