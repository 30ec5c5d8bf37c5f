// A portal test bed: real SSH workers (sshd in their own namespaces), Orion started the way `orion run --dir`
// starts it (startOrion: every controller, the HTTP server with the portal), tokens issued as `orion token create`
// issues them, and a small HTTP client. Tests talk to Orion over real HTTP only.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KindName, Resource } from '../../src/api/types.js';
import { startOrion, type RunOptions, type RunningOrion } from '../../src/cli/run.js';
import { generateClientKeyPair, LocalDataPlane, type ClientKeyPair } from '../../src/dataplane/workers.js';
import { TokenStore, tokensFile } from '../../src/server/auth/tokens.js';
import { writeManifestFile } from './manifest-files.js';

export interface PortalBedOptions {
  workers: number;
  basePort: number;
  /** Nodes per worker (several Nodes may share one sshd, as in bench/kube-scale.ts). */
  nodesPerWorker?: number;
  orion?: Partial<RunOptions>;
  /** More manifests in the admin's folder from the start (classes.yaml): MachineClasses, Hypervisors … */
  classes?: object[];
}

export interface ApiAnswer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export class PortalBed {
  readonly manifests: string;
  readonly state: string;
  dataPlane!: LocalDataPlane;
  orchestratorKey!: ClientKeyPair;
  tenantKey!: ClientKeyPair;
  orion!: RunningOrion;
  tokens!: TokenStore;
  url = '';

  private constructor(
    readonly root: string,
    readonly options: PortalBedOptions,
  ) {
    this.manifests = join(root, 'manifests');
    this.state = join(root, 'state');
  }

  static async create(options: PortalBedOptions): Promise<PortalBed> {
    const bed = new PortalBed(await mkdtemp(join(tmpdir(), 'orion-portal-')), options);
    try {
      await bed.setUp();
    } catch (err) {
      await bed.destroy();
      throw err;
    }
    return bed;
  }

  private async setUp(): Promise<void> {
    await mkdir(this.manifests, { recursive: true });
    this.orchestratorKey = await generateClientKeyPair(join(this.root, 'keys', 'orchestrator'));
    this.tenantKey = await generateClientKeyPair(join(this.root, 'keys', 'tenant'));
    this.tokens = new TokenStore(tokensFile(this.state));
    if (this.options.workers > 0) {
      this.dataPlane = new LocalDataPlane({
        dir: join(this.root, 'dataplane'),
        basePort: this.options.basePort,
        count: this.options.workers,
        authorizedKeys: [this.orchestratorKey.publicKey],
      });
      await this.dataPlane.start();
    }
    await writeManifestFile(this.manifests, 'secret.yaml', [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'worker-key' }, stringData: { privateKey: this.orchestratorKey.privateKey } },
    ]);
    await writeManifestFile(this.manifests, 'nodes.yaml', this.nodeManifests());
    if (this.options.classes?.length) await writeManifestFile(this.manifests, 'classes.yaml', this.options.classes);
    this.orion = await startOrion({
      dir: this.manifests,
      state: this.state,
      listen: '127.0.0.1:0',
      nodeConcurrency: 32,
      rentalConcurrency: 32,
      ...this.options.orion,
    });
    this.url = `http://127.0.0.1:${(this.orion.server.address() as AddressInfo).port}`;
  }

  /** Node n<i> on worker i / nodesPerWorker, labelled pool=test and orion.lab/server-id=<i+1> (seed 002's ids). */
  private nodeManifests(): object[] {
    const perWorker = this.options.nodesPerWorker ?? 1;
    const workers = this.dataPlane?.workers ?? [];
    return Array.from({ length: workers.length * perWorker }, (_, i) => ({
      apiVersion: 'orion.lab/v1alpha1',
      kind: 'Node',
      metadata: { name: `n${i}`, labels: { pool: 'test', 'orion.lab/server-id': String(i + 1) } },
      spec: {
        address: '127.0.0.1',
        port: workers[Math.floor(i / perWorker)]?.port,
        secretRef: { name: 'worker-key' },
        probe: { intervalSeconds: 2, timeoutSeconds: 5, failureThreshold: 3, successThreshold: 1 },
      },
    }));
  }

  /** A token for NAME (an admin with `admin`), with the tenant key registered. */
  async token(name: string, admin = false): Promise<string> {
    await this.tokens.revoke(name);
    return (await this.tokens.create(name, { admin, sshPublicKeys: [this.tenantKey.publicKey] })).token;
  }

  async api<T = Record<string, unknown>>(token: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer<T>> {
    const response = await fetch(this.url + path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(180_000),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // text bodies (logs) stay text
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }

  list<T extends Resource>(kind: KindName): T[] {
    return this.orion.store.list<T>(kind);
  }

  async destroy(): Promise<void> {
    await this.orion?.stop().catch(() => undefined);
    await this.dataPlane?.stopAll().catch(() => undefined);
    await rm(this.root, { recursive: true, force: true });
  }
}

/** Reads a server-sent event stream until `until` says stop (or the stream ends); returns the events. */
export async function readEvents(
  url: string,
  token: string,
  until: (events: SseEvent[]) => boolean,
  options: { headers?: Record<string, string>; timeoutMs?: number; onOpen?: () => void } = {},
): Promise<SseEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 120_000);
  const events: SseEvent[] = [];
  try {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...options.headers }, signal: controller.signal });
    if (response.status !== 200 || !response.body) throw new Error(`stream answered ${response.status}: ${await response.text()}`);
    options.onOpen?.();
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let split: number;
      while ((split = buffer.indexOf('\n\n')) >= 0) {
        const event = parseSse(buffer.slice(0, split));
        buffer = buffer.slice(split + 2);
        if (event) events.push(event);
      }
      if (until(events)) break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

export interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

export function parseSse(block: string): SseEvent | undefined {
  const event: SseEvent = { event: 'message', data: '' };
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event.event = value;
    else if (field === 'id') event.id = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return undefined;
  event.data = data.join('\n');
  return event;
}
