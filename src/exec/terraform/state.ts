// Where a workspace's Terraform state lives, behind one small interface. Terraform itself always works on
// `terraform.tfstate` in the workspace (the local backend, which locks it and writes it incrementally during an
// apply); a backend is where that state is kept between runs and how its past versions are kept.
//   - FolderStateBackend (folder mode): the workspace file itself, plus the last N versions in state-history/.
//   - KubeSecretStateBackend (Kubernetes mode, src/kube/state-backend.ts): chunked Secrets owned by the
//     resource, implementing the same methods.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../base/atomic-file.js';
import { readFileIfExists } from '../../base/files.js';
import { sha256 } from '../../base/hash.js';
import type { Workspace } from './workspace.js';

export interface StateBackend {
  /** The latest saved state, or undefined when none was ever saved. */
  load(): Promise<Buffer | undefined>;
  /** Saves a state version; saving the same content again is a no-op. */
  save(state: Buffer): Promise<void>;
  /** Identifiers of the kept versions, newest first. */
  history(): Promise<string[]>;
  /**
   * Forgets the state and its history, once the resource's infrastructure is destroyed and the resource is about
   * to go. Optional: the folder backend keeps its files (they stay in the state directory for inspection).
   */
  discard?(): Promise<void>;
}

export const STATE_FILE = 'terraform.tfstate';
export const STATE_HISTORY_DIR = 'state-history';
export const DEFAULT_STATE_VERSIONS = 10;

/** The state's `serial` (Terraform bumps it on every change), or -1 when the content is not a state. */
export function stateSerial(state: Buffer): number {
  try {
    const parsed = JSON.parse(state.toString('utf8')) as { serial?: unknown };
    return typeof parsed.serial === 'number' ? parsed.serial : -1;
  } catch {
    return -1;
  }
}

/** Resource addresses recorded in a state (`local_file.a`, `module.vm.libvirt_domain.d[0]`, ...). */
export function stateResourceAddresses(state: Buffer): string[] {
  interface Instance {
    index_key?: string | number;
  }
  interface Resource {
    module?: string;
    mode?: string;
    type: string;
    name: string;
    instances?: Instance[];
  }
  const parsed = JSON.parse(state.toString('utf8')) as { resources?: Resource[] };
  const addresses: string[] = [];
  for (const r of parsed.resources ?? []) {
    const base = `${r.module ? r.module + '.' : ''}${r.mode === 'data' ? 'data.' : ''}${r.type}.${r.name}`;
    for (const inst of r.instances ?? []) {
      const key = inst.index_key;
      addresses.push(key === undefined ? base : `${base}[${JSON.stringify(key)}]`);
    }
  }
  return addresses.sort();
}

/** An output as the state records it (the shape of `output -json`): its value may be a secret. */
export interface StateOutput {
  value: unknown;
  type: unknown;
  sensitive: boolean;
}

export class StateOutputsError extends Error {
  override name = 'StateOutputsError';
}

/**
 * The root module's outputs recorded in a state (`outputs`: value, type, and `sensitive` when true), as
 * `output -json` would print them, without running it. Output values may be secrets: a state that does not parse
 * is reported without quoting it (JSON.parse's message would).
 */
export function stateOutputs(state: Buffer | undefined): Record<string, StateOutput> {
  if (state === undefined || state.length === 0) return {};
  let parsed: { outputs?: unknown };
  try {
    parsed = JSON.parse(state.toString('utf8')) as { outputs?: unknown };
  } catch {
    throw new StateOutputsError('the state file is not JSON: its outputs cannot be read');
  }
  const outputs: Record<string, StateOutput> = {};
  const recorded = parsed.outputs;
  if (recorded === undefined || recorded === null) return outputs;
  if (typeof recorded !== 'object' || Array.isArray(recorded)) throw new StateOutputsError('the state\'s outputs are not an object');
  for (const [name, output] of Object.entries(recorded as Record<string, { value?: unknown; type?: unknown; sensitive?: unknown }>)) {
    outputs[name] = { value: output?.value ?? null, type: output?.type ?? null, sensitive: output?.sensitive === true };
  }
  return outputs;
}

