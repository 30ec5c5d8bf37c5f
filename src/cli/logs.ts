// `orion logs KIND/NAME`: the kept run logs (Ansible, Terraform) of one resource, newest last.
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { findKind } from '../api/kinds.js';
import { runLogRef, workspaceRef, type ObjectRef } from '../api/refs.js';
import { isDnsLabel } from '../base/names.js';
import { listRunLogs } from '../exec/run-logs.js';
import { stateLayout } from './paths.js';

export interface LogsOptions {
  stateDir: string;
  namespace: string;
  all?: boolean;
  list?: boolean;
}

export async function logsCommand(resource: string, options: LogsOptions): Promise<string> {
  const [kindName, name, extra] = resource.split('/');
  const def = kindName ? findKind(kindName) : undefined;
  if (!def || !name || extra !== undefined) throw new Error(`expected KIND/NAME (for example rental/alice), got "${resource}"`);
  if (!isDnsLabel(name) || !isDnsLabel(options.namespace)) {
    throw new Error(`invalid name "${name}" or namespace "${options.namespace}"`);
  }
  const ref: ObjectRef = { kind: def.kind, namespace: options.namespace, name };
  // Where the runners file them: the same layout and the same refs name the folders for both.
  const layout = stateLayout(options.stateDir);
  const runs = [
    ...(await listRunLogs(layout.runs, runLogRef(ref))),
    ...(await listRunLogs(join(layout.terraform, 'logs'), workspaceRef(ref))),
  ].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  if (runs.length === 0) return `No runs recorded for ${def.singular} "${options.namespace}/${name}".\n`;
  if (options.list) return runs.map((r) => `${r.startedAt}  ${r.playbook}  ${r.file}\n`).join('');
  const chosen = options.all ? runs : runs.slice(-1);
  const parts = await Promise.all(
    chosen.map(async (r) => `==> ${basename(r.file)} (${r.startedAt}) <==\n${await readFile(r.file, 'utf8')}`),
  );
  return parts.join('\n');
}
