// Crash-safe file writes: write a temp file, fsync it, rename it over the target, fsync the folder.
// A crash at any point leaves either the previous content or the new one, never a torn file.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';

/**
 * `durable: false` skips the fsyncs: the rename keeps readers from ever seeing a torn file, but a power
 * loss may lose the write. For data that is only informative (events).
 */
export async function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600, durable = true): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'w', mode);
  try {
    await handle.writeFile(data);
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  if (durable) await syncDirectory(dir);
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    await handle.close();
  }
}

/**
 * Serializes writes per path so that the last write issued is the last one on disk, and coalesces
 * a burst of writes to one path into the latest content.
 */
export class OrderedWriter {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly latest = new Map<string, (() => Promise<void>) | undefined>();

  write(path: string, data: string | Buffer, durable = true): Promise<void> {
    return this.enqueue(path, () => writeFileAtomic(path, data, 0o600, durable));
  }

  remove(path: string): Promise<void> {
    return this.enqueue(path, () => rm(path, { force: true }));
  }

  /** Waits until every write issued so far is on disk. */
  async flush(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }

  private enqueue(path: string, op: () => Promise<void>): Promise<void> {
    const pendingExists = this.latest.has(path);
    this.latest.set(path, op);
    if (pendingExists) return this.chains.get(path) ?? Promise.resolve();
    const previous = this.chains.get(path) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(() => {
        const latestOp = this.latest.get(path);
        this.latest.delete(path);
        return latestOp?.();
      })
      .finally(() => {
        if (this.chains.get(path) === next) this.chains.delete(path);
      });
    this.chains.set(path, next);
    return next;
  }
}
