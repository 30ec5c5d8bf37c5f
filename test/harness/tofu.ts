// Test harness: OpenTofu and the providers built from their Go modules into .tools/ (see tools/install.sh).
// The installer runs once per test process; when everything is already built it returns in well under a second.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
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
  /** The version each pinned provider is published under in the mirror, by type (`null`, `local`, `libvirt`). */
  providerVersions: Record<string, string>;
}

export type ToolTarget = 'tofu' | 'core' | 'providers' | 'all';

const installs = new Map<ToolTarget, Promise<TofuTools>>();

/** `<TYPE>_VERSION` of every provider pinned in versions.env with a non-empty `<TYPE>_GOVER`. */
async function pinnedProviderVersions(): Promise<Record<string, string>> {
  const vars = new Map<string, string>();
  for (const line of (await readFile(join(HERE, 'tools', 'versions.env'), 'utf8')).split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] && match[2] !== undefined) vars.set(match[1], match[2]);
  }
  const versions: Record<string, string> = {};
  for (const [name, module] of vars) {
    const key = name.replace(/_MODULE$/, '');
    if (key === name || key === 'TOFU' || !module.includes('terraform-provider-')) continue;
    const version = vars.get(`${key}_VERSION`);
    if (vars.get(`${key}_GOVER`) && version) versions[key.toLowerCase()] = version;
  }
  return versions;
}

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
    install = runInstaller(target).then(async () => ({
      tofu: join(TOOLS_DIR, 'bin', 'tofu'),
      cliConfig: join(TOOLS_DIR, 'tofurc'),
      env: {
        TF_CLI_CONFIG_FILE: join(TOOLS_DIR, 'tofurc'),
        PATH: `${join(TOOLS_DIR, 'bin')}:${process.env.PATH ?? ''}`,
      },
      providerVersions: await pinnedProviderVersions(),
    }));
    installs.set(target, install);
  }
  return install;
}
