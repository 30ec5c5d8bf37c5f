// One Terraform workspace directory per resource, under a state root:
//   <root>/workspaces/<kind>/<namespace>/<name>     the root module, its state, plan and init marker
//   <root>/logs/<kind>/<namespace>/<name>/          one log file per run
// Every path segment is a validated DNS label and every resolved path is checked to stay under the root, so a
// resource name can never reach outside the state directory (no `..`, no absolute path, no symlink escape).
import { mkdir, realpath, rm } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { PathRef } from '../../api/refs.js';
import { writeFileAtomic } from '../../base/atomic-file.js';
import { readFileIfExists } from '../../base/files.js';
import { sha256 } from '../../base/hash.js';
import { assertDnsLabel } from '../../base/names.js';

/** A workspace, found under the path segments of its object (api/refs.ts: workspaceRef). */
export interface Workspace extends PathRef {
  /** The state root the workspace belongs to (absolute). */
  root: string;
  /** The workspace directory: the working directory of every Terraform run. */
  dir: string;
  /** The directory of this workspace's run logs. */
  logDir: string;
}

export const ROOT_MODULE_FILE = 'main.tf.json';

export class WorkspaceNameError extends Error {
  override name = 'WorkspaceNameError';
}

/** Throws a WorkspaceNameError unless `value` is a DNS label (RFC 1123: a-z, 0-9 and '-', at most 63 characters). */
function assertSegment(what: string, value: string): void {
  assertDnsLabel(what, value, (message) => new WorkspaceNameError(message));
}

function under(root: string, ...segments: string[]): string {
  const path = resolve(root, ...segments);
  if (!path.startsWith(root + sep)) {
    throw new WorkspaceNameError(`path ${JSON.stringify(segments.join('/'))} escapes the state root`);
  }
  return path;
}

/** Computes the paths of a workspace without touching the disk. */
export function workspacePaths(stateRoot: string, ref: PathRef): Workspace {
  assertSegment('kind', ref.kind);
  assertSegment('namespace', ref.namespace);
  assertSegment('name', ref.name);
  const root = resolve(stateRoot);
  return {
    kind: ref.kind,
    namespace: ref.namespace,
    name: ref.name,
    root,
    dir: under(root, 'workspaces', ref.kind, ref.namespace, ref.name),
    logDir: under(root, 'logs', ref.kind, ref.namespace, ref.name),
  };
}

/**
 * Creates (if needed) the workspace and log directories, then checks that their real paths — symlinks resolved —
 * are still inside the real state root.
 */
export async function openWorkspace(stateRoot: string, ref: PathRef): Promise<Workspace> {
  const ws = workspacePaths(stateRoot, ref);
  await mkdir(ws.dir, { recursive: true, mode: 0o700 });
  await mkdir(ws.logDir, { recursive: true, mode: 0o700 });
  const realRoot = await realpath(ws.root);
  for (const dir of [ws.dir, ws.logDir]) {
    const real = await realpath(dir);
    if (!real.startsWith(realRoot + sep)) {
      throw new WorkspaceNameError(`workspace directory ${dir} resolves outside the state root`);
    }
  }
  return ws;
}

/** Canonical JSON of a root module: what is written to main.tf.json and hashed. */
export function moduleJson(module: object): string {
  return JSON.stringify(module, null, 2) + '\n';
}

export interface RenderResult {
  changed: boolean;
  /** sha256 of the rendered main.tf.json. */
  hash: string;
  path: string;
}

/**
 * Writes the root module as `main.tf.json` (JSON syntax: the object is serialized, never templated into HCL).
 * The file is only rewritten when its content changes; `changed` tells the caller whether there is new work.
 */
export async function renderRootModule(ws: Workspace, module: object): Promise<RenderResult> {
  const path = join(ws.dir, ROOT_MODULE_FILE);
  const text = moduleJson(module);
  const hash = sha256(text);
  const current = await readFileIfExists(path);
  if (current !== undefined && sha256(current) === hash) return { changed: false, hash, path };
  await writeFileAtomic(path, text);
  return { changed: true, hash, path };
}

/** A small marker file in the workspace holding a hash (init inputs, last applied module). */
export async function readMarker(ws: Workspace, name: string): Promise<string | undefined> {
  const data = await readFileIfExists(join(ws.dir, name));
  return data?.toString('utf8').trim() || undefined;
}

export async function writeMarker(ws: Workspace, name: string, value: string): Promise<void> {
  await writeFileAtomic(join(ws.dir, name), value + '\n');
}

export async function clearMarker(ws: Workspace, name: string): Promise<void> {
  await rm(join(ws.dir, name), { force: true });
}
