// The SSH key pair Orion makes for a resource with machines that names no key Secret of its own (a Desktop without
// sshKeySecretRef): an Ed25519 key derived, as the console's per-rental key is (console-keys.ts), from a secret kept
// where the run mode keeps generated credentials (GeneratedPasswords: a 0600 file in folder mode, a Secret owned by
// the resource in Kubernetes mode). The same key comes back on every reconcile and after a restart, each resource
// has its own, and it goes when the resource goes. Read by the machine pipeline and the browser console alike.
import type { Resource } from '../api/types.js';
import { ed25519FromSecret, type ConsoleKey } from './console-keys.js';
import type { GeneratedPasswords } from './generated-passwords.js';

const PURPOSE = 'ssh-key';
const COMMENT = 'orion-generated';

/** The resource's generated key pair: the kept one, or a new one kept first. */
export async function machineKeyOf(passwords: GeneratedPasswords, owner: Resource): Promise<ConsoleKey> {
  const { password } = await passwords.ensure(owner, PURPOSE);
  return ed25519FromSecret(password, COMMENT);
}

/** Forgets the resource's generated key (it is going away): only what Orion made for this very resource. */
export function discardMachineKey(passwords: GeneratedPasswords, owner: Resource): Promise<void> {
  return passwords.discard(owner, PURPOSE);
}
