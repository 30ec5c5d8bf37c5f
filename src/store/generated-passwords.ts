// Passwords Orion makes for a resource when the user gave none (a Desktop's RDP login without
// spec.passwordSecretRef or AD), kept where the run mode keeps credentials: a Secret owned by the resource in
// Kubernetes mode (kube-generated-passwords.ts), a 0600 file under the state directory in folder mode. The same
// password comes back on every reconcile, so the machine's configuration stays unchanged. Never logged.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Resource } from '../api/types.js';
import { writeFileAtomic } from '../base/atomic-file.js';
import { readFileIfExists } from '../base/files.js';
import { assertDnsLabel } from '../base/names.js';

/** Where the generated password is, for the status: a Secret's name and key, or a file. */
export type PasswordReference = { passwordSecretRef: { name: string; key: string } } | { passwordFile: string };

export interface GeneratedPassword {
  password: string;
  reference: PasswordReference;
}

export interface GeneratedPasswords {
  /** The resource's generated password for `purpose` (e.g. "rdp"): the kept one, or a new one kept first. */
  ensure(owner: Resource, purpose: string): Promise<GeneratedPassword>;
  /** Forgets it (the resource is going away). */
  discard(owner: Resource, purpose: string): Promise<void>;
}

/** 24 characters of base64url from 18 random bytes (144 bits). */
export function newPassword(): string {
  return randomBytes(18).toString('base64url');
}

/** Folder mode: <root>/<kind>/<namespace>/<name>/<purpose>-password, mode 0600 in 0700 directories. */
export class FolderGeneratedPasswords implements GeneratedPasswords {
  constructor(private readonly root: string) {}

  async ensure(owner: Resource, purpose: string): Promise<GeneratedPassword> {
    const file = this.file(owner, purpose);
    const kept = (await readFileIfExists(file))?.toString('utf8').trim();
    const password = kept || newPassword();
    if (!kept) await writeFileAtomic(file, `${password}\n`, 0o600);
    return { password, reference: { passwordFile: file } };
  }

  async discard(owner: Resource, purpose: string): Promise<void> {
    await rm(this.file(owner, purpose), { force: true });
  }

  /** Every segment is a checked DNS label, so the file stays under the root. */
  private file(owner: Resource, purpose: string): string {
    const segments = [owner.kind.toLowerCase(), owner.metadata.namespace, owner.metadata.name, purpose];
    for (const segment of segments) assertDnsLabel('name', segment);
    return `${join(this.root, ...segments)}-password`;
  }
}
