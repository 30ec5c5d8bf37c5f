// Every Ansible and Terraform run that Orion kept, as a job: an id, the resource it ran for, a state (PENDING,
// RUNNING, SUCCESS, ERROR), timestamps and a log file. Ansible logs are filed under <state>/runs/<Kind>/…,
// Terraform's under <state>/terraform/logs/<kind>/… (run-logs.ts); a run's id names its resource and its log:
//   <kind>.<namespace>.<name>.<log name without .log>     e.g. rental.default.alice.20261121T222828.187Z-create_user
// Kinds, namespaces and names are DNS labels (no dots), so the id splits at its first three dots.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { findKind } from '../api/kinds.js';
import { runLogRef, workspaceRef, type ObjectRef } from '../api/refs.js';
import type { RunInfo, RunReader } from '../api/runs.js';
import { listRunLogs, readRunRecord, resourceLogDir } from './run-logs.js';

type RunRef = ObjectRef;
export type { RunInfo };

const SEGMENT = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LOG_BASE = /^\d{8}T\d{6}\.\d{3}Z-[A-Za-z0-9_-]+$/;

export class RunCatalog implements RunReader {
  constructor(private readonly stateRoot: string) {}

  /** The kept runs of a resource, oldest first. */
  async list(ref: RunRef): Promise<RunInfo[]> {
    const logs = [
      ...(await listRunLogs(join(this.stateRoot, 'runs'), runLogRef(ref))),
      ...(await listRunLogs(join(this.stateRoot, 'terraform', 'logs'), workspaceRef(ref))),
    ].sort((a, b) => a.file.slice(a.file.lastIndexOf('/')).localeCompare(b.file.slice(b.file.lastIndexOf('/'))));
    return Promise.all(logs.map((log) => this.describe(ref, log.file, log.startedAt, log.playbook)));
  }

  /** One run by id; undefined when the id is malformed or its log is gone. */
  async get(id: string): Promise<RunInfo | undefined> {
    const parsed = parseRunId(id);
    if (!parsed) return undefined;
    const { ref, base } = parsed;
    const candidates = [
      join(resourceLogDir(join(this.stateRoot, 'runs'), runLogRef(ref)), `${base}.log`),
      join(resourceLogDir(join(this.stateRoot, 'terraform', 'logs'), workspaceRef(ref)), `${base}.log`),
    ];
    for (const file of candidates) {
      if (!(await stat(file).catch(() => undefined))?.isFile()) continue;
      const dash = base.indexOf('-');
      const startedAt = `${base.slice(0, 4)}-${base.slice(4, 6)}-${base.slice(6, 11)}:${base.slice(11, 13)}:${base.slice(13, dash)}`;
      return this.describe(ref, file, startedAt, base.slice(dash + 1));
    }
    return undefined;
  }

  private async describe(ref: RunRef, file: string, startedAt: string, what: string): Promise<RunInfo> {
    const base = file.slice(file.lastIndexOf('/') + 1, -'.log'.length);
    const record = await readRunRecord(file);
    return {
      id: runId(ref, base),
      resource: { kind: ref.kind, namespace: ref.namespace, name: ref.name },
      what,
      // A log kept from before run records existed: its outcome is not known, so it is never told as a success.
      state: record?.state ?? 'ERROR',
      startedAt: record?.startedAt ?? startedAt,
      ...(record?.endedAt ? { endedAt: record.endedAt } : {}),
      ...(record ? (record.result ? { result: record.result } : {}) : { result: 'unknown' }),
      ...(record ? (record.message ? { message: record.message } : {}) : { message: 'no record of how this run ended' }),
      file,
    };
  }
}

export function runId(ref: RunRef, logBase: string): string {
  return `${ref.kind.toLowerCase()}.${ref.namespace}.${ref.name}.${logBase}`;
}

export function parseRunId(id: string): { ref: RunRef; base: string } | undefined {
  const parts = id.split('.');
  if (parts.length < 4) return undefined;
  const [kindName, namespace, name] = parts as [string, string, string];
  const base = parts.slice(3).join('.');
  const def = findKind(kindName);
  if (!def || !SEGMENT.test(namespace) || !SEGMENT.test(name) || !LOG_BASE.test(base)) return undefined;
  return { ref: { kind: def.kind, namespace, name }, base };
}
