// Kubernetes mode: a workspace's Terraform state kept in Secrets of the resource's namespace, owned by the Lab or
// Desktop (ownerReferences, controller: true) so that Kubernetes collects them with it.
//
//   tfstate-<kind>-<name>              the head: an index of the kept versions (hash, serial, chunk count,
//                                      generation), newest first; switching it is what makes a save visible
//   tfstate-<kind>-<name>-g<G>-c<I>    chunk I of generation G: the gzipped state, at most `chunkBytes` each
//
// A save writes the new generation's chunks first, then replaces the head under its resourceVersion, then deletes
// the chunks no kept version refers to. A crash before the head switch leaves the old state readable and some
// unreferenced chunks, which the next save reuses or deletes; a crash after it leaves only extra chunks. Every
// chunk also carries its version's hash and chunk count, so a lost head is rebuilt from the newest complete
// generation rather than taken for "no state". Nothing here logs a state: it may hold secrets.
import { gunzipSync, gzipSync } from 'node:zlib';
import { GROUP, VERSION } from '../api/group.js';
import { sha256 } from '../base/hash.js';
import type { KindName, ObjectRef, Resource } from '../api/types.js';
import { stateSerial, type StateBackend } from '../exec/terraform-state.js';
import type { Workspace } from '../exec/workspace.js';
import { KubeApiError, type KubeClient } from './kube-client.js';

export const STATE_OF_LABEL = 'orion.lab/state-of';
const ROLE_LABEL = 'orion.lab/state-role';
const GENERATION_LABEL = 'orion.lab/state-generation';
const HASH_ANNOTATION = 'orion.lab/state-hash';
const CHUNKS_ANNOTATION = 'orion.lab/state-chunks';
const SERIAL_ANNOTATION = 'orion.lab/state-serial';
const SECRET_TYPE = 'orion.lab/terraform-state';
const INDEX_KEY = 'index.json';
const CHUNK_KEY = 'chunk';

export const DEFAULT_KUBE_STATE_VERSIONS = 3;
/** Gzipped bytes per Secret: base64 makes it 683 KiB, well under the API server's 1 MiB limit for a Secret. */
export const DEFAULT_CHUNK_BYTES = 512 * 1024;
const SAVE_ATTEMPTS = 3;

/** Workspace kinds (lowercase directory names) and the resources that own their state. */
const OWNER_KINDS: Record<string, KindName> = { lab: 'Lab', desktop: 'Desktop' };

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

interface StateIndex {
  versions: StateVersion[];
  nextGeneration: number;
}

interface SecretObject {
  metadata: {
    name: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
  };
  data?: Record<string, string>;
}

/** A Secret as written: what putSecret needs to know of it is its name. */
type SecretBody = Record<string, unknown> & { metadata: { name: string } & Record<string, unknown> };

export interface KubeStateBackendOptions {
  client: KubeClient;
  /** Where the owner's uid comes from (the store's cache). */
  owners: { get<T extends Resource>(ref: ObjectRef): T | undefined };
  /** Versions kept (default 3). */
  keep?: number;
  chunkBytes?: number;
}

/** Makes the backend of each workspace; loaded states are cached by the head's resourceVersion. */
export class KubeStateBackends {
  private readonly loaded = new Map<string, { resourceVersion: string; state: Buffer }>();

  constructor(private readonly options: KubeStateBackendOptions) {}

  forWorkspace(ws: Pick<Workspace, 'kind' | 'namespace' | 'name'>): KubeSecretStateBackend {
    const kind = OWNER_KINDS[ws.kind];
    if (!kind) throw new Error(`no Kubernetes resource owns the Terraform state of a ${JSON.stringify(ws.kind)} workspace`);
    return new KubeSecretStateBackend({ kind, namespace: ws.namespace, name: ws.name }, this.options, this.loaded);
  }
}

export class KubeSecretStateBackend implements StateBackend {
  readonly headName: string;
  readonly selector: string;
  private readonly keep: number;
  private readonly chunkBytes: number;
  private readonly client: KubeClient;

