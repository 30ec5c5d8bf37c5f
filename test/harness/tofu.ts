// Test harness: OpenTofu and the providers built from their Go modules into .tools/ (see tools/install.sh).
// The installer runs once per test process; when everything is already built it returns in well under a second.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(HERE, '../..');
export const TOOLS_DIR = process.env.ORION_TOOLS_DIR ?? join(REPO_ROOT, '.tools');
const INSTALLER = join(HERE, 'tools', 'install.sh');

export interface TofuTools {
  /** .tools/bin/tofu */
  tofu: string;
  /** .tools/tofurc: the CLI configuration that installs providers only from the filesystem mirror. */
  cliConfig: string;
  /** Environment for a Terraform run: TF_CLI_CONFIG_FILE, and PATH with .tools/bin first. */
  env: Record<string, string>;
}

export type ToolTarget = 'tofu' | 'core' | 'providers' | 'all';

const installs = new Map<ToolTarget, Promise<TofuTools>>();

function runInstaller(target: ToolTarget): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', [INSTALLER, target], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`${INSTALLER} ${target} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

/**
 * Builds (first time: minutes) or reuses tofu and the providers of `target` — by default `core`: tofu with
 * the null and local providers, what the runner tests need.
 */
export function ensureTofu(target: ToolTarget = 'core'): Promise<TofuTools> {
  let install = installs.get(target);
  if (!install) {
    install = runInstaller(target).then(() => ({
      tofu: join(TOOLS_DIR, 'bin', 'tofu'),
      cliConfig: join(TOOLS_DIR, 'tofurc'),
      env: {
        TF_CLI_CONFIG_FILE: join(TOOLS_DIR, 'tofurc'),
        PATH: `${join(TOOLS_DIR, 'bin')}:${process.env.PATH ?? ''}`,
      },
    }));
    installs.set(target, install);
  }
  return install;
}
