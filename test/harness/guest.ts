// Test harness: the tiny bootable Debian guest (kernel, initrd, root image, test key) that
// guest/build-image.sh builds once into .tools/guest/ and reuses.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOOLS_DIR } from './tofu.js';

const BUILDER = join(dirname(fileURLToPath(import.meta.url)), 'guest', 'build-image.sh');

export interface GuestImage {
  dir: string;
  image: string;
  kernel: string;
  initrd: string;
  /** Kernel command line for direct kernel boot of the image. */
  cmdline: string;
  privateKey: string;
  publicKey: string;
}

let built: Promise<GuestImage> | undefined;

export function ensureGuestImage(): Promise<GuestImage> {
  built ??= new Promise<void>((resolve, reject) => {
    const child = spawn('bash', [BUILDER, join(TOOLS_DIR, 'guest')], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${BUILDER} failed (exit ${code})`))));
  }).then(async () => {
    const dir = join(TOOLS_DIR, 'guest');
    return {
      dir,
      image: join(dir, 'debian.qcow2'),
      kernel: join(dir, 'vmlinuz'),
      initrd: join(dir, 'initrd.img'),
      cmdline: 'root=/dev/vda rw console=ttyS0',
      privateKey: await readFile(join(dir, 'id_ed25519'), 'utf8'),
      publicKey: (await readFile(join(dir, 'id_ed25519.pub'), 'utf8')).trim(),
    };
  });
  return built;
}
