// Watches a folder of YAML manifests and turns each burst of file changes into one snapshot of
// what is declared. Damage is never deletion (docs/adr/0017-damage-is-never-deletion.md): a file that fails to
// parse, is emptied, cannot be read (EACCES, EIO, ...) or is not a regular file (a FIFO, a socket, a device) keeps
// its last valid content in the snapshot and is reported with its reason. Across restarts too: what the state
// directory says each file declared counts as its last valid content until the file is read again. Only a file that
// is gone (ENOENT), or that parses and no longer declares an object, removes what it declared: the snapshot names
// those files (`settledFiles`), and an object of any other file (damaged, not read yet) is kept by construction.
import { watch, type FSWatcher } from 'chokidar';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { keyOf } from '../api/refs.js';
import type { Manifest } from '../api/validate.js';
import { parseManifestText, readManifestFile, type ManifestError, type ParsedFile } from './manifest-file.js';

export interface DeclaredObject {
  manifest: Manifest;
  file: string;
}

export interface FolderSnapshot {
  /** Declared objects by key `Kind/namespace/name`. */
  objects: Map<string, DeclaredObject>;
  /** Secret data by `namespace/name`. */
  secrets: Map<string, Record<string, string>>;
  /** Files whose current content is invalid (their last valid content is still in force). */
  invalidFiles: Set<string>;
  /**
   * The only files whose objects missing from `objects` are deleted: read and valid now (they no longer declare
   * them), or gone (ENOENT when last read, after the removal grace). An object of any other file (damaged, out of
   * reach, or not read yet since the start) is kept: a snapshot never deletes by leaving something out.
   */
  settledFiles: Set<string>;
  errors: ManifestError[];
}

export interface ManifestFolderOptions {
  dir: string;
  /** Folders below `dir` that are never read (the state directory when it lives inside). */
  ignore?: string[];
  debounceMs?: number;
  onSnapshot: (snapshot: FolderSnapshot) => Promise<void>;
  /** The file that declared an object so far: of two files declaring it, that one keeps it. */
  currentOwner?: (key: string) => string | undefined;
  /**
   * What each file declared when Orion last ran (absolute path → object keys), from the state directory: a file that
   * declared something then and declares nothing now is damaged, not emptied on purpose.
   */
  declaredBefore?: () => ReadonlyMap<string, readonly string[]>;
  onError?: (err: Error) => void;
}

const MANIFEST_FILE = /\.ya?ml$/i;
/**
 * A file is read once neither its size nor an inotify event has moved for this long (chokidar's awaitWriteFinish,
 * looking every STABILITY_POLL_MS): a file written in several parts is never read between two of them. Tools write a
 * manifest in one go, or in parts a few milliseconds apart (cp, editors, git, a program's output); 60 ms covers
 * those with room, and is what a change costs before Orion sees it. A writer that stops mid-file for longer (a human
 * typing into `cat > file`, a stalled network copy) is not covered by any wait: write elsewhere and rename.
 */
const WRITE_STABILITY_MS = 60;
const STABILITY_POLL_MS = 10;
/** Files that became stable this close together are one snapshot (a checkout, a folder copied in). */
const DEFAULT_DEBOUNCE_MS = 10;
/**
 * How long a removal waits for the add of the same burst (a rename): chokidar reports the unlink after
 * 100 ms but the add only once the new file has been stable for WRITE_STABILITY_MS.
 */
const REMOVAL_GRACE_MS = 500;

export class ManifestFolder {
  private readonly lastValid = new Map<string, ParsedFile>();
  /** Files the state directory says declared objects, not read successfully since the start. */
  private readonly remembered = new Map<string, readonly string[]>();
  private readonly fileErrors = new Map<string, ManifestError[]>();
  /** Files found gone (ENOENT) when last read: their objects are deleted. */
  private readonly goneFiles = new Set<string>();
  private readonly pending = new Set<string>();
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private holdUntil = 0;
  /** Set once chokidar's first scan is complete: no snapshot is taken from part of the folder. */
  private scanned = false;
  private processing: Promise<void> = Promise.resolve();
  private readonly dir: string;

