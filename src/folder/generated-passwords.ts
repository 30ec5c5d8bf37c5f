// Folder mode's generated passwords (see src/store/generated-passwords.ts): one 0600 file per resource and
// purpose under the state directory, <root>/<kind>/<namespace>/<name>/<purpose>-password, in 0700 directories,
// beside <purpose>-password.owner holding the uid of the resource it was made for. Like a Secret in Kubernetes
// mode, the file is removed only by the resource it was made for; a resource of the same name made later gets a
// new password, never the old one.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Resource } from '../api/types.js';
import { writeFileAtomic } from '../base/atomic-file.js';
import { readFileIfExists } from '../base/files.js';
import { assertDnsLabel } from '../base/names.js';
import { newPassword, type GeneratedPassword, type GeneratedPasswords } from '../store/generated-passwords.js';

export class FolderGeneratedPasswords implements GeneratedPasswords {
  constructor(private readonly root: string) {}

  async ensure(owner: Resource, purpose: string): Promise<GeneratedPassword> {
    const file = this.file(owner, purpose);
    const ownerUid = await this.ownerOf(file);
    // A file without an owner was made before owners were recorded, under this resource's own name: it is adopted.
    const kept = ownerUid === undefined || ownerUid === owner.metadata.uid ? (await readFileIfExists(file))?.toString('utf8').trim() : undefined;
    const password = kept || newPassword();
    // The password first: cut short in between, the next call finds another's owner file and makes a new one again.
    if (!kept) await writeFileAtomic(file, `${password}\n`, 0o600);
    if (ownerUid !== owner.metadata.uid) await writeFileAtomic(ownerFile(file), `${owner.metadata.uid}\n`, 0o600);
    return { password, reference: { passwordFile: file } };
  }

  /** Removes the password only when it was made for this very resource (its uid in the owner file). */
  async discard(owner: Resource, purpose: string): Promise<void> {
    const file = this.file(owner, purpose);
    if ((await this.ownerOf(file)) !== owner.metadata.uid) return;
    await rm(file, { force: true });
    await rm(ownerFile(file), { force: true });
  }

  private async ownerOf(file: string): Promise<string | undefined> {
    return (await readFileIfExists(ownerFile(file)))?.toString('utf8').trim() || undefined;
  }

  /** Every segment is a checked DNS label, so the file stays under the root. */
  private file(owner: Resource, purpose: string): string {
    const segments = [owner.kind.toLowerCase(), owner.metadata.namespace, owner.metadata.name, purpose];
    for (const segment of segments) assertDnsLabel('name', segment);
    return `${join(this.root, ...segments)}-password`;
  }
}

function ownerFile(passwordFile: string): string {
  return `${passwordFile}.owner`;
}
