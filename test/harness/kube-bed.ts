// A Kubernetes-mode test bed: the real kube-apiserver of the kube harness with Orion's CRDs, optionally real
// SSH workers (LocalDataPlane), manifests applied with kubectl, and Orion either in-process (startKubeOrion)
// or as separate `orion run --kube` processes (leader election).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { parseAllDocuments, stringify } from 'yaml';
import { generateClientKeyPair, LocalDataPlane, type ClientKeyPair, type SshWorker } from '../../src/dataplane/workers.js';
import { startKubeOrion, type KubeRunOptions, type RunningKubeOrion } from '../../src/cli/run-kube.js';
import { freePort, KUBE_TOOLS, startKube, type KubeHarness, type KubectlResult } from './kube.js';
import { rentalClassManifest } from './manifest-files.js';

export const REPO = resolve(import.meta.dirname, '../..');
export const NAMESPACE = 'orion-test';

export interface KubeBedOptions {
  workers?: number;
  basePort?: number;
}

export class KubeBed {
  kube!: KubeHarness;
  dataPlane?: LocalDataPlane;
  orchestratorKey!: ClientKeyPair;
  tenantKey!: ClientKeyPair;
  orion?: RunningKubeOrion;

  private constructor(readonly root: string) {}

  static async create(options: KubeBedOptions = {}): Promise<KubeBed> {
    const bed = new KubeBed(await mkdtemp(join(tmpdir(), 'orion-kube-bed-')));
    try {
      await bed.setUp(options);
    } catch (err) {
      await bed.destroy();
      throw err;
    }
    return bed;
  }

  private async setUp(options: KubeBedOptions): Promise<void> {
    this.kube = await startKube();
    await this.mustKubectl(['apply', '-f', join(REPO, 'crds')]);
    await this.mustKubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
    await this.mustKubectl(['create', 'namespace', NAMESPACE]);
    this.orchestratorKey = await generateClientKeyPair(join(this.root, 'keys', 'orchestrator'));
    this.tenantKey = await generateClientKeyPair(join(this.root, 'keys', 'tenant'));
    if (options.workers) {
      this.dataPlane = new LocalDataPlane({
        dir: join(this.root, 'dataplane'),
        basePort: options.basePort ?? 22600,
        count: options.workers,
        authorizedKeys: [this.orchestratorKey.publicKey],
      });
      await this.dataPlane.start();
    }
  }

  get workers(): SshWorker[] {
    return this.dataPlane?.workers ?? [];
  }

  kubectl(args: string[], input?: string): Promise<KubectlResult> {
    return this.kube.kubectl(args, { input });
  }