  constructor(private readonly options: ManifestFolderOptions) {
    this.dir = resolve(options.dir);
  }

  /** Reads every manifest and resolves after the first snapshot was delivered. */
  async start(): Promise<void> {
    for (const [file, keys] of this.options.declaredBefore?.() ?? []) this.remembered.set(file, keys);
    const ignored = (options: string): boolean => this.isIgnored(options);
    const watcher = watch(this.dir, {
      ignored: (path, stats) => ignored(path) || (stats?.isFile() === true && !MANIFEST_FILE.test(path)),
      ignoreInitial: false,
      awaitWriteFinish: { stabilityThreshold: WRITE_STABILITY_MS, pollInterval: STABILITY_POLL_MS },
    });
    this.watcher = watcher;
    watcher.on('add', (path) => this.markDirty(path));
    watcher.on('change', (path) => this.markDirty(path));
    watcher.on('unlink', (path) => this.markDirty(path, REMOVAL_GRACE_MS));
    watcher.on('error', (err) => this.options.onError?.(err as Error));
    await new Promise<void>((done) => watcher.once('ready', () => done()));
    // A remembered file the scan did not report may be gone (its objects are deleted) or out of reach (an unreadable
    // folder, a file without read permission, which chokidar leaves out: kept): reading it tells which. A remembered
    // file in a place no longer read (a hidden folder, the state directory) declares nothing any more.
    for (const file of this.remembered.keys()) {
      if (!this.isIgnored(file)) this.pending.add(file);
      else this.goneFiles.add(file);
    }
    this.scanned = true;
    clearTimeout(this.timer);
    await this.flush();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await this.watcher?.close();
    await this.processing;
  }

  /** Processes pending file changes now (also used by tests to avoid waiting for the debounce). */
  flush(): Promise<void> {
    this.processing = this.processing.then(() => this.processPending());
    return this.processing;
  }

  private isIgnored(path: string): boolean {
    const rel = relative(this.dir, path);
    if (!rel) return false;
    if (rel.split(sep).some((part) => part.startsWith('.'))) return true;
    return (this.options.ignore ?? []).some((dir) => path === dir || path.startsWith(dir + sep));
  }

  private markDirty(path: string, holdMs = 0): void {
    if (!MANIFEST_FILE.test(path)) return;
    this.pending.add(path);
    // chokidar reports the files of its first scan one by one before 'ready': start() reads them all at once then.
    // A snapshot of the files reported so far would lack the objects of the others (a slower subfolder).
    if (!this.scanned) return;
    this.holdUntil = Math.max(this.holdUntil, Date.now() + holdMs);
    clearTimeout(this.timer);
    const delay = Math.max(this.options.debounceMs ?? DEFAULT_DEBOUNCE_MS, this.holdUntil - Date.now());
    this.timer = setTimeout(() => void this.flush(), delay);
  }

  private async processPending(): Promise<void> {
    const files = [...this.pending];
    this.pending.clear();
    const gone: string[] = [];
    for (const file of files) if (await this.readOne(file)) gone.push(file);
    // A removal may be half of a rename whose add chokidar has not reported yet: read complete new
    // files now, so that the objects they declare are not deleted and re-created.
    if (gone.length > 0) for (const file of await this.untrackedStableFiles()) await this.readOne(file);
    // Gone means gone now: a file back in place since it was read (rm and write again) is read again.
    for (const file of gone) if (await exists(file)) await this.readOne(file);
    try {
      await this.options.onSnapshot(this.snapshot());
    } catch (err) {
      this.options.onError?.(err as Error);
    }
  }

