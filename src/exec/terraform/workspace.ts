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

/** The values of the root module's input variables (docs/adr/0022-data-stays-data.md). */
export const VARIABLES_FILE = 'terraform.tfvars.json';

/**
 * A root module with the values of its variables. Every string of main.tf.json is a Terraform template; a value in
 * terraform.tfvars.json never is. So what a user wrote reaches Terraform as a variable's value, and main.tf.json
 * holds only `${var.NAME}` references to it. A plain object given where a RootModule may be is a root module
 * without variables.
 */
export class RootModule {
  constructor(
    readonly main: object,
    readonly variables: Record<string, unknown> = {},
  ) {}

  static of(module: object | RootModule): RootModule {
    return module instanceof RootModule ? module : new RootModule(module);
  }

  /** The files written into the workspace, by name. */
  files(): Record<string, string> {
    return { [ROOT_MODULE_FILE]: moduleJson(this.main), [VARIABLES_FILE]: moduleJson(this.variables) };
  }

  /** sha256 of both files: equal hashes, nothing to apply. */
  hash(): string {
    return rootFilesHash(this.files());
  }
}

/** The hash of a root module's files: each file's name, length and content, in name order. */
export function rootFilesHash(files: Record<string, string>): string {
  const parts = Object.keys(files).sort().map((name) => `${name}\0${Buffer.byteLength(files[name] as string)}\0${files[name]}`);
  return sha256(parts.join(''));
}

export interface RenderResult {
  changed: boolean;
  /** sha256 of the rendered files (main.tf.json and terraform.tfvars.json). */
  hash: string;
  path: string;
}

/**
 * Writes the root module as `main.tf.json` (JSON syntax: the object is serialized, never templated into HCL) and
 * its variables as `terraform.tfvars.json`. A file is only rewritten when its content changes; `changed` tells the
 * caller whether there is new work.
 */
export async function renderRootModule(ws: Workspace, module: object | RootModule): Promise<RenderResult> {
  const files = RootModule.of(module).files();
  const hash = rootFilesHash(files);
  let changed = false;
  for (const [name, text] of Object.entries(files)) {
    const current = await readFileIfExists(join(ws.dir, name));
    if (current !== undefined && current.toString('utf8') === text) continue;
    // Derived from the spec and rendered again on every reconcile: whole (the rename), but not worth an fsync.
    await writeFileAtomic(join(ws.dir, name), text, 0o600, false);
    changed = true;
  }
  return { changed, hash, path: join(ws.dir, ROOT_MODULE_FILE) };
}

/**
 * A small marker file in the workspace holding a hash (init inputs, last applied module) or a running apply. With
 * `durable: false` a power loss may take the write back: for markers whose loss only costs a run again.
 */
export async function readMarker(ws: Workspace, name: string): Promise<string | undefined> {
  const data = await readFileIfExists(join(ws.dir, name));
  return data?.toString('utf8').trim() || undefined;
}

export async function writeMarker(ws: Workspace, name: string, value: string, durable = true): Promise<void> {
  await writeFileAtomic(join(ws.dir, name), value + '\n', 0o600, durable);
}

export async function clearMarker(ws: Workspace, name: string): Promise<void> {
  await rm(join(ws.dir, name), { force: true });
}
