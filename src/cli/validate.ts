// `orion validate`: checks manifest files (or folders of them) as `orion run` would, without running.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { keyOf } from '../api/refs.js';
import type { Manifest, SecretManifest } from '../api/validate.js';
import { formatManifestError, parseManifestText, type ManifestError } from '../folder/manifest-file.js';

export interface ValidateReport {
  files: number;
  objects: number;
  errors: ManifestError[];
}

/** The files' objects and Secrets as `orion run` would read them, and what is wrong with them. */
export interface LoadedManifests {
  files: number;
  objects: Manifest[];
  secrets: SecretManifest[];
  errors: ManifestError[];
}

export async function loadManifests(paths: string[]): Promise<LoadedManifests> {
  const files = (await Promise.all(paths.map(expand))).flat();
  const loaded: LoadedManifests = { files: files.length, objects: [], secrets: [], errors: [] };
  const declaredIn = new Map<string, string>();
  for (const file of files) {
    const name = relative(process.cwd(), file) || file;
    const parsed = parseManifestText(name, await readFile(file, 'utf8'));
    loaded.errors.push(...parsed.errors);
    if (parsed.errors.length > 0) continue;
    loaded.secrets.push(...parsed.secrets);
    for (const obj of parsed.objects) {
      const key = keyOf(obj);
      const first = declaredIn.get(key);
      if (first) {
        loaded.errors.push({ file: name, line: 1, field: 'metadata.name', message: `duplicate ${key}: already declared in ${first}` });
      } else {
        declaredIn.set(key, name);
        loaded.objects.push(obj);
      }
    }
  }
  return loaded;
}

export async function validatePaths(paths: string[]): Promise<ValidateReport> {
  const loaded = await loadManifests(paths);
  return { files: loaded.files, objects: loaded.objects.length, errors: loaded.errors };
}

export function formatReport(report: ValidateReport): string {
  if (report.errors.length === 0) return `${report.files} file(s), ${report.objects} resource(s): valid`;
  return [...report.errors.map(formatManifestError), `${report.errors.length} error(s) in ${report.files} file(s)`].join('\n');
}

async function expand(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new Error(`${path}: no such file or directory`);
  }
  if (info.isFile()) return [path];
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.ya?ml$/i.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .filter((p) => !relative(path, p).split('/').some((part) => part.startsWith('.')))
    .sort();
}