  /** Reads one file into lastValid or fileErrors; returns true when the file is gone. */
  private async readOne(file: string): Promise<boolean> {
    const read = await readManifestFile(file);
    const name = displayName(file);
    if ('gone' in read) {
      this.lastValid.delete(file);
      this.fileErrors.delete(file);
      this.remembered.delete(file);
      this.goneFiles.add(file);
      return true;
    }
    this.goneFiles.delete(file);
    if ('unreadable' in read) {
      this.fileErrors.set(file, [{ file: name, line: 0, field: '', message: `${read.unreadable}; keeping its previous resources (delete the file to delete them)` }]);
      return false;
    }
    const parsed = parseManifestText(name, read.text);
    const declaresNothing = parsed.objects.length === 0 && parsed.secrets.length === 0;
    if (parsed.errors.length === 0 && declaresNothing && this.declaredSomething(file)) {
      const what = read.text.trim() === '' ? 'file is empty' : 'file declares nothing';
      parsed.errors.push({ file: name, line: 1, field: '', message: `${what}; keeping its previous resources (delete the file to delete them)` });
    }
    if (parsed.errors.length > 0) {
      this.fileErrors.set(file, parsed.errors);
      return false;
    }
    this.fileErrors.delete(file);
    this.lastValid.set(file, parsed);
    this.remembered.delete(file);
    return false;
  }

  /** Whether the file's last valid content (read here, or remembered by the state directory) declared anything. */
  private declaredSomething(file: string): boolean {
    const previous = this.lastValid.get(file);
    if (previous) return previous.objects.length + previous.secrets.length > 0;
    return (this.remembered.get(file)?.length ?? 0) > 0;
  }

  /** Manifest files not read yet whose content has not changed for a while (not being written). */
  private async untrackedStableFiles(): Promise<string[]> {
    const entries = await readdir(this.dir, { recursive: true, withFileTypes: true }).catch(() => []);
    const out: string[] = [];
    for (const entry of entries) {
      const path = join(entry.parentPath, entry.name);
      if (!entry.isFile() || !MANIFEST_FILE.test(path) || this.isIgnored(path)) continue;
      if (this.lastValid.has(path) || this.fileErrors.has(path)) continue;
      const info = await stat(path).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs >= WRITE_STABILITY_MS) out.push(path);
    }
    return out.sort();
  }

  /** Of several files declaring one object, the current owner keeps it; the others are reported. */
  private pickOwner(snapshot: FolderSnapshot, key: string, declared: DeclaredObject[]): void {
    const owner = this.options.currentOwner?.(key);
    const winner = declared.find((d) => d.file === owner) ?? (declared[0] as DeclaredObject);
    snapshot.objects.set(key, winner);
    for (const loser of declared.filter((d) => d !== winner)) {
      snapshot.invalidFiles.add(loser.file);
      snapshot.errors.push({
        file: displayName(loser.file),
        line: 1,
        field: 'metadata.name',
        message: `duplicate ${key}: already declared in ${displayName(winner.file)}; ignored here`,
      });
    }
  }

  private snapshot(): FolderSnapshot {
    const snapshot: FolderSnapshot = {
      objects: new Map(),
      secrets: new Map(),
      invalidFiles: new Set(this.fileErrors.keys()),
      settledFiles: new Set(this.goneFiles),
      errors: [...this.fileErrors.values()].flat(),
    };
    const candidates = new Map<string, DeclaredObject[]>();
    for (const file of [...this.lastValid.keys()].sort()) {
      const parsed = this.lastValid.get(file) as ParsedFile;
      for (const manifest of parsed.objects) {
        const key = keyOf(manifest);
        candidates.set(key, [...(candidates.get(key) ?? []), { manifest, file }]);
      }
      for (const secret of parsed.secrets) {
        snapshot.secrets.set(`${secret.metadata.namespace}/${secret.metadata.name}`, secret.data);
      }
    }
    for (const [key, declared] of candidates) this.pickOwner(snapshot, key, declared);
    for (const file of this.lastValid.keys()) if (!snapshot.invalidFiles.has(file)) snapshot.settledFiles.add(file);
    return snapshot;
  }
}

/** Whether something is at the path now (anything but ENOENT counts: it is not gone). */
async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** File names in messages are relative to where the user runs orion. */
function displayName(file: string): string {
  return relative(process.cwd(), file) || file;
}