/** Folder mode: the state file in the workspace, and the last `keep` saved versions in `state-history/`. */
export class FolderStateBackend implements StateBackend {
  private readonly statePath: string;
  private readonly historyDir: string;

  constructor(
    ws: Workspace,
    private readonly keep = DEFAULT_STATE_VERSIONS,
  ) {
    this.statePath = join(ws.dir, STATE_FILE);
    this.historyDir = join(ws.dir, STATE_HISTORY_DIR);
  }

  load(): Promise<Buffer | undefined> {
    return readFileIfExists(this.statePath);
  }

  async save(state: Buffer): Promise<void> {
    await this.remember(state);
    const current = await readFileIfExists(this.statePath);
    // Terraform holds its lock on the state file's inode: never replace the file when the content is the same.
    if (current === undefined || !current.equals(state)) await writeFileAtomic(this.statePath, state);
  }

  async history(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.historyDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names.filter((n) => n.endsWith('.tfstate')).sort().reverse();
  }

  /** Reads one kept version by the identifier history() gave. */
  async version(id: string): Promise<Buffer | undefined> {
    if (!(await this.history()).includes(id)) return undefined;
    return readFileIfExists(join(this.historyDir, id));
  }

  /** Adds a version to the history unless it equals the newest one, then prunes to the last `keep`. */
  private async remember(state: Buffer): Promise<void> {
    const hash = sha256(state);
    const kept = await this.history();
    if (kept[0]?.endsWith(`-${hash.slice(0, 12)}.tfstate`)) return;
    const stamp = new Date().toISOString().replace(/:/g, '-');
    const serial = String(Math.max(stateSerial(state), 0)).padStart(6, '0');
    await mkdir(this.historyDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(this.historyDir, `${stamp}-serial${serial}-${hash.slice(0, 12)}.tfstate`), state);
    for (const old of kept.slice(Math.max(this.keep - 1, 0))) {
      await rm(join(this.historyDir, old), { force: true });
    }
  }
}

/**
 * Brings the backend's state into the workspace file Terraform works on (a no-op when they are the same). When the
 * workspace holds a state the backend lacks — none there, or an older serial of the same lineage — the save after
 * the last run did not get through (the API server was away, Orion died): that newer state is saved now and kept,
 * never overwritten by the older one, which would make Terraform create its resources a second time.
 */
export async function pullState(ws: Workspace, backend: StateBackend): Promise<Buffer | undefined> {
  const path = join(ws.dir, STATE_FILE);
  const [state, current] = await Promise.all([backend.load(), readFileIfExists(path)]);
  if (current !== undefined && current.length > 0 && supersedes(current, state)) {
    await backend.save(current);
    return current;
  }
  if (state === undefined) return undefined;
  if (current === undefined || !current.equals(state)) await writeFileAtomic(path, state);
  return state;
}

/** Whether the workspace's state is newer than the saved one: same lineage, higher serial (or nothing saved). */
function supersedes(local: Buffer, saved: Buffer | undefined): boolean {
  if (saved === undefined) return true;
  if (local.equals(saved)) return false;
  const a = stateHeader(local);
  const b = stateHeader(saved);
  return a.lineage !== undefined && a.lineage === b.lineage && a.serial > b.serial;
}

function stateHeader(state: Buffer): { lineage?: string; serial: number } {
  try {
    const parsed = JSON.parse(state.toString('utf8')) as { lineage?: unknown; serial?: unknown };
    return { ...(typeof parsed.lineage === 'string' ? { lineage: parsed.lineage } : {}), serial: typeof parsed.serial === 'number' ? parsed.serial : -1 };
  } catch {
    return { serial: -1 };
  }
}

/** Saves the workspace file Terraform wrote into the backend. */
export async function pushState(ws: Workspace, backend: StateBackend): Promise<void> {
  const state = await readFileIfExists(join(ws.dir, STATE_FILE));
  if (state !== undefined && state.length > 0) await backend.save(state);
}
