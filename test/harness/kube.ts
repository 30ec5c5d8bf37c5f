// A real Kubernetes control plane for tests, like controller-runtime's envtest: etcd and kube-apiserver (built
// from their Go modules by kube-tools/install.sh) on free loopback ports, with a fresh PKI, an admin kubeconfig
// and a kubectl bound to it. Nothing is imitated: what the tests talk to is the upstream API server.
//
//   const kube = await startKube();
//   await kube.kubectl(['apply', '-f', 'crds/']);
//   await kube.restartApiServer(); // etcd data kept, same port
//   await kube.stop();
//
// Every child runs in its own process group under `setpriv --pdeathsig SIGKILL`, so nothing outlives the test
// process, even when it is killed; stop() and process exit kill what is left.
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { stringify } from 'yaml';
import { generateKubeCerts, type KubeCerts } from './kube-certs.js';

export interface StartKubeOptions {
  /** Run the tool installer first (default true; a no-op once the tools are built). */
  installTools?: boolean;
  /** How long etcd and the API server may take to become ready (default 180 s: the machines are shared). */
  readyTimeoutMs?: number;
  /** Extra kube-apiserver flags (`--name=value`). */
  apiServerArgs?: string[];
  /** Keep the temp dir (certs, data, logs) after stop(); also with ORION_KEEP_KUBE=1. */
  keepDir?: boolean;
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface KubeHarness {
  /** Path of an admin kubeconfig (user in group system:masters, certificates embedded). */
  kubeconfig: string;
  /** https://127.0.0.1:PORT */
  server: string;
  /** The temp dir with certs/, etcd data, logs/ (apiserver.log, etcd.log). */
  dir: string;
  certs: KubeCerts;
  /** Runs /usr/bin/kubectl against this API server; a non-zero exit is a result, not an exception. */
  kubectl(args: string[], opts?: { input?: string }): Promise<KubectlResult>;
  /** Kills kube-apiserver and etcd and starts them again on the same ports with the same data. */
  restartApiServer(): Promise<void>;
  stop(): Promise<void>;
}

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TOOLS_BIN = join(process.env.ORION_TOOLS_DIR ?? join(REPO, '.tools'), 'bin');
export const KUBE_TOOLS = {
  apiserver: join(TOOLS_BIN, 'kube-apiserver'),
  etcd: join(TOOLS_BIN, 'etcd'),
  helm: join(TOOLS_BIN, 'helm'),
  kubectl: process.env.KUBECTL ?? '/usr/bin/kubectl',
};
const INSTALLER = join(REPO, 'test/harness/kube-tools/install.sh');
const STOP_GRACE_MS = 10_000;

let installation: Promise<void> | undefined;

/** Builds the tools once per process (the installer itself is a no-op when its stamps are there). */
export function installKubeTools(): Promise<void> {
  installation ??= execa('bash', [INSTALLER, 'all'], { stdin: 'ignore', stdout: 'inherit', stderr: 'inherit' }).then(() => undefined);
  return installation;
}

/** A port the kernel just handed out on loopback (free at the time of asking). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes

const liveGroups = new Set<number>();
let exitHookInstalled = false;

function killLeftoversOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of liveGroups) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** A long-running daemon: its own process group, output appended to a log file, killed with its parent. */
class Daemon {
  private child: ResultPromise | undefined;
  private exited: Promise<unknown> = Promise.resolve();
  private exitCode: number | undefined;

  constructor(
    readonly name: string,
    private readonly binary: string,
    private readonly args: string[],
    readonly logFile: string,
  ) {}

