// A local test bed: real SSH workers (sshd in their own namespaces), a folder of manifests and Orion's
// controllers running in-process on a FolderStore. Tests write manifests and watch the status.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KindName, Resource } from '../../src/api/types.js';
import { assembleFolderOrion } from '../../src/cli/run.js';
import { generateClientKeyPair, LocalDataPlane, type ClientKeyPair, type SshWorker } from '../../src/dataplane/workers.js';
import type { FolderStore } from '../../src/folder/store.js';
import type { Manager } from '../../src/runtime/manager.js';
import { removeManifestFile, rentalClassManifest, writeManifestFile } from './manifest-files.js';

export interface TestBedOptions {
  workers: number;
  basePort: number;
  rentalConcurrency?: number;
  extraPlaybookDirs?: string[];
  probe?: { intervalSeconds: number; timeoutSeconds: number; failureThreshold: number; successThreshold: number };
}

export class TestBed {
  readonly manifests: string;
  store!: FolderStore;
  manager!: Manager;
  dataPlane!: LocalDataPlane;
  orchestratorKey!: ClientKeyPair;
  tenantKey!: ClientKeyPair;

  private constructor(
    readonly root: string,
    readonly options: TestBedOptions,
  ) {
    this.manifests = join(root, 'manifests');
  }

  static async create(options: TestBedOptions): Promise<TestBed> {
    const bed = new TestBed(await mkdtemp(join(tmpdir(), 'orion-bed-')), options);
    await bed.setUp();
    return bed;
  }

  private async setUp(): Promise<void> {
    await mkdir(this.manifests, { recursive: true });
    this.orchestratorKey = await generateClientKeyPair(join(this.root, 'keys', 'orchestrator'));
    this.tenantKey = await generateClientKeyPair(join(this.root, 'keys', 'tenant'));
    this.dataPlane = new LocalDataPlane({
      dir: join(this.root, 'dataplane'),
      basePort: this.options.basePort,
      count: this.options.workers,
      authorizedKeys: [this.orchestratorKey.publicKey],
    });
    await this.dataPlane.start();
    await this.write('secret.yaml', [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'worker-key' }, stringData: { privateKey: this.orchestratorKey.privateKey } }]);
    await this.write('nodes.yaml', this.dataPlane.workers.map((w) => this.nodeManifest(w)));
  }

  nodeManifest(worker: SshWorker, labels: Record<string, string> = { pool: 'test' }): object {
    return {
      apiVersion: 'orion.lab/v1alpha1',
      kind: 'Node',
      metadata: { name: worker.name, labels },
      spec: {
        address: '127.0.0.1',
        port: worker.port,
        user: 'root',
        secretRef: { name: 'worker-key' },
        probe: this.options.probe ?? { intervalSeconds: 1, timeoutSeconds: 2, failureThreshold: 2, successThreshold: 1 },
      },
    };
  }

  /** An admin's RentalClass (test/harness/manifest-files.ts). */
  rentalClassManifest(name: string, spec: Record<string, unknown> = {}, isDefault = false): object {
    return rentalClassManifest(name, spec, isDefault);
  }

  rentalManifest(name: string, spec: Record<string, unknown> = {}): object {
    return {
      apiVersion: 'orion.lab/v1alpha1',
      kind: 'Rental',
      metadata: { name },
      spec: { user: name, sshPublicKeys: [this.tenantKey.publicKey], nodeSelector: { matchLabels: { pool: 'test' } }, ...spec },
    };
  }

  async write(file: string, docs: object[]): Promise<void> {
    await writeManifestFile(this.manifests, file, docs);
  }

  async remove(file: string): Promise<void> {
    await removeManifestFile(this.manifests, file);
  }

  /** Starts the Node and Rental controllers of folder mode on the manifests folder. */
  async startOrion(): Promise<void> {
    ({ store: this.store, manager: this.manager } = assembleFolderOrion(
      {
        dir: this.manifests,
        state: join(this.root, 'state'),
        nodeConcurrency: 32,
        rentalConcurrency: this.options.rentalConcurrency ?? 8,
        playbookDirs: this.options.extraPlaybookDirs,
      },
      { only: ['node', 'node-cleanup', 'rental'] },
    ));
    await this.manager.start();
  }

  async stopOrion(): Promise<void> {
    await this.manager?.stop();
  }

  get<T extends Resource>(kind: KindName, name: string): T | undefined {
    return this.store.get<T>({ kind, namespace: 'default', name });
  }

  list<T extends Resource>(kind: KindName): T[] {
    return this.store.list<T>(kind);
  }

  async destroy(): Promise<void> {
    await this.stopOrion().catch(() => undefined);
    await this.dataPlane?.stopAll().catch(() => undefined);
    await rm(this.root, { recursive: true, force: true });
  }
}

/** Polls until the check returns a value (not undefined/false), or fails with the last observation. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
