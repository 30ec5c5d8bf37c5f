// The state directory of folder mode: objects with their status and finalizers, events, the report
// of invalid manifests, and a lock so that one `orion run` owns it. Everything is written atomically.
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { keyOf } from '../api/refs.js';
import type { Resource } from '../api/types.js';
import { OrderedWriter, writeFileAtomic } from '../base/atomic-file.js';
import type { ManifestError } from './manifest-file.js';
import type { RecordedEvent } from '../store/store.js';

/** An object as folder mode keeps it: the resource plus where it was declared. */
export interface StoredObject extends Resource {
  source?: { file: string };
  /** Created through the store (the portal), not declared by a file: only delete() removes it. */
  apiCreated?: true;
  specHash: string;
}

/** State directories locked by this process: the pid file alone cannot tell two stores of one process apart. */
const lockedHere = new Set<string>();

export class StateDir {
  readonly writer = new OrderedWriter();
  private locked = false;

  constructor(readonly root: string) {}

  objectPath(kind: string, namespace: string, name: string): string {
    return join(this.root, 'objects', kind, namespace, `${name}.json`);
  }

  eventsPath(kind: string, namespace: string, name: string): string {
    return join(this.root, 'events', kind, namespace, `${name}.json`);
  }

  get invalidPath(): string {
    return join(this.root, 'invalid.json');
  }

  /** Takes the state directory for this process, refusing if a live process holds it. */
  async lock(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    if (lockedHere.has(this.root)) throw new Error(`state directory ${this.root} is already in use by this process`);
    const lockFile = join(this.root, 'orion.pid');
    const holder = await readPid(lockFile);
    if (holder && holder !== process.pid && isAlive(holder)) {
      throw new Error(`state directory ${this.root} is in use by orion (pid ${holder}); stop it first`);
    }
    lockedHere.add(this.root);
    this.locked = true;
    await writeFileAtomic(lockFile, `${process.pid}\n`);
  }

  async unlock(): Promise<void> {
    const lockFile = join(this.root, 'orion.pid');
    if (!this.locked) return;
    this.locked = false;
    lockedHere.delete(this.root);
    if ((await readPid(lockFile)) === process.pid) await rm(lockFile, { force: true });
  }

  async loadObjects(): Promise<StoredObject[]> {
    return readJsonTree<StoredObject>(join(this.root, 'objects'));
  }

  saveObject(obj: StoredObject): Promise<void> {
    const path = this.objectPath(obj.kind, obj.metadata.namespace, obj.metadata.name);
    return this.writer.write(path, `${JSON.stringify(obj, null, 2)}\n`);
  }

  async removeObject(obj: Resource): Promise<void> {
    const { kind } = obj;
    const { namespace, name } = obj.metadata;
    await Promise.all([
      this.writer.remove(this.objectPath(kind, namespace, name)),
      this.writer.remove(this.eventsPath(kind, namespace, name)),
    ]);
  }

  saveEvents(obj: Resource, events: RecordedEvent[]): Promise<void> {
    const path = this.eventsPath(obj.kind, obj.metadata.namespace, obj.metadata.name);
    // Events are informative: atomic, but not worth an fsync each (a probe sweep records hundreds).
    return this.writer.write(path, `${JSON.stringify(events, null, 2)}\n`, false);
  }

  saveInvalid(errors: ManifestError[]): Promise<void> {
    return this.writer.write(this.invalidPath, `${JSON.stringify(errors, null, 2)}\n`);
  }
}

/**
 * Which file declared which objects, as the state directory remembers it (absolute path → object keys): the
 * objects' `source.file`, leaving out those already being deleted. A file that declared objects and now declares
 * nothing, or cannot be read, keeps them (manifest-folder.ts).
 */
export function declarationsByFile(objects: Iterable<StoredObject>): Map<string, string[]> {
  const byFile = new Map<string, string[]>();
  for (const obj of objects) {
    if (!obj.source || obj.metadata.deletionTimestamp) continue;
    const file = resolve(obj.source.file);
    byFile.set(file, [...(byFile.get(file) ?? []), keyOf(obj)]);
  }
  return byFile;
}

/** Reads every `*.json` below a folder; files that do not parse are skipped (temp files of a crash). */
export async function readJsonTree<T>(dir: string): Promise<T[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile() && e.name.endsWith('.json') && !e.name.startsWith('.'));
  const out: T[] = [];
  for (const entry of files) {
    const path = join(entry.parentPath, entry.name);
    try {
      out.push(JSON.parse(await readFile(path, 'utf8')) as T);
    } catch {
      // A file that does not parse was never renamed into place by us; ignore it.
    }
  }
  return out;
}

async function readPid(file: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(file, 'utf8'), 10);
    return Number.isFinite(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
