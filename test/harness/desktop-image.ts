// Test harness: the bootable desktop guest (XFCE, xrdp, the AD and pam_mount packages, cloud-init) that
// guest/build-desktop-image.sh builds once into .tools/guest-desktop/ and reuses.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOOLS_DIR } from './tofu.js';

const BUILDER = join(dirname(fileURLToPath(import.meta.url)), 'guest', 'build-desktop-image.sh');

export interface DesktopImage {
  dir: string;
  /** A qcow2 disk that boots on its own (MBR, SYSLINUX): what an admin puts in a pool as a desktop template. */
  image: string;
}

let built: Promise<DesktopImage> | undefined;

export function ensureDesktopImage(): Promise<DesktopImage> {
  const dir = join(TOOLS_DIR, 'guest-desktop');
  built ??= new Promise<DesktopImage>((resolve, reject) => {
    const child = spawn('bash', [BUILDER, dir], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve({ dir, image: join(dir, 'desktop.qcow2') }) : reject(new Error(`${BUILDER} failed (exit ${code})`))));
  });
  return built;
}
