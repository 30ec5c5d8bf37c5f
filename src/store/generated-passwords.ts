// Passwords Orion makes for a resource when the user gave none (a Desktop's RDP login without
// spec.passwordSecretRef or AD), kept where the run mode keeps credentials: a Secret owned by the resource in
// Kubernetes mode (src/kube/generated-passwords.ts), a 0600 file under the state directory in folder mode
// (src/folder/generated-passwords.ts). The same password comes back on every reconcile, so the machine's
// configuration stays unchanged. Never logged.
import { randomBytes } from 'node:crypto';
import type { Resource } from '../api/types.js';

/** Where the generated password is, for the status: a Secret's name and key, or a file. */
export type PasswordReference = { passwordSecretRef: { name: string; key: string } } | { passwordFile: string };

export interface GeneratedPassword {
  password: string;
  reference: PasswordReference;
}

export interface GeneratedPasswords {
  /** The resource's generated password for `purpose` (e.g. "rdp"): the kept one, or a new one kept first. */
  ensure(owner: Resource, purpose: string): Promise<GeneratedPassword>;
  /** Forgets it (the resource is going away): removes only what Orion made for this very resource. */
  discard(owner: Resource, purpose: string): Promise<void>;
}

/**
 * The place of the generated password is taken by something Orion did not make for this resource (a user's Secret
 * named <resource>-<purpose>): Orion neither uses nor replaces it, and says so.
 */
export class GeneratedSecretConflict extends Error {
  override name = 'GeneratedSecretConflict';
}

/** 24 characters of base64url from 18 random bytes (144 bits). */
export function newPassword(): string {
  return randomBytes(18).toString('base64url');
}
