// Kubernetes mode: a workspace's Terraform state kept in Secrets of the resource's namespace, owned by the Lab or
// Desktop (ownerReferences, controller: true) so that Kubernetes collects them with it: a head indexing the kept
// versions, and the gzipped state of each version cut into chunks (state-secrets.ts lays them out).
//
// A save writes the new generation's chunks first, then replaces the head under its resourceVersion, then deletes
// the chunks no kept version refers to. A crash before the head switch leaves the old state readable and some
// unreferenced chunks, which the next save reuses or deletes; a crash after it leaves only extra chunks. Every
// chunk also carries its version's hash and chunk count, so a lost head is rebuilt from the newest complete
// generation rather than taken for "no state". Nothing here logs a state: it may hold secrets.
//
// Only Secrets owned by the resource (its uid in their ownerReferences) are read, replaced or deleted: one of the
// same name made by someone else is an error that names it, and a chunk-labelled Secret that is not the resource's
// is ignored (owned-secrets.ts).
import { gunzipSync, gzipSync } from 'node:zlib';
import { GROUP, VERSION } from '../api/group.js';
import { ownerOfWorkspace, type ObjectRef, type PathRef } from '../api/refs.js';
import type { Resource } from '../api/types.js';
import { sha256 } from '../base/hash.js';
import { stateSerial, type StateBackend } from '../exec/terraform/state.js';
import { KubeApiError, type KubeClient } from './client.js';
import { SecretNotOwnedError, deleteOwnedSecret, isOwnedBy } from './owned-secrets.js';
import {
  CHUNK_KEY, ROLE_LABEL, STATE_OF_LABEL, chunkSecret, chunkSecretName, headSecret, indexFromChunks, isStaleChunk, parseIndex,
  stateOfLabel, stateSecretName, versionId, type SecretBody, type SecretObject, type StateIndex, type StateVersion,
} from './state-secrets.js';

export const DEFAULT_KUBE_STATE_VERSIONS = 3;
/** Gzipped bytes per Secret: base64 makes it 683 KiB, well under the API server's 1 MiB limit for a Secret. */
export const DEFAULT_CHUNK_BYTES = 512 * 1024;
const SAVE_ATTEMPTS = 3;

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

  forWorkspace(ws: PathRef): KubeSecretStateBackend {
    const owner = ownerOfWorkspace(ws);
    if (!owner) throw new Error(`no Kubernetes resource owns the Terraform state of a ${JSON.stringify(ws.kind)} workspace`);
    return new KubeSecretStateBackend(owner, this.options, this.loaded);
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
    const head = await this.getSecret(this.headName);
    if (head) await this.deleteSecret(head);
    for (const secret of await this.listChunks()) await this.deleteSecret(secret);
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
      await this.putSecret(chunkSecret(this.owner, version, i, data, ownerReference));
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
    const body = headSecret(this.owner, index, ownerReference, resourceVersion);
    return resourceVersion
      ? this.request<SecretObject>('PUT', `${this.collection()}/${this.headName}`, 'update', body)
      : this.request<SecretObject>('POST', this.collection(), 'create', body);
  }

  /** Deletes the chunks no kept version uses. */
  private async pruneChunks(index: StateIndex): Promise<void> {
    for (const secret of await this.listChunks()) {
      if (isStaleChunk(secret, index)) await this.deleteSecret(secret);
    }
  }

  /** Reads, joins, gunzips and checks one version; a missing or altered chunk is an error, never a guess. */
  private async readVersion(version: StateVersion): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let i = 0; i < version.chunks; i++) {
      const name = chunkSecretName(this.headName, version.generation, i);
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

  /** An index rebuilt from the chunks (complete generations only), newest first. */
  private async recoveredIndex(): Promise<StateIndex> {
    return indexFromChunks(await this.listChunks(), this.keep);
  }

  private ownerReference(): object {
    const uid = this.ownerUid();
    if (!uid) throw new Error(`${this.what()}: the ${this.owner.kind} is gone, so no Secret can be owned by it`);
    return { apiVersion: `${GROUP}/${VERSION}`, kind: this.owner.kind, name: this.owner.name, uid, controller: true };
  }

  private ownerUid(): string | undefined {
    return this.options.owners.get(this.owner)?.metadata.uid;
  }

  private async listChunks(): Promise<SecretObject[]> {
    const list = await this.client.request<{ items?: SecretObject[] }>({
      method: 'GET',
      path: this.collection(),
      query: { labelSelector: `${this.selector},${ROLE_LABEL}=chunk` },
      verb: 'list',
      resource: 'secrets',
    });
    const uid = this.ownerUid();
    return (list.items ?? []).filter((secret) => isOwnedBy(secret, uid));
  }

  /** The Secret of that name, which must be this resource's; undefined when there is none. */
  private async getSecret(name: string): Promise<SecretObject | undefined> {
    let secret: SecretObject;
    try {
      secret = await this.request<SecretObject>('GET', `${this.collection()}/${name}`, 'get');
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 404) return undefined;
      throw this.describe(err, 'read');
    }
    if (!isOwnedBy(secret, this.ownerUid())) throw new SecretNotOwnedError(this.owner.namespace, name, `the ${this.what()}`);
    return secret;
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

  private async deleteSecret(secret: SecretObject): Promise<void> {
    await deleteOwnedSecret(this.client, this.owner.namespace, secret, this.ownerUid());
  }

  private request<T = Record<string, unknown>>(method: 'GET' | 'POST' | 'PUT', path: string, verb: string, body?: unknown): Promise<T> {
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

