// Refuses early, with a clear message, on a host that cannot run namespaced sshd workers.
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

const CHECK_TIMEOUT_MS = 10_000;
const REQUIRED_TOOLS = ['/usr/sbin/sshd', 'ssh-keygen', 'unshare', 'nsenter', 'setpriv', 'bash', 'mount'];

let checked: Promise<void> | undefined;

/** Runs the checks once per process; later calls reuse the outcome. */
export function assertDataPlaneSupported(): Promise<void> {
  checked ??= runChecks();
  return checked;
}

async function runChecks(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error('the local data plane needs root (it mounts overlays and creates namespaces)');
  }
  await assertToolsPresent();
  await assertOverlayInNamespace();
}

async function assertToolsPresent(): Promise<void> {
  const missing: string[] = [];
  for (const tool of REQUIRED_TOOLS) {
    const found = await execa('bash', ['-c', 'command -v "$1"', 'which', tool], { reject: false, stdin: 'ignore' });
    if (found.exitCode !== 0) missing.push(tool);
  }
  if (missing.length > 0) throw new Error(`the local data plane needs these programs: ${missing.join(', ')}`);
}

/** Mounts a throwaway overlay inside a throwaway mount+pid namespace: proves both work here. */
async function assertOverlayInNamespace(): Promise<void> {
  const filesystems = await readFile('/proc/filesystems', 'utf8').catch(() => '');
  if (!/\boverlay\b/.test(filesystems)) {
    throw new Error('overlayfs is not available (no "overlay" in /proc/filesystems; try `modprobe overlay`)');
  }
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'orion-preflight-'));
  try {
    const [upper, work, merged] = ['upper', 'work', 'merged'].map((d) => path.join(scratch, d)) as [string, string, string];
    await Promise.all([upper, work, merged].map((d) => mkdir(d)));
    const result = await execa(
      'unshare',
      ['--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private', '--',
        'mount', '-t', 'overlay', 'orion-check', '-o', `lowerdir=/etc,upperdir=${upper},workdir=${work}`, merged],
      { reject: false, stdin: 'ignore', timeout: CHECK_TIMEOUT_MS },
    );
    if (result.exitCode !== 0) {
      const detail = String(result.stderr || result.shortMessage).trim().slice(0, 300);
      throw new Error(`cannot mount an overlay in a new mount+pid namespace (unshare/overlayfs unavailable?): ${detail}`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
