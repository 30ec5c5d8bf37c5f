// The machine pipeline's side of a generated key pair (src/store/machine-keys.ts): as the Secrets it would otherwise
// have named give it, the private half for Ansible and the session check, the public half for cloud-init or the
// rendered module. A place taken by a Secret Orion did not make is a RetryLater the resource reports.
import type { Resource } from '../../src/api/types.js';
import { RetryLater } from '../../src/runtime/errors.js';
import { GeneratedSecretConflict, type GeneratedPasswords } from '../../src/store/generated-passwords.js';
import { discardMachineKey, machineKeyOf } from '../../src/store/machine-keys.js';
import type { MachineSecrets } from './secrets.js';

/** The resource's generated key pair, as MachineSecrets. */
export async function generatedKey(passwords: GeneratedPasswords, owner: Resource): Promise<Required<Pick<MachineSecrets, 'privateKey' | 'sshPublicKey'>>> {
  const key = await machineKeyOf(passwords, owner).catch((err: unknown) => {
    // Its place is taken by a Secret Orion did not make: neither used nor replaced, and the resource says so.
    throw err instanceof GeneratedSecretConflict ? new RetryLater('SecretConflict', err.message, { phase: 'Failed' }) : err;
  });
  return { privateKey: key.privateKey, sshPublicKey: key.publicKey };
}

/** Forgets the resource's generated key (it is going away). */
export function discardGeneratedKey(passwords: GeneratedPasswords, owner: Resource): Promise<void> {
  return discardMachineKey(passwords, owner);
}
