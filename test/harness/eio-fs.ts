// A real file system whose reads fail with EIO on demand, as a failing disk's do: eio-fs/eio_fs.py (FUSE, through
// Debian's python3-fusepy, installed when missing) mirrors a backing folder at a mount point, and fails the reads of
// the files the test names. Needs root (the FUSE mount) and /dev/fuse.
import { mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';

const SERVER = resolve(import.meta.dirname, 'eio-fs', 'eio_fs.py');
const PYTHON = '/usr/bin/python3';

export interface EioFs {
  readonly mountpoint: string;
  /** Reads of the file fail with EIO from now on. */
  failReads(name: string): Promise<void>;
  heal(name: string): Promise<void>;
  /** Sets the file's times through the mount, which a watcher of the mount sees as a change. */
  touch(name: string): Promise<void>;
  unmount(): Promise<void>;
}

async function ensureFusepy(): Promise<void> {
  if ((await execa(PYTHON, ['-c', 'import fusepy'], { reject: false })).exitCode === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await execa('apt-get', ['update', '-qq'], { env });
  await execa('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'python3-fusepy'], { env });
}

async function isMounted(path: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  return mounts.split('\n').some((line) => line.split(' ')[4] === path);
}

/** Mounts the backing folder at the mount point (both made if missing). */
export async function mountEioFs(backing: string, mountpoint: string): Promise<EioFs> {
  await ensureFusepy();
  const control = join(backing, '.eio');
  await mkdir(control, { recursive: true });
  await mkdir(mountpoint, { recursive: true });
  const server: ResultPromise = execa(PYTHON, [SERVER, backing, mountpoint], { reject: false, stdin: 'ignore', all: true });
  const deadline = Date.now() + 15_000;
  while (!(await isMounted(mountpoint))) {
    if (server.exitCode !== null || Date.now() > deadline) {
      server.kill('SIGKILL');
      throw new Error(`eio_fs did not mount ${mountpoint}: ${(await server).all ?? ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    mountpoint,
    failReads: (name) => writeFile(join(control, name), ''),
    heal: (name) => rm(join(control, name), { force: true }),
    touch: async (name) => {
      const now = new Date();
      await utimes(join(mountpoint, name), now, now);
    },
    unmount: async () => {
      await execa('umount', [mountpoint], { reject: false });
      server.kill('SIGTERM');
      await server;
    },
  };
}
