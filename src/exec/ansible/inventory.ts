// What one ansible-playbook process is given: a private run directory (inventory, known_hosts made from the pinned
// host keys, the private key, the extra vars, Ansible's temp and SSH control sockets), SSH options that trust the
// pinned keys only, and an environment that is the whole of Ansible's configuration. Every variable's value, extra
// or host var, is written tagged `!unsafe` (unsafe-yaml.ts): data, never a template.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../../base/package-root.js';
import { InvalidRunRequestError, type AnsibleHost, type AnsibleRunRequest } from './types.js';
import { quotedScalar, unsafeVarsYaml } from './unsafe-yaml.js';
import { hostKeyParts } from './validate.js';

const SSH_CONNECT_TIMEOUT_S = 10;
const MAX_FORKS = 20;
const CONTROL_PERSIST_S = 5;

/** One known_hosts line per host from its pinned key: "[address]:port type base64" (port 22: bare address). */
export function renderKnownHosts(hosts: AnsibleHost[]): string {
  return hosts
    .map((host) => {
      const parts = hostKeyParts(host.hostKey);
      if (!parts) throw new InvalidRunRequestError(`host ${host.name}: pinned host key is not an OpenSSH public key line`);
      const pattern = host.port === 22 ? host.address : `[${host.address}]:${host.port}`;
      return `${pattern} ${parts.type} ${parts.key}\n`;
    })
    .join('');
}

/**
 * The YAML inventory: every host under `all`, addressed by its name. Orion's connection variables (checked names,
 * addresses, logins, paths) are plain; the host's own vars are tagged `!unsafe`.
 */
export function renderInventory(hosts: AnsibleHost[], privateKeyFile: string): string {
  const lines = ['all:', '  hosts:'];
  for (const host of hosts) {
    lines.push(`    ${quotedScalar(host.name)}:`);
    lines.push(`      ansible_host: ${quotedScalar(host.address)}`);
    lines.push(`      ansible_port: ${host.port}`);
    lines.push(`      ansible_user: ${quotedScalar(host.user)}`);
    lines.push(`      ansible_ssh_private_key_file: ${quotedScalar(privateKeyFile)}`);
    if (host.vars && Object.keys(host.vars).length > 0) lines.push(unsafeVarsYaml(host.vars, '      ').trimEnd());
  }
  return `${lines.join('\n')}\n`;
}

export interface RunFiles {
  dir: string;
  inventory: string;
  extraVars: string;
  summary: string;
  config: string;
}

export async function writeRunFiles(dir: string, req: AnsibleRunRequest): Promise<RunFiles> {
  const keyFile = join(dir, 'id_key');
  const key = req.privateKey.endsWith('\n') ? req.privateKey : `${req.privateKey}\n`;
  await writeFile(keyFile, key, { mode: 0o600, flag: 'wx' });
  await writeFile(join(dir, 'known_hosts'), renderKnownHosts(req.hosts), { mode: 0o600 });
  const files: RunFiles = {
    dir,
    inventory: join(dir, 'inventory.yml'),
    extraVars: join(dir, 'extra_vars.yml'),
    summary: join(dir, 'summary.json'),
    config: join(dir, 'ansible.cfg'),
  };
  await writeFile(files.inventory, renderInventory(req.hosts, keyFile), { mode: 0o600 });
  await writeFile(files.extraVars, unsafeVarsYaml(req.extraVars), { mode: 0o600 });
  await writeFile(files.config, '# empty on purpose: Orion configures Ansible through the environment\n');
  await mkdir(join(dir, 'tmp'), { mode: 0o700 });
  await mkdir(join(dir, 'cp'), { mode: 0o700 });
  return files;
}

/** The SSH options: pinned host keys only, no user ssh config, no agent, key authentication only. */
export function sshArgs(knownHostsFile: string): string {
  return [
    '-F /dev/null',
    '-o StrictHostKeyChecking=yes',
    `-o UserKnownHostsFile="${knownHostsFile}"`,
    '-o GlobalKnownHostsFile=/dev/null',
    '-o UpdateHostKeys=no',
    '-o IdentitiesOnly=yes',
    '-o IdentityAgent=none',
    '-o BatchMode=yes',
    // One connection per host for the whole run (each new SSH handshake costs ~0.3-0.5 s here); the control
    // socket lives in the run directory, and a master outlives the run by at most ControlPersist.
    '-o ControlMaster=auto',
    `-o ControlPersist=${CONTROL_PERSIST_S}s`,
    '-o ServerAliveInterval=5',
    '-o ServerAliveCountMax=3',
  ].join(' ');
}


const PASSED_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'TMPDIR', 'TZ', 'PYTHONPATH', 'VIRTUAL_ENV'];

/** The whole environment of ansible-playbook: nothing from the user's Ansible config or ANSIBLE_* variables. */
export function ansibleEnv(files: RunFiles, hostCount: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of PASSED_ENV) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return {
    ...env,
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    // No __pycache__ beside the callback plugin in the source tree or an installed package.
    PYTHONDONTWRITEBYTECODE: '1',
    ANSIBLE_CONFIG: files.config,
    ANSIBLE_INVENTORY_ENABLED: 'yaml',
    ANSIBLE_RETRY_FILES_ENABLED: 'false',
    ANSIBLE_HOST_KEY_CHECKING: 'true',
    ANSIBLE_SSH_ARGS: sshArgs(join(files.dir, 'known_hosts')),
    ANSIBLE_SSH_CONTROL_PATH_DIR: join(files.dir, 'cp'),
    ANSIBLE_PIPELINING: 'true',
    ANSIBLE_TIMEOUT: String(SSH_CONNECT_TIMEOUT_S),
    ANSIBLE_FORKS: String(Math.max(1, Math.min(hostCount, MAX_FORKS))),
    ANSIBLE_GATHERING: 'explicit',
    ANSIBLE_LOCAL_TEMP: join(files.dir, 'tmp'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
    ANSIBLE_STDOUT_CALLBACK: 'default',
    ANSIBLE_CALLBACK_PLUGINS: join(packageRoot(), 'ansible', 'callback_plugins'),
    ANSIBLE_CALLBACKS_ENABLED: 'orion_summary',
    ORION_ANSIBLE_SUMMARY: files.summary,
  };
}
