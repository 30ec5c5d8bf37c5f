// Folder mode's generated passwords (see src/store/generated-passwords.ts): one 0600 file per resource and
// purpose under the state directory, <root>/<kind>/<namespace>/<name>/<purpose>-password, in 0700 directories.
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
