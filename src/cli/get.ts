// `orion get`: reads the state directory (also while `orion run` writes it) and prints objects.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { getCondition } from '../api/conditions.js';
import { KINDS, findKind, type KindDefinition } from '../api/kinds.js';
import type { Resource } from '../api/types.js';
import { DEFAULT_CLASS_ANNOTATION } from '../api/schemas/rentalclass.js';
import type { ManifestError } from '../folder/manifest-file.js';
import { formatManifestError } from '../folder/manifest-file.js';
import { readJsonTree, type StoredObject } from '../folder/state-dir.js';
import { formatAge, readPath, renderTable } from './table.js';

export interface GetOptions {
  stateDir: string;
  output?: string;
  namespace?: string;
  allNamespaces?: boolean;
}

export async function getCommand(kindName: string, name: string | undefined, options: GetOptions): Promise<string> {
  const def = findKind(kindName);
  if (!def) throw new Error(`unknown kind "${kindName}" (expected one of ${KINDS.map((k) => k.plural).join(', ')})`);
  const cluster = def.scope === 'Cluster';
  const namespace = cluster ? '' : options.namespace ?? 'default';
  const all = await readObjects(options.stateDir, def, cluster || options.allNamespaces ? undefined : namespace);
  const objects = name ? all.filter((o) => o.metadata.name === name) : all;
  if (name && objects.length === 0) throw new Error(`${def.singular} "${name}" not found${whereText(cluster, false, namespace)}`);
  const clean = objects.map(publicView);
  if (options.output === 'json') return JSON.stringify(name ? clean[0] : { items: clean }, null, 2);
  if (options.output === 'yaml') return stringify(name ? clean[0] : { items: clean }).trimEnd();
  if (objects.length === 0) return `No ${def.plural} found${whereText(cluster, options.allNamespaces, namespace)}.`;
  if (cluster) return renderClusterObjects(def, objects);
  return renderObjects(def, objects, options);
}

/** Where objects were looked for, as a message says it: nothing for a cluster-scoped kind. */
function whereText(cluster: boolean, allNamespaces: boolean | undefined, namespace: string): string {
  if (cluster) return '';
  return allNamespaces ? ' in any namespace' : ` in namespace "${namespace}"`;
}

/** The kind's objects in the state directory, of one namespace (or every one), sorted. */
async function readObjects(stateDir: string, def: KindDefinition, namespace: string | undefined): Promise<StoredObject[]> {
  return (await readJsonTree<StoredObject>(join(stateDir, 'objects', def.kind)))
    .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
    .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
}

/** The object as a user sees it: without folder-mode bookkeeping. */
function publicView(obj: StoredObject): Resource {
  const { source: _source, specHash: _hash, ...rest } = obj;
  return rest;
}

function renderObjects(def: KindDefinition, objects: Resource[], options: GetOptions): string {
  const columns = def.printerColumns.filter((c) => c.name !== 'Phase' && c.name !== 'Health');
  const headers = [
    ...(options.allNamespaces ? ['NAMESPACE'] : []),
    'NAME', 'PHASE', 'READY',
    ...columns.map((c) => c.name.toUpperCase()),
    'AGE',
  ];
  const rows = objects.map((obj) => {
    const status = obj.status as { phase?: string; conditions?: [] } | undefined;
    const ready = getCondition(status?.conditions, 'Ready');
    return [
      ...(options.allNamespaces ? [obj.metadata.namespace] : []),
      obj.metadata.name,
      obj.metadata.deletionTimestamp ? 'Terminating' : status?.phase ?? 'Pending',
      ready?.status ?? 'Unknown',
      ...columns.map((c) => cell(readPath(obj, c.jsonPath), c.type)),
      formatAge(obj.metadata.creationTimestamp),
    ];
  });
  return renderTable(headers, rows);
}

/** A class or a Hypervisor: no namespace, no status (nothing reconciles it); for a class, whether it is the default. */
function renderClusterObjects(def: KindDefinition, objects: Resource[]): string {
  const isClass = def.kind.endsWith('Class');
  const headers = ['NAME', ...def.printerColumns.map((c) => c.name.toUpperCase()), ...(isClass ? ['DEFAULT'] : []), 'AGE'];
  const rows = objects.map((obj) => [
    obj.metadata.name,
    ...def.printerColumns.map((c) => cell(readPath(obj, c.jsonPath), c.type)),
    ...(isClass ? [obj.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true' ? 'true' : 'false'] : []),
    formatAge(obj.metadata.creationTimestamp),
  ]);
  return renderTable(headers, rows);
}

function cell(value: unknown, type: string): string {
  if (value === undefined || value === null || value === '') return '<none>';
  if (type === 'date' && typeof value === 'string') return formatAge(value);
  return String(value);
}

/** The invalid manifests reported by the running (or last) `orion run`. */
export async function invalidManifests(stateDir: string): Promise<string[]> {
  try {
    const errors = JSON.parse(await readFile(join(stateDir, 'invalid.json'), 'utf8')) as ManifestError[];
    return errors.map(formatManifestError);
  } catch {
    return [];
  }
}
