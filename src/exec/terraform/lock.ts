// Terraform state locks in a workspace. The local backend locks `terraform.tfstate` with a POSIX record lock
// (fcntl) and describes the holder in `.terraform.tfstate.lock.info` (ID, Who = user@host, Operation, Created).
// The kernel drops a POSIX lock when its holder dies, but the info file stays: that leftover is a stale lock.
// Who carries no pid, so the holder's pid comes from the kernel's own table of record locks (/proc/locks),
// matched on the state file's device and inode. A lock is released only when it is on this host and no live
// process holds the record lock: never a live lock.
import { readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { STATE_FILE } from './state.js';
import { readFileIfExists } from '../../base/files.js';
import type { Workspace } from './workspace.js';

export const LOCK_INFO_FILE = '.terraform.tfstate.lock.info';

export interface LockHolder {
  ID: string;
  Who: string;
  Operation: string;
  Created: string;
  Path?: string;
  Version?: string;
  /** The process holding the record lock on the state file, when one does. */
  pid?: number;
  /** true: a live process holds it; false: nobody does (stale); undefined: cannot tell (another host). */
  alive?: boolean;
}

export interface LockRelease {
  released: boolean;
  reason: string;
}

/** The holder described in Terraform's "Error acquiring the state lock" message, if the text is one. */
export function parseLockError(text: string): LockHolder | undefined {
  if (!/Error acquiring the state lock/i.test(text)) return undefined;
  const field = (name: string): string => {
    const match = new RegExp(`^[\\s│]*${name}:[ \\t]*(.*)$`, 'm').exec(text);
    return match?.[1]?.trim() ?? '';
  };
  const holder: LockHolder = { ID: field('ID'), Who: field('Who'), Operation: field('Operation'), Created: field('Created') };
  const path = field('Path');
  const version = field('Version');
  if (path) holder.Path = path;
  if (version) holder.Version = version;
  return holder;
}

/** The lock info file Terraform leaves in the workspace while (or after) a run holds the lock. */
export async function readLockInfo(ws: Workspace): Promise<LockHolder | undefined> {
  const data = await readFileIfExists(join(ws.dir, LOCK_INFO_FILE));
  if (data === undefined) return undefined;
  try {
    const info = JSON.parse(data.toString('utf8')) as Partial<LockHolder>;
    return {
      ID: String(info.ID ?? ''),
      Who: String(info.Who ?? ''),
      Operation: String(info.Operation ?? ''),
      Created: String(info.Created ?? ''),
      ...(info.Path ? { Path: String(info.Path) } : {}),
      ...(info.Version ? { Version: String(info.Version) } : {}),
    };
  } catch {
    return { ID: '', Who: '', Operation: '', Created: '' };
  }
}

/** Linux dev_t → "major:minor" as /proc/locks prints it (lowercase hex, at least two digits each). */
function deviceId(dev: number): string {
  const big = BigInt(dev);
  const major = ((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn);
  const minor = (big & 0xffn) | ((big >> 12n) & ~0xffn);
  const hex = (n: bigint): string => n.toString(16).padStart(2, '0');
  return `${hex(major)}:${hex(minor)}`;
}

/** The pid holding a POSIX record lock on `path`, from /proc/locks; undefined when nobody does. */
export async function recordLockHolderPid(path: string): Promise<number | undefined> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const target = `${deviceId(st.dev)}:${st.ino}`;
  const table = await readFile('/proc/locks', 'utf8');
  for (const line of table.split('\n')) {
    // "1: POSIX  ADVISORY  WRITE 4242 fe:00:5325594 0 EOF"; waiters are printed as "1: -> POSIX ...".
    const cols = line.trim().split(/\s+/);
    if (cols[1] !== 'POSIX' || cols[5] !== target) continue;
    const pid = Number(cols[4]);
    if (Number.isInteger(pid) && pid > 0) return pid;
  }
  return undefined;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holderHost(who: string): string | undefined {
  const at = who.lastIndexOf('@');
  return at >= 0 ? who.slice(at + 1) : undefined;
}

/** Adds pid and liveness to a holder, from the kernel's lock table for this workspace's state file. */
export async function locateHolder(ws: Workspace, holder: LockHolder): Promise<LockHolder> {
  const host = holderHost(holder.Who);
  if (host !== undefined && host !== hostname()) return { ...holder, alive: undefined };
  const pid = await recordLockHolderPid(join(ws.dir, STATE_FILE));
  if (pid === undefined) return { ...holder, alive: false };
  return { ...holder, pid, alive: processAlive(pid) };
}

/** The current lock of a workspace, live or stale, or undefined when there is none. */
export async function inspectLock(ws: Workspace): Promise<LockHolder | undefined> {
  const info = await readLockInfo(ws);
  if (info !== undefined) return locateHolder(ws, info);
  const pid = await recordLockHolderPid(join(ws.dir, STATE_FILE));
  if (pid === undefined) return undefined;
  return { ID: '', Who: '', Operation: '', Created: '', pid, alive: processAlive(pid) };
}

/**
 * Removes a stale lock: only the lock with this ID, only on this host, only when no live process holds the
 * record lock on the state file. A live lock is never released (it belongs to a running Terraform, possibly
 * one left running by a crashed Orion: wait for it instead).
 */
export async function releaseStaleLock(ws: Workspace, lockId: string): Promise<LockRelease> {
  const lock = await inspectLock(ws);
  if (lock === undefined) return { released: false, reason: 'no lock is held' };
  if (lock.ID !== lockId) {
    return { released: false, reason: `the lock is ${JSON.stringify(lock.ID)}, not ${JSON.stringify(lockId)}` };
  }
  if (lock.alive === undefined) {
    return { released: false, reason: `the lock was taken on another host (${lock.Who}): cannot tell if it is live` };
  }
  if (lock.alive) return { released: false, reason: `the lock is held by live process ${lock.pid}` };
  // A run that started since the check rewrote the info file with its own ID: leave that one alone.
  if ((await readLockInfo(ws))?.ID !== lockId) return { released: false, reason: 'the lock changed meanwhile' };
  await rm(join(ws.dir, LOCK_INFO_FILE), { force: true });
  return { released: true, reason: `no process holds the lock any more (taken by ${lock.Who} for ${lock.Operation})` };
}