  async mustKubectl(args: string[], input?: string): Promise<string> {
    const result = await this.kube.kubectl(args, { input });
    if (result.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  }

  /** kubectl apply of the documents, in the test namespace unless they say otherwise. */
  async apply(docs: object[]): Promise<string> {
    return this.mustKubectl(['apply', '-n', NAMESPACE, '-f', '-'], docs.map((d) => stringify(d)).join('---\n'));
  }

  /**
   * kubectl as a tenant: the ServiceAccount NAME, bound in the test namespace to the example tenant role
   * (manifests/components/portal-roles), with its token only — no admin credentials. Never throws on a refusal.
   */
  async tenantKubectl(name: string): Promise<(args: string[], input?: string) => Promise<KubectlResult>> {
    const roles = parseAllDocuments(await readFile(join(REPO, 'manifests/components/portal-roles/portal-roles.yaml'), 'utf8')).map((d) => d.toJS() as object);
    await this.apply([
      ...roles,
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: `${name}-tenant` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'orion-tenant' },
        subjects: [{ kind: 'ServiceAccount', name, namespace: NAMESPACE }],
      },
    ]);
    const token = (await this.mustKubectl(['create', 'token', name, '-n', NAMESPACE, '--duration=1h'])).trim();
    const kubeconfig = join(this.root, `${name}-no-kubeconfig`);
    await writeFile(kubeconfig, 'apiVersion: v1\nkind: Config\n');
    const server = ['--kubeconfig', kubeconfig, '--server', this.kube.server, '--certificate-authority', this.kube.certs.caCert, '--token', token];
    return async (args, input) => {
      const run = await execa(KUBE_TOOLS.kubectl, [...server, ...args], { input: input ?? '', reject: false });
      return { exitCode: run.exitCode ?? 1, stdout: String(run.stdout), stderr: String(run.stderr) };
    };
  }

  async getJson<T>(resource: string, name: string): Promise<T | undefined> {
    const result = await this.kubectl(['get', '-n', NAMESPACE, resource, name, '-o', 'json']);
    return result.exitCode === 0 ? (JSON.parse(result.stdout) as T) : undefined;
  }

  keySecret(name = 'worker-key'): object {
    return { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: { privateKey: this.orchestratorKey.privateKey } };
  }

  nodeManifest(name: string, port: number, secret = 'worker-key', labels: Record<string, string> = { pool: 'test' }): object {
    return {
      apiVersion: 'orion.lab/v1alpha1',
      kind: 'Node',
      metadata: { name, labels },
      spec: {
        address: '127.0.0.1',
        port,
        user: 'root',
        secretRef: { name: secret },
        probe: { intervalSeconds: 1, timeoutSeconds: 3, failureThreshold: 2, successThreshold: 1 },
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

  /** Orion in this process, watching the test namespace. */
  async startOrion(options: Partial<KubeRunOptions> = {}): Promise<RunningKubeOrion> {
    this.orion = await startKubeOrion({
      kubeconfig: this.kube.kubeconfig,
      namespace: NAMESPACE,
      state: join(this.root, 'state'),
      listen: '127.0.0.1:0',
      nodeConcurrency: 32,
      rentalConcurrency: 8,
      ...options,
    });
    return this.orion;
  }

  /** `orion run --kube` as a separate process (its output goes to a log file in the bed). */
  async spawnOrion(name: string, extraArgs: string[] = []): Promise<OrionProcess> {
    const port = await freePort();
    const log = join(this.root, `${name}.log`);
    const child = execa(
      process.execPath,
      ['--import', 'tsx', join(REPO, 'test/harness/orion-cli.ts'), 'run', '--kube', '--kubeconfig', this.kube.kubeconfig,
        '--namespace', NAMESPACE, '--state', join(this.root, `state-${name}`), '--listen', `127.0.0.1:${port}`, ...extraArgs],
      { cwd: REPO, reject: false, stdin: 'ignore', stdout: { file: log }, stderr: { file: log }, env: { ORION_LOG_FORMAT: 'json', ORION_LOG_LEVEL: 'info' } },
    );
    return new OrionProcess(name, child, port, log);
  }

  async destroy(): Promise<void> {
    await this.orion?.stop().catch(() => undefined);
    await this.dataPlane?.stopAll().catch(() => undefined);
    await this.kube?.stop().catch(() => undefined);
    await rm(this.root, { recursive: true, force: true });
  }
}

export class OrionProcess {
  constructor(
    readonly name: string,
    readonly child: ResultPromise,
    readonly port: number,
    readonly logFile: string,
  ) {}

  get pid(): number {
    return this.child.pid ?? -1;
  }

  async metrics(): Promise<string | undefined> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.port}/metrics`);
      return res.ok ? await res.text() : undefined;
    } catch {
      return undefined;
    }
  }

  async ready(): Promise<boolean> {
    try {
      return (await fetch(`http://127.0.0.1:${this.port}/readyz`)).ok;
    } catch {
      return false;
    }
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child.kill(signal);
  }

  async exited(): Promise<number | undefined> {
    const result = await this.child;
    return result.exitCode;
  }
}

/** The same bounded poll as the folder-mode test bed. */
export { waitFor } from './cluster.js';
