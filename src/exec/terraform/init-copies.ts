// A new workspace whose `init` would install exactly what an earlier init installed (the same init key: binary,
// providers and their constraints, module sources, backend) gets a copy of that init's result instead of an init
// process: the lock file and .terraform. With the shared plugin cache, .terraform holds only links into the cache and
// a module manifest that names module directories relative to the workspace, so the copy is a few small files.
//
// Terraform checks at every run that the lock file, the installed providers and the module manifest match the
// configuration; when they do not (the cache emptied by hand, a copy gone stale), the run fails asking for
// `init` (initRequired), and the runner then drops that copy and runs a real init.
import { randomBytes } from 'node:crypto';
import { cp, lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Workspace } from './workspace.js';

const INIT_DIR = '.terraform';
const LOCK_FILE = '.terraform.lock.hcl';
/** What a plain local-backend init leaves in .terraform; anything else (a backend's saved settings) is not copied. */
const COPYABLE_ENTRIES = new Set(['modules', 'providers']);

/**
 * Terraform asking for `init`: its own words when the installed providers or modules do not match the configuration
 * ("Run \"tofu init\"", or the provider errors that only list what is missing).
 */
const INIT_REQUIRED = /\b(?:tofu|terraform) init\b|^Error: (?:Required plugins are not installed|Inconsistent dependency lock file)/m;

export function initRequired(error: string | undefined): boolean {
  return error !== undefined && INIT_REQUIRED.test(error);
}

export class InitCopies {
  constructor(private readonly dir: string) {}

  /** Puts the copy of the init with this key into a workspace that has never been initialized; whether it did. */
  async copyInto(ws: Workspace, key: string): Promise<boolean> {
    const from = join(this.dir, key);
    if (!(await exists(join(from, LOCK_FILE))) || (await exists(join(ws.dir, INIT_DIR))) || (await exists(join(ws.dir, LOCK_FILE)))) return false;
    try {
      await cp(join(from, INIT_DIR), join(ws.dir, INIT_DIR), { recursive: true, verbatimSymlinks: true, errorOnExist: true, force: false });
      await cp(join(from, LOCK_FILE), join(ws.dir, LOCK_FILE), { errorOnExist: true, force: false });
      return true;
    } catch {
      // Half a copy is no init: take it back, and the caller runs init.
      await rm(join(ws.dir, INIT_DIR), { recursive: true, force: true });
      await rm(join(ws.dir, LOCK_FILE), { force: true });
      return false;
    }
  }

  /** Keeps a workspace's fresh init as the copy for its key, when there is none yet and it holds only links and manifests. */
  async keepFrom(ws: Workspace, key: string): Promise<void> {
    const to = join(this.dir, key);
    if ((await exists(to)) || !(await copyable(join(ws.dir, INIT_DIR)))) return;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const scratch = join(this.dir, `.new-${randomBytes(6).toString('hex')}`);
    try {
      await cp(join(ws.dir, INIT_DIR), join(scratch, INIT_DIR), { recursive: true, verbatimSymlinks: true });
      await cp(join(ws.dir, LOCK_FILE), join(scratch, LOCK_FILE));
      // Whole or not at all: a concurrent init of the same key may have put its copy there first.
      await rename(scratch, to).catch(() => undefined);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** Forgets the copy for a key (Terraform found an init made from it wanting). */
  async discard(key: string): Promise<void> {
    await rm(join(this.dir, key), { recursive: true, force: true });
  }
}

/** Whether an init directory holds only the module manifest and provider links (no provider binaries, no backend). */
async function copyable(initDir: string): Promise<boolean> {
  const entries = await readdir(initDir).catch(() => undefined);
  if (!entries || entries.some((e) => !COPYABLE_ENTRIES.has(e))) return false;
  return onlyLinks(join(initDir, 'providers'));
}

/** Every leaf under dir is a symbolic link (into the plugin cache); true for a missing dir (a module without providers). */
async function onlyLinks(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (e.isSymbolicLink()) continue;
    if (!e.isDirectory() || !(await onlyLinks(join(dir, e.name)))) return false;
  }
  return true;
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(() => true, () => false);
}
