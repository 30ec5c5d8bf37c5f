// Per-run log files of a resource (Ansible playbooks, Terraform operations), shown by `orion logs`:
//   <dir>/<kind>/<namespace>/<name>/<ISO 8601 basic time>-<what>.log, oldest pruned beyond a count.
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { PathRef } from '../api/refs.js';

const LOG_NAME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z-([A-Za-z0-9_-]+)\.log$/;

export function resourceLogDir(runsDir: string, ref: PathRef): string {
  return join(runsDir, ref.kind, ref.namespace, ref.name);
}

/** "<ISO 8601 basic time>-<playbook or operation>.log": sortable, no ':' in file names. */
export function runLogName(startedAt: Date, playbook: string): string {
  const iso = startedAt.toISOString().replace(/[-:]/g, '');
  return `${iso}-${playbook}.log`;
}

/** The run logs of one resource, oldest first (newest last). */
export async function listRunLogs(
  runsDir: string,
  ref: PathRef,
): Promise<Array<{ file: string; startedAt: string; playbook: string }>> {
  const dir = resourceLogDir(runsDir, ref);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const logs: Array<{ file: string; startedAt: string; playbook: string }> = [];
  for (const name of names.sort()) {
    const m = LOG_NAME.exec(name);
    if (!m) continue;
    const startedAt = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`;
    logs.push({ file: join(dir, name), startedAt, playbook: m[8] as string });
  }
  return logs;
}

export async function pruneRunLogs(runsDir: string, ref: PathRef, keep: number): Promise<void> {
  const logs = await listRunLogs(runsDir, ref);
  for (const old of logs.slice(0, Math.max(0, logs.length - keep))) {
    await unlink(old.file).catch(() => undefined);
  }
}

