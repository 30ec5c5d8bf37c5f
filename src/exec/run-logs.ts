// Per-run log files of a resource (Ansible playbooks, Terraform operations), shown by `orion logs` and streamed by
// the portal:
//   <dir>/<kind>/<namespace>/<name>/<ISO 8601 basic time>-<what>.log, oldest pruned beyond a count,
// each with a small record beside it, <log>.json: the run's state (RUNNING, then SUCCESS or ERROR), its times and
// result, and the pid of the Orion that ran it (a RUNNING record whose Orion is gone was interrupted).
import { readFile, readdir, rm, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { PathRef } from '../api/refs.js';
import { writeFileAtomic } from '../base/atomic-file.js';

export type { RunState } from '../api/runs.js';
import type { RunState } from '../api/runs.js';

export interface RunRecord {
  state: RunState;
  startedAt: string;
  endedAt?: string;
  /** The runner's own word: success, failed, unreachable, timeout, cancelled ... */
  result?: string;
  message?: string;
  pid: number;
}

const LOG_NAME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z-([A-Za-z0-9_-]+)\.log$/;
const RECORD_SUFFIX = '.json';

export function resourceLogDir(runsDir: string, ref: PathRef): string {
  return join(runsDir, ref.kind, ref.namespace, ref.name);
}

/** "<ISO 8601 basic time>-<playbook or operation>.log": sortable, no ':' in file names. */
export function runLogName(startedAt: Date, playbook: string): string {
  const iso = startedAt.toISOString().replace(/[-:]/g, '');
  return `${iso}-${playbook}.log`;
}

/** When a log's name says its run started, and what it ran; undefined for other files. */
export function parseRunLogName(name: string): { startedAt: string; what: string } | undefined {
  const m = LOG_NAME.exec(name);
  if (!m) return undefined;
  return { startedAt: `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`, what: m[8] as string };
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
    const parsed = parseRunLogName(name);
    if (parsed) logs.push({ file: join(dir, name), startedAt: parsed.startedAt, playbook: parsed.what });
  }
  return logs;
}

export async function pruneRunLogs(runsDir: string, ref: PathRef, keep: number): Promise<void> {
  const logs = await listRunLogs(runsDir, ref);
  for (const old of logs.slice(0, Math.max(0, logs.length - keep))) await removeRunLog(old.file);
}

export async function removeRunLog(logFile: string): Promise<void> {
  await unlink(logFile).catch(() => undefined);
  await rm(logFile + RECORD_SUFFIX, { force: true });
}

/** Records that the run of this log started (in this process). */
export function recordRunStart(logFile: string, startedAt: Date): Promise<void> {
  return writeRecord(logFile, { state: 'RUNNING', startedAt: startedAt.toISOString(), pid: process.pid });
}

/** Records how the run of this log ended. */
export async function recordRunEnd(logFile: string, outcome: { ok: boolean; result: string; message?: string }): Promise<void> {
  const started = await readRunRecord(logFile);
  const startedAt = started?.startedAt ?? parseRunLogName(basename(logFile))?.startedAt ?? new Date().toISOString();
  await writeRecord(logFile, {
    state: outcome.ok ? 'SUCCESS' : 'ERROR',
    startedAt,
    endedAt: new Date().toISOString(),
    result: outcome.result,
    ...(outcome.message ? { message: outcome.message.slice(0, 2000) } : {}),
    pid: process.pid,
  });
}

/**
 * The record of a run. A RUNNING record whose Orion process is gone reads as ERROR (interrupted); a log without a
 * record (written before records existed) reads as finished with an unknown result.
 */
export async function readRunRecord(logFile: string): Promise<RunRecord | undefined> {
  let record: RunRecord;
  try {
    record = JSON.parse(await readFile(logFile + RECORD_SUFFIX, 'utf8')) as RunRecord;
  } catch {
    return undefined;
  }
  if (record.state === 'RUNNING' && !isAlive(record.pid)) {
    return { ...record, state: 'ERROR', result: 'interrupted', message: 'the Orion process running it stopped before it ended' };
  }
  return record;
}

/** Atomic (a reader never sees half a record), not fsynced: a record is as durable as the log beside it. */
function writeRecord(logFile: string, record: RunRecord): Promise<void> {
  return writeFileAtomic(logFile + RECORD_SUFFIX, `${JSON.stringify(record)}\n`, 0o600, false);
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
