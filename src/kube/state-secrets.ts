// How a Terraform state is laid out in Secrets (see state-backend.ts for how it is saved and loaded):
//
//   tfstate-<kind>-<name>              the head: an index of the kept versions (hash, serial, chunk count,
//                                      generation), newest first
//   tfstate-<kind>-<name>-g<G>-c<I>    chunk I of generation G: the gzipped state, base64 in `data.chunk`
//
// Every Secret carries the label orion.lab/state-of=<kind>.<name> (the store's Secret informer leaves these out),
// and every chunk its version's hash, chunk count and serial, so that a lost head can be rebuilt from the chunks.
import type { KindName } from '../api/types.js';
import type { ObjectRef } from '../api/refs.js';
import { sha256 } from '../base/hash.js';

export const STATE_OF_LABEL = 'orion.lab/state-of';
export const ROLE_LABEL = 'orion.lab/state-role';
const GENERATION_LABEL = 'orion.lab/state-generation';
const HASH_ANNOTATION = 'orion.lab/state-hash';
const CHUNKS_ANNOTATION = 'orion.lab/state-chunks';
const SERIAL_ANNOTATION = 'orion.lab/state-serial';
const SECRET_TYPE = 'orion.lab/terraform-state';
const INDEX_KEY = 'index.json';
export const CHUNK_KEY = 'chunk';

export interface StateVersion {
  generation: number;
  /** sha256 of the uncompressed state. */
  hash: string;
  serial: number;
  chunks: number;
  /** Uncompressed size in bytes. */
  size: number;
  savedAt: string;
}

export interface StateIndex {
  versions: StateVersion[];
  nextGeneration: number;
}

export interface SecretObject {
  metadata: {
    name: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
  };
  data?: Record<string, string>;
}

/** A Secret as written: what putSecret needs to know of it is its name. */
export type SecretBody = Record<string, unknown> & { metadata: { name: string } & Record<string, unknown> };

/** The head Secret's name: DNS-safe and bounded (a long name is shortened and made unique by its hash). */
export function stateSecretName(kind: KindName, name: string): string {
  const full = `tfstate-${kind.toLowerCase()}-${name}`;
  // Chunk names add "-g<generation>-c<index>": leave room for them under the 253-character limit.
  return full.length <= 200 ? full : `${full.slice(0, 183)}-${sha256(full).slice(0, 16)}`;
}

export function chunkSecretName(headName: string, generation: number, index: number): string {
  return `${headName}-g${generation}-c${index}`;
}

/** The label value naming the owner (label values: at most 63 characters). */
export function stateOfLabel(kind: KindName, name: string): string {
  const full = `${kind.toLowerCase()}.${name}`;
  return full.length <= 63 ? full : `${full.slice(0, 46)}-${sha256(full).slice(0, 16)}`;
}

/** The head: the index, replaced under `resourceVersion` when it was read with one (409 when it moved on). */
export function headSecret(owner: ObjectRef, index: StateIndex, ownerReference: object, resourceVersion: string | undefined): SecretBody {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: SECRET_TYPE,
    metadata: {
      name: stateSecretName(owner.kind, owner.name),
      namespace: owner.namespace,
      labels: { [STATE_OF_LABEL]: stateOfLabel(owner.kind, owner.name), [ROLE_LABEL]: 'head' },
      ownerReferences: [ownerReference],
      ...(resourceVersion ? { resourceVersion } : {}),
    },
    data: { [INDEX_KEY]: Buffer.from(JSON.stringify(index)).toString('base64') },
  };
}

/** Chunk `i` of a version: its slice of the gzipped state, and what a rebuilt index needs to know of the version. */
export function chunkSecret(owner: ObjectRef, version: StateVersion, i: number, data: Buffer, ownerReference: object): SecretBody {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: SECRET_TYPE,
    metadata: {
      name: chunkSecretName(stateSecretName(owner.kind, owner.name), version.generation, i),
      namespace: owner.namespace,
      labels: {
        [STATE_OF_LABEL]: stateOfLabel(owner.kind, owner.name),
        [ROLE_LABEL]: 'chunk',
        [GENERATION_LABEL]: String(version.generation),
      },
      annotations: { [HASH_ANNOTATION]: version.hash, [CHUNKS_ANNOTATION]: String(version.chunks), [SERIAL_ANNOTATION]: String(version.serial) },
      ownerReferences: [ownerReference],
    },
    data: { [CHUNK_KEY]: data.toString('base64') },
  };
}

export function parseIndex(head: SecretObject): StateIndex {
  const raw = head.data?.[INDEX_KEY];
  if (raw === undefined) throw new Error(`state head Secret ${head.metadata.name} has no ${INDEX_KEY}`);
  const index = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as Partial<StateIndex>;
  const versions = index.versions ?? [];
  const highest = Math.max(0, ...versions.map((v) => v.generation));
  return { versions, nextGeneration: Math.max(index.nextGeneration ?? 1, highest + 1) };
}

/** An index rebuilt from the chunks' labels and annotations (complete generations only), newest first. */
export function indexFromChunks(chunks: SecretObject[], keep: number): StateIndex {
  const byGeneration = new Map<number, SecretObject[]>();
  let highest = 0;
  for (const secret of chunks) {
    const generation = Number(secret.metadata.labels?.[GENERATION_LABEL]);
    if (!Number.isInteger(generation)) continue;
    highest = Math.max(highest, generation);
    byGeneration.set(generation, [...(byGeneration.get(generation) ?? []), secret]);
  }
  const versions: StateVersion[] = [];
  for (const [generation, secrets] of [...byGeneration].sort((a, b) => b[0] - a[0])) {
    const annotations = secrets[0]?.metadata.annotations ?? {};
    const count = Number(annotations[CHUNKS_ANNOTATION]);
    const hash = annotations[HASH_ANNOTATION];
    if (!hash || secrets.length !== count) continue;
    versions.push({ generation, hash, chunks: count, serial: Number(annotations[SERIAL_ANNOTATION] ?? -1), size: -1, savedAt: '' });
  }
  return { versions: versions.slice(0, keep), nextGeneration: highest + 1 };
}

/**
 * Whether a chunk belongs to no kept version: older than the next generation (never one of a save in flight), or
 * an extra chunk of an interrupted save that used a kept generation's number first.
 */
export function isStaleChunk(secret: SecretObject, index: StateIndex): boolean {
  const generation = Number(secret.metadata.labels?.[GENERATION_LABEL]);
  const hash = index.versions.find((v) => v.generation === generation)?.hash;
  return hash === undefined ? generation < index.nextGeneration : secret.metadata.annotations?.[HASH_ANNOTATION] !== hash;
}

export function versionId(v: StateVersion): string {
  return `g${v.generation}-serial${v.serial}-${v.hash.slice(0, 12)}`;
}
