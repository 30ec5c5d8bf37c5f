// Playbooks are named, never pathed: a bare name resolves inside the allowed folders only, and its real path
// (symlinks resolved) must stay inside the folder that holds it.
import { existsSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { packageRoot } from '../../base/package-root.js';
import { InvalidPlaybookError } from './types.js';

const PLAYBOOK_NAME = /^[A-Za-z0-9_-]+$/;

/** The project's ansible/ folder: create_user, delete_user, desktop. */
export function defaultPlaybookDir(): string {
  return join(packageRoot(), 'ansible');
}

/** The bare name of a playbook ("create_user" for "create_user.yml"); throws InvalidPlaybookError. */
export function playbookBaseName(name: string): string {
  const base = name.endsWith('.yml') ? name.slice(0, -'.yml'.length) : name;
  if (!PLAYBOOK_NAME.test(base)) {
    throw new InvalidPlaybookError(
      `invalid playbook name ${JSON.stringify(name)}: use a bare name of letters, digits, "_" and "-", ` +
        'with or without ".yml" (no path, no leading dot)',
    );
  }
  return base;
}

/** Resolves a bare playbook name inside one of the directories; the real path must stay inside it. */
export function resolvePlaybookIn(dirs: string[], name: string): string {
  const base = playbookBaseName(name);
  for (const dir of dirs) {
    const candidate = join(dir, `${base}.yml`);
    if (!existsSync(candidate)) continue;
    const realDir = realpathSync(dir);
    const real = realpathSync(candidate);
    if (!real.startsWith(realDir + sep) || !statSync(real).isFile()) {
      throw new InvalidPlaybookError(`playbook ${JSON.stringify(name)} resolves outside ${dir}`);
    }
    return real;
  }
  throw new InvalidPlaybookError(`playbook ${JSON.stringify(name)} not found in ${dirs.join(', ')}`);
}
