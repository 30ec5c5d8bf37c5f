// Where Orion's own files are (ansible/, terraform/, crds/, examples/): the repository, or the installed package.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The nearest ancestor of this module holding package.json and ansible/. Works from src/base (tsx, vitest) and
 * from dist/src/base (compiled).
 */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'ansible'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package root with an ansible/ folder above ${from}`);
    dir = parent;
  }
}
