// The SSH key pair Orion makes for a resource with machines that names no key Secret of its own (a Desktop without
// sshKeySecretRef): an Ed25519 key derived, as the console's per-rental key is (src/store/console-keys.ts), from a
// secret kept where the run mode keeps generated credentials (GeneratedPasswords: a 0600 file in folder mode, a
// Secret owned by the resource in Kubernetes mode). The same key comes back on every reconcile and after a restart,
// each resource has its own, and it is discarded when the resource goes. The private half stays in Orion's memory
// (Ansible's key file in the workspace, the session check); the public half reaches cloud-init or the module.
import { RetryLater } from '../../src/runtime/errors.js';
import { ed25519FromSecret } from '../../src/store/console-keys.js';
import { GeneratedSecretConflict, type GeneratedPasswords } from '../../src/store/generated-passwords.js';
import type { Resource } from '../../src/api/types.js';
import type { MachineSecrets } from './secrets.js';

const PURPOSE = 'ssh-key';
const COMMENT = 'orion-generated';

/** The resource's generated key pair, as the Secrets it would otherwise have named give it. */
export async function generatedKey(passwords: GeneratedPasswords, owner: Resource): Promise<Required<Pick<MachineSecrets, 'privateKey' | 'sshPublicKey'>>> {
  const { password } = await passwords.ensure(owner, PURPOSE).catch((err: unknown) => {
    // Its place is taken by a Secret Orion did not make: neither used nor replaced, and the resource says so.
    throw err instanceof GeneratedSecretConflict ? new RetryLater('SecretConflict', err.message, { phase: 'Failed' }) : err;
  });
  const key = ed25519FromSecret(password, COMMENT);
  return { privateKey: key.privateKey, sshPublicKey: key.publicKey };
}

/** Forgets the resource's generated key (it is going away): only what Orion made for this very resource. */
export function discardGeneratedKey(passwords: GeneratedPasswords, owner: Resource): Promise<void> {
  return passwords.discard(owner, PURPOSE);
}