  start(): void {
    killLeftoversOnExit();
    closeSync(openSync(this.logFile, 'a', 0o600));
    const log = { file: this.logFile, append: true };
    const child = execa('setpriv', ['--pdeathsig', 'SIGKILL', '--', this.binary, ...this.args], {
      stdin: 'ignore',
      stdout: log,
      stderr: log,
      detached: true,
      reject: false,
      cleanup: false,
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`${this.name}: could not spawn ${this.binary}`);
    liveGroups.add(pid);
    this.child = child;
    this.exitCode = undefined;
    this.exited = child.then((result) => {
      liveGroups.delete(pid);
      this.exitCode = result.exitCode ?? -1;
    });
  }

  /** Set once the process has exited: a daemon that exits while we wait for it is a failure to report. */
  get hasExited(): boolean {
    return this.exitCode !== undefined;
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** SIGTERM to the group, SIGKILL after a grace period; resolves when the process is gone. */
  async stop(): Promise<void> {
    const pid = this.child?.pid;
    if (pid === undefined || this.hasExited) return;
    signalGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
    signalGroup(pid, 'SIGKILL'); // anything left in the group
    this.child = undefined;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

async function waitUntil(daemon: Daemon, what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (daemon.hasExited) throw new Error(`${daemon.name} exited while waiting for ${what}:\n${daemon.logTail()}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${daemon.name} log (${daemon.logFile}):\n${daemon.logTail()}`);
}

// ---------------------------------------------------------------------------------------------------------------
// etcd and kube-apiserver

interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiServer: number;
}

function etcdDaemon(dir: string, ports: Ports): Daemon {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return new Daemon('etcd', KUBE_TOOLS.etcd, [
    '--name=orion-test',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=orion-test=${peer}`,
    '--unsafe-no-fsync', // test data: durability against power loss is not needed, speed is
    '--log-level=warn',
  ], join(dir, 'logs', 'etcd.log'));
}

async function etcdHealthy(ports: Ports): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${ports.etcdClient}/health`);
  const body = (await response.json()) as { health?: string };
  return body.health === 'true';
}

function apiServerDaemon(dir: string, certs: KubeCerts, ports: Ports, extra: string[]): Daemon {
  return new Daemon('kube-apiserver', KUBE_TOOLS.apiserver, [
    `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
    `--secure-port=${ports.apiServer}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--cert-dir=${join(dir, 'apiserver-certs')}`,
    `--tls-cert-file=${certs.servingCert}`,
    `--tls-private-key-file=${certs.servingKey}`,
    `--client-ca-file=${certs.caCert}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${certs.serviceAccountPub}`,
    `--service-account-signing-key-file=${certs.serviceAccountKey}`,
    '--authorization-mode=RBAC',
    '--service-cluster-ip-range=10.0.0.0/24', // never contacted: no kube-proxy, no nodes
    // No controller-manager runs: nothing would mint service-account tokens for pods.
    '--disable-admission-plugins=ServiceAccount',
    '--allow-privileged=true',
    '--profiling=false',
    '--v=1',
    ...extra,
  ], join(dir, 'logs', 'apiserver.log'));
}

function apiServerReady(certs: KubeCerts, port: number): Promise<boolean> {
  return new Promise((resolveReady) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/readyz',
        ca: readFileSync(certs.caCert),
        cert: readFileSync(certs.adminCert),
        key: readFileSync(certs.adminKey),
        timeout: 5000,
      },
      (res) => {
        res.resume();
        resolveReady(res.statusCode === 200);
      },
    );
    req.on('error', () => resolveReady(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function kubeconfigYaml(server: string, certs: KubeCerts): string {
  const b64 = (path: string): string => readFileSync(path).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'orion-test', cluster: { server, 'certificate-authority-data': b64(certs.caCert) } }],
    users: [{ name: 'orion-test-admin', user: { 'client-certificate-data': b64(certs.adminCert), 'client-key-data': b64(certs.adminKey) } }],
    contexts: [{ name: 'orion-test', context: { cluster: 'orion-test', user: 'orion-test-admin', namespace: 'default' } }],
    'current-context': 'orion-test',
    preferences: {},
  });
}

const DEFAULT_NAMESPACE = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n';

// ---------------------------------------------------------------------------------------------------------------
// The harness

class ControlPlane {
  private etcd: Daemon;
  private apiServer: Daemon;

  constructor(
    private readonly dir: string,
    private readonly certs: KubeCerts,
    private readonly ports: Ports,
    private readonly options: StartKubeOptions,
  ) {
    this.etcd = etcdDaemon(dir, ports);
    this.apiServer = apiServerDaemon(dir, certs, ports, options.apiServerArgs ?? []);
  }

  private get timeoutMs(): number {
    return this.options.readyTimeoutMs ?? 180_000;
  }

  async start(): Promise<void> {
    this.etcd.start();
    await waitUntil(this.etcd, 'etcd /health', () => etcdHealthy(this.ports), this.timeoutMs);
    this.apiServer.start();
    await waitUntil(this.apiServer, 'kube-apiserver /readyz', () => apiServerReady(this.certs, this.ports.apiServer), this.timeoutMs);
  }

  async stop(): Promise<void> {
    await this.apiServer.stop();
    await this.etcd.stop();
  }
}

const TEMP_PREFIX = 'orion-kube-';

/** Removes the temp dirs of harnesses whose process was killed before stop() (their daemons died with it). */
async function sweepAbandonedDirs(): Promise<void> {
  const entries = await readdir(tmpdir()).catch(() => [] as string[]);
  const ours = new RegExp(`^${TEMP_PREFIX}[A-Za-z0-9]{6}$`); // mkdtemp's names, not other harnesses' dirs
  for (const name of entries.filter((n) => ours.test(n))) {
    const dir = join(tmpdir(), name);
    const owner = Number(await readFile(join(dir, 'owner.pid'), 'utf8').catch(() => 'NaN'));
    if (Number.isInteger(owner) && owner > 0 && !isAlive(owner)) await rm(dir, { recursive: true, force: true });
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

async function privateTempDir(): Promise<string> {
  await sweepAbandonedDirs();
  const dir = await mkdtemp(join(tmpdir(), TEMP_PREFIX));
  await writeFile(join(dir, 'owner.pid'), String(process.pid));
  for (const sub of ['certs', 'logs', 'apiserver-certs']) await mkdir(join(dir, sub), { mode: 0o700 });
  return dir;
}

/** Three distinct ports from the kernel (parallel test files each get their own). */
async function allocatePorts(): Promise<Ports> {
  const ports = new Set<number>();
  while (ports.size < 3) ports.add(await freePort());
  const [etcdClient, etcdPeer, apiServer] = [...ports] as [number, number, number];
  return { etcdClient, etcdPeer, apiServer };
}

export async function startKube(options: StartKubeOptions = {}): Promise<KubeHarness> {
  if (options.installTools ?? true) await installKubeTools();
  const dir = await privateTempDir();
  const certs = await generateKubeCerts(join(dir, 'certs'));
  const ports = await allocatePorts();
  const server = `https://127.0.0.1:${ports.apiServer}`;
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeconfigYaml(server, certs), { mode: 0o600 });
  const plane = new ControlPlane(dir, certs, ports, options);

  const kubectl = async (args: string[], opts: { input?: string } = {}): Promise<KubectlResult> => {
    const result = await execa(KUBE_TOOLS.kubectl, ['--kubeconfig', kubeconfig, ...args], {
      input: opts.input ?? '',
      reject: false,
      env: { KUBECONFIG: kubeconfig },
    });
    return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 };
  };
  const stop = async (): Promise<void> => {
    await plane.stop();
    if (!(options.keepDir || process.env.ORION_KEEP_KUBE === '1')) await rm(dir, { recursive: true, force: true });
  };

  try {
    await plane.start();
    const ns = await kubectl(['apply', '-f', '-'], { input: DEFAULT_NAMESPACE });
    if (ns.exitCode !== 0) throw new Error(`cannot create the default namespace: ${ns.stderr}`);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    kubeconfig,
    server,
    dir,
    certs,
    kubectl,
    restartApiServer: async () => {
      await plane.stop();
      await plane.start();
    },
    stop,
  };
}
