// Where the CLI finds things: the state directory beside the manifests and its layout, the package's version.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../base/package-root.js';
import { defaultStateDir } from '../folder/store.js';

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export function resolveStateDir(options: { dir?: string; state?: string }): string {
  if (options.state) return resolve(options.state);
  if (options.dir) return defaultStateDir(options.dir);
  return resolve('.orion');
}

/** The state directory's layout, shared by the runners and `orion logs`: run logs and Terraform workspaces. */
export function stateLayout(stateDir: string): { runs: string; terraform: string } {
  return { runs: join(stateDir, 'runs'), terraform: join(stateDir, 'terraform') };
}
