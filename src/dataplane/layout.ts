// Where a worker keeps its files, and the checks that keep names and paths safe.
import path from 'node:path';
import { isDnsLabel } from '../base/names.js';

/**
 * A worker's persistent directory:
 *   sshd_config                  generated at each start
 *   ssh_host_ed25519_key{,.pub}  its host key (made once; rotateHostKey replaces it)
 *   authorized_keys.root         the orchestrator's keys, copied to /run inside the worker at start
 *   etc/upper, etc/work          overlayfs upper and work dirs over /etc (users, groups, sudoers...)
 *   home/                        bind-mounted over /home
 *   root/                        bind-mounted over /root (root's own home: not the host's dotfiles)
 *   pam.sshd                     sshd's PAM stack, bind-mounted over /etc/pam.d/sshd
 *   sshd.log                     sshd's log (-E) and the init script's errors
 *   sshd.pid                     written by sshd: the namespace pid, useless from the host
 */
export interface WorkerLayout {
  name: string;
  dir: string;
  sshdConfigPath: string;
  hostKeyPath: string;
  rootAuthorizedKeysPath: string;
  etcUpperDir: string;
  etcWorkDir: string;
  homeDir: string;
  rootHomeDir: string;
  pamSshdPath: string;
  logPath: string;
  pidFilePath: string;
}

/** Characters that are safe inside overlay mount options (no ',' ':' '=' or spaces) and sshd_config. */
const SAFE_PATH = /^\/[A-Za-z0-9._/-]*$/;
/** Directories the worker mounts over: its own files must not live below them. */
const SHADOWED_ROOTS = ['/etc', '/home', '/root', '/run', '/proc'];

export function assertDnsLabel(name: string): void {
  if (!isDnsLabel(name)) {
    throw new Error(`worker name ${JSON.stringify(name)} is not a DNS label (a-z, 0-9, '-', at most 63 characters)`);
  }
}

function isBelow(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Resolves a worker directory and refuses paths the namespace would hide or that break mount options. */
export function safeWorkerDir(dir: string): string {
  const resolved = path.resolve(dir);
  if (!SAFE_PATH.test(resolved)) {
    throw new Error(`worker dir ${JSON.stringify(resolved)} may only contain letters, digits, '.', '_', '-' and '/'`);
  }
  const shadowed = SHADOWED_ROOTS.find((root) => isBelow(resolved, root));
  if (shadowed || resolved === '/') {
    throw new Error(`worker dir ${resolved} cannot live below ${shadowed ?? '/'}: the worker mounts over it`);
  }
  return resolved;
}

/** The dir of worker `name` below `baseDir`; never escapes it. */
export function childDir(baseDir: string, name: string): string {
  assertDnsLabel(name);
  const base = safeWorkerDir(baseDir);
  const dir = path.join(base, name);
  if (!isBelow(dir, base) || dir === base) throw new Error(`worker dir for ${name} escapes ${base}`);
  return dir;
}

export function workerLayout(name: string, dir: string): WorkerLayout {
  assertDnsLabel(name);
  const root = safeWorkerDir(dir);
  return {
    name,
    dir: root,
    sshdConfigPath: path.join(root, 'sshd_config'),
    hostKeyPath: path.join(root, 'ssh_host_ed25519_key'),
    rootAuthorizedKeysPath: path.join(root, 'authorized_keys.root'),
    etcUpperDir: path.join(root, 'etc', 'upper'),
    etcWorkDir: path.join(root, 'etc', 'work'),
    homeDir: path.join(root, 'home'),
    rootHomeDir: path.join(root, 'root'),
    pamSshdPath: path.join(root, 'pam.sshd'),
    logPath: path.join(root, 'sshd.log'),
    pidFilePath: path.join(root, 'sshd.pid'),
  };
}
