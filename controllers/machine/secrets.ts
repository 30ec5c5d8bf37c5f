// The secrets a Lab or a Desktop names, read once per reconcile and never copied into the status, events, logs or
// the rendered module. Each kind says which Secrets it needs and which keys each must hold; a missing Secret or
// key is a RetryLater (the resource is reconciled again when the Secret appears), whose message names no value.
import type { LabSpec } from '../../src/api/types.js';
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

/** One Secret to read: its name, the keys it must hold, and where they go. */
export interface SecretNeed {
  name: string;
  keys: string[];
  take(data: Record<string, string>, into: MachineSecrets): void;
}

/** The Secrets of the provider: the Proxmox token and CA (libvirt needs none). */
export function providerSecretNeeds(provider: LabSpec['provider']): SecretNeed[] {
  const proxmox = provider.type === 'proxmox' ? provider.proxmox : undefined;
  if (!proxmox) return [];
  const needs: SecretNeed[] = [{
    name: proxmox.tokenSecretRef.name,
    keys: ['tokenId', 'tokenSecret'],
    take: (d, s) => void (s.proxmoxToken = { id: d.tokenId as string, secret: d.tokenSecret as string }),
  }];
  if (proxmox.caSecretRef) needs.push({ name: proxmox.caSecretRef.name, keys: ['ca.crt'], take: (d, s) => void (s.ca = d['ca.crt']) });
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

/** Reads every Secret of `needs` from the namespace; a missing one or key is a RetryLater with phase Failed. */
export async function readSecrets(store: Store, namespace: string, needs: SecretNeed[]): Promise<MachineSecrets> {
  const secrets: MachineSecrets = {};
  for (const need of needs) {
    const data = await store.readSecret(namespace, need.name);
    if (!data) throw new RetryLater('SecretMissing', `secret "${need.name}" not found`, { phase: 'Failed' });
    const missing = need.keys.find((k) => !data[k]);
    if (missing) throw new RetryLater('SecretInvalid', `secret "${need.name}" has no "${missing}" key`, { phase: 'Failed' });
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