  constructor(
    private readonly owner: ObjectRef,
    private readonly options: KubeStateBackendOptions,
    private readonly loaded = new Map<string, { resourceVersion: string; state: Buffer }>(),
  ) {
    this.client = options.client;
    this.keep = Math.max(1, options.keep ?? DEFAULT_KUBE_STATE_VERSIONS);
    this.chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.headName = stateSecretName(owner.kind, owner.name);
    this.selector = `${STATE_OF_LABEL}=${stateOfLabel(owner.kind, owner.name)}`;
  }

  async load(): Promise<Buffer | undefined> {
    const head = await this.getSecret(this.headName);
    if (!head) return this.recover();
    const newest = parseIndex(head).versions[0];
    if (!newest) return undefined;
    const cacheKey = `${this.owner.namespace}/${this.headName}`;
    const cached = this.loaded.get(cacheKey);
    if (cached && cached.resourceVersion === head.metadata.resourceVersion) return cached.state;
    const state = await this.readVersion(newest);
    if (head.metadata.resourceVersion) this.loaded.set(cacheKey, { resourceVersion: head.metadata.resourceVersion, state });
    return state;
  }

  async save(state: Buffer): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.saveOnce(state);
      } catch (err) {
        // Another writer switched the head between our read and write: read it again and redo the save.
        if (!(err instanceof KubeApiError && err.statusCode === 409) || attempt >= SAVE_ATTEMPTS) throw this.describe(err, 'save');
      }
    }
  }

  async history(): Promise<string[]> {
    const head = await this.getSecret(this.headName);
    return head ? parseIndex(head).versions.map(versionId) : [];
  }

  /** Reads one kept version by the identifier history() gave. */
  async version(id: string): Promise<Buffer | undefined> {
    const head = await this.getSecret(this.headName);
    const version = head ? parseIndex(head).versions.find((v) => versionId(v) === id) : undefined;
    return version ? this.readVersion(version) : undefined;
  }

  /** Deletes every Secret of this state: the head first, so that a crash leaves no head pointing at nothing. */
  async discard(): Promise<void> {
    await this.deleteSecret(this.headName);
    for (const secret of await this.listChunks()) await this.deleteSecret(secret.metadata.name);
    this.loaded.delete(`${this.owner.namespace}/${this.headName}`);
  }

  private async saveOnce(state: Buffer): Promise<void> {
    const head = await this.getSecret(this.headName);
    const index = head ? parseIndex(head) : await this.recoveredIndex();
    const hash = sha256(state);
    if (index.versions[0]?.hash === hash) return;
    const ownerReference = this.ownerReference();
    const generation = index.nextGeneration;
    const gzipped = gzipSync(state);
    const chunks = Math.max(1, Math.ceil(gzipped.length / this.chunkBytes));
    const version: StateVersion = { generation, hash, serial: stateSerial(state), chunks, size: state.length, savedAt: new Date().toISOString() };
    for (let i = 0; i < chunks; i++) {
      const data = gzipped.subarray(i * this.chunkBytes, (i + 1) * this.chunkBytes);
      await this.putSecret(this.chunkSecret(version, i, data, ownerReference));
    }
    const kept = [version, ...index.versions.filter((v) => v.generation !== generation)].slice(0, this.keep);
    const next: StateIndex = { versions: kept, nextGeneration: generation + 1 };
    const written = await this.writeHead(next, ownerReference, head?.metadata.resourceVersion);
    if (written.metadata.resourceVersion) {
      this.loaded.set(`${this.owner.namespace}/${this.headName}`, { resourceVersion: written.metadata.resourceVersion, state });
    }
    await this.pruneChunks(next);
  }

  /** The head, created or replaced under the resourceVersion it was read with (409 when it moved on). */
  private writeHead(index: StateIndex, ownerReference: object, resourceVersion: string | undefined): Promise<SecretObject> {
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: SECRET_TYPE,
      metadata: {
        name: this.headName,
        namespace: this.owner.namespace,
        labels: { [STATE_OF_LABEL]: stateOfLabel(this.owner.kind, this.owner.name), [ROLE_LABEL]: 'head' },
        ownerReferences: [ownerReference],
        ...(resourceVersion ? { resourceVersion } : {}),
      },
      data: { [INDEX_KEY]: Buffer.from(JSON.stringify(index)).toString('base64') },
    };
    return resourceVersion
      ? this.request<SecretObject>('PUT', `${this.collection()}/${this.headName}`, 'update', body)
      : this.request<SecretObject>('POST', this.collection(), 'create', body);
  }

  /** Deletes the chunks no kept version uses, older than the next generation (never those of a save in flight). */
  private async pruneChunks(index: StateIndex): Promise<void> {
    const kept = new Map(index.versions.map((v) => [v.generation, v.hash]));
    for (const secret of await this.listChunks()) {
      const generation = Number(secret.metadata.labels?.[GENERATION_LABEL]);
      const hash = kept.get(generation);
      // A kept generation may still have extra chunks of an interrupted save that used its number first.
      const stale = hash === undefined ? generation < index.nextGeneration : secret.metadata.annotations?.[HASH_ANNOTATION] !== hash;
      if (stale) await this.deleteSecret(secret.metadata.name);
    }
  }

  private chunkSecret(version: StateVersion, i: number, data: Buffer, ownerReference: object): SecretBody {
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      type: SECRET_TYPE,
      metadata: {
        name: `${this.headName}-g${version.generation}-c${i}`,
        namespace: this.owner.namespace,
        labels: {
          [STATE_OF_LABEL]: stateOfLabel(this.owner.kind, this.owner.name),
          [ROLE_LABEL]: 'chunk',
          [GENERATION_LABEL]: String(version.generation),
        },
        annotations: { [HASH_ANNOTATION]: version.hash, [CHUNKS_ANNOTATION]: String(version.chunks), [SERIAL_ANNOTATION]: String(version.serial) },
        ownerReferences: [ownerReference],
      },
      data: { [CHUNK_KEY]: data.toString('base64') },
    };
  }

  /** Reads, joins, gunzips and checks one version; a missing or altered chunk is an error, never a guess. */
  private async readVersion(version: StateVersion): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let i = 0; i < version.chunks; i++) {
      const name = `${this.headName}-g${version.generation}-c${i}`;
      const chunk = await this.getSecret(name);
      const data = chunk?.data?.[CHUNK_KEY];
      if (data === undefined) throw new Error(`${this.what()}: chunk Secret ${name} is missing`);
      parts.push(Buffer.from(data, 'base64'));
    }
    let state: Buffer;
    try {
      state = gunzipSync(Buffer.concat(parts));
    } catch (err) {
      throw new Error(`${this.what()}: generation ${version.generation} does not decompress (${(err as Error).message})`);
    }
    if (sha256(state) !== version.hash) throw new Error(`${this.what()}: generation ${version.generation} does not match its hash`);
    return state;
  }

  /** Without a head: the newest generation whose chunks are all there and match their hash, if any. */
  private async recover(): Promise<Buffer | undefined> {
    for (const version of (await this.recoveredIndex()).versions) {
      try {
        return await this.readVersion(version);
      } catch {
        // incomplete or damaged: try an older generation
      }
    }
    return undefined;
  }

  /** An index rebuilt from the chunks' labels and annotations (complete generations only), newest first. */
  private async recoveredIndex(): Promise<StateIndex> {
    const byGeneration = new Map<number, SecretObject[]>();
    let highest = 0;
    for (const secret of await this.listChunks()) {
      const generation = Number(secret.metadata.labels?.[GENERATION_LABEL]);
      if (!Number.isInteger(generation)) continue;
      highest = Math.max(highest, generation);
      byGeneration.set(generation, [...(byGeneration.get(generation) ?? []), secret]);
    }
    const versions: StateVersion[] = [];
    for (const [generation, secrets] of [...byGeneration].sort((a, b) => b[0] - a[0])) {
      const annotations = secrets[0]?.metadata.annotations ?? {};
      const chunks = Number(annotations[CHUNKS_ANNOTATION]);
      const hash = annotations[HASH_ANNOTATION];
      if (!hash || secrets.length !== chunks) continue;
      versions.push({ generation, hash, chunks, serial: Number(annotations[SERIAL_ANNOTATION] ?? -1), size: -1, savedAt: '' });
    }
    return { versions: versions.slice(0, this.keep), nextGeneration: highest + 1 };
  }

  private ownerReference(): object {
    const owner = this.options.owners.get(this.owner);
    if (!owner?.metadata.uid) {
      throw new Error(`${this.what()}: the ${this.owner.kind} is gone, so no Secret can be owned by it`);
    }
    return { apiVersion: `${GROUP}/${VERSION}`, kind: this.owner.kind, name: this.owner.name, uid: owner.metadata.uid, controller: true };
  }

  private async listChunks(): Promise<SecretObject[]> {
    const list = await this.client.request<{ items?: SecretObject[] }>({
      method: 'GET',
      path: this.collection(),
      query: { labelSelector: `${this.selector},${ROLE_LABEL}=chunk` },
      verb: 'list',
      resource: 'secrets',
    });
    return list.items ?? [];
  }

  private async getSecret(name: string): Promise<SecretObject | undefined> {
    try {
      return await this.request<SecretObject>('GET', `${this.collection()}/${name}`, 'get');
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 404) return undefined;
      throw this.describe(err, 'read');
    }
  }

  /** Creates the Secret, or replaces what an interrupted save left under that name. */
  private async putSecret(body: SecretBody): Promise<void> {
    try {
      await this.request('POST', this.collection(), 'create', body);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.statusCode === 409)) throw err;
      const current = await this.getSecret(body.metadata.name);
      const metadata = { ...body.metadata, resourceVersion: current?.metadata.resourceVersion };
      await this.request('PUT', `${this.collection()}/${body.metadata.name}`, 'update', { ...body, metadata });
    }
  }

  private async deleteSecret(name: string): Promise<void> {
    try {
      await this.request('DELETE', `${this.collection()}/${name}`, 'delete');
    } catch (err) {
      if (!(err instanceof KubeApiError && err.statusCode === 404)) throw err;
    }
  }

  private request<T = Record<string, unknown>>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, verb: string, body?: unknown): Promise<T> {
    return this.client.request<T>({ method, path, verb, resource: 'secrets', ...(body === undefined ? {} : { body }) });
  }

  private collection(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.owner.namespace)}/secrets`;
  }

  private what(): string {
    return `Terraform state of ${this.owner.kind} ${this.owner.namespace}/${this.owner.name}`;
  }

  /** An API error with which state it was about (the state itself never goes into a message). */
  private describe(err: unknown, op: string): Error {
    if (!(err instanceof KubeApiError)) return err as Error;
    return new KubeApiError(err.statusCode, err.reason, `cannot ${op} the ${this.what()} (Secret ${this.headName}): ${err.message}`);
  }
}

/** The head Secret's name: DNS-safe and bounded (a long name is shortened and made unique by its hash). */
export function stateSecretName(kind: KindName, name: string): string {
  const full = `tfstate-${kind.toLowerCase()}-${name}`;
  // Chunk names add "-g<generation>-c<index>": leave room for them under the 253-character limit.
  return full.length <= 200 ? full : `${full.slice(0, 183)}-${sha256(full).slice(0, 16)}`;
}

/** The label value naming the owner (label values: at most 63 characters). */
export function stateOfLabel(kind: KindName, name: string): string {
  const full = `${kind.toLowerCase()}.${name}`;
  return full.length <= 63 ? full : `${full.slice(0, 46)}-${sha256(full).slice(0, 16)}`;
}

function parseIndex(head: SecretObject): StateIndex {
  const raw = head.data?.[INDEX_KEY];
  if (raw === undefined) throw new Error(`state head Secret ${head.metadata.name} has no ${INDEX_KEY}`);
  const index = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as Partial<StateIndex>;
  const versions = index.versions ?? [];
  const highest = Math.max(0, ...versions.map((v) => v.generation));
  return { versions, nextGeneration: Math.max(index.nextGeneration ?? 1, highest + 1) };
}

function versionId(v: StateVersion): string {
  return `g${v.generation}-serial${v.serial}-${v.hash.slice(0, 12)}`;
}
