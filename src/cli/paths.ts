// Where the CLI finds things: the state directory beside the manifests, the package root.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultStateDir } from '../store/folder.js';

/** The repository / package root, from src/ (tsx, vitest) or dist/src/ (compiled). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'crds'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the orion package root');
    dir = parent;
  }
  return dir;
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export function resolveStateDir(options: { dir?: string; state?: string }): string {
  if (options.state) return resolve(options.state);
  if (options.dir) return defaultStateDir(options.dir);
  return resolve('.orion');
}
