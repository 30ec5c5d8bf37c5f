// Kubernetes-mode scale benchmark: a real kube-apiserver (test/harness/kube.ts), N Nodes sharing a few real
// sshd workers and N Rentals created with kubectl; Orion runs in this process so that every API request can
// be attributed to the reconcile that made it. Prints the time until all are Ready, API writes per
// reconcile, and RSS.
//
//   npx tsx bench/kube-scale.ts [--nodes 1000] [--rentals 1000] [--workers 8] [--runner playbook|stub]
//                               [--rental-concurrency 128] [--max-minutes 20]
//
// The control plane is what is measured, so create_user/delete_user are trivial: with --runner playbook
// (default) a real ansible-playbook runs a playbook with no tasks (runs on several nodes share one process, as
// Orion's AnsibleRunner coalesces them); with --runner stub no process runs at all (an in-process stand-in that
// reports success). Both are said in the output. Orion logs warnings only (bench/quiet-logs.ts), so that stdout
// carries the figures.
import './quiet-logs.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import type { NodeResource, RentalResource } from '../src/api/types.js';
import { registerControllers } from '../src/cli/controllers.js';
import { generateClientKeyPair, LocalDataPlane } from '../src/dataplane/workers.js';
import { AnsibleRunner } from '../src/exec/ansible/runner.js';
import type { AnsibleRunRequest, AnsibleRunResult } from '../src/exec/ansible/types.js';
import { KubeStore } from '../src/kube/store.js';
import { Manager, type ControllerSetup } from '../src/runtime/manager.js';
import { ansibleRunSeconds, ansibleRunsTotal } from '../src/telemetry/metrics.js';
import { startKube } from '../test/harness/kube.js';

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    rentals: { type: 'string', default: '1000' },
    workers: { type: 'string', default: '8' },
    'base-port': { type: 'string', default: '22680' },
    runner: { type: 'string', default: 'playbook' },
    'steady-seconds': { type: 'string', default: '30' },
    'max-minutes': { type: 'string', default: '20' },
    'rental-concurrency': { type: 'string', default: '128' },
  },
});
const NODES = Number(args.nodes);
const RENTALS = Number(args.rentals);
const WORKERS = Number(args.workers);
const NS = 'bench';
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete']);

interface ReconcileTally {
  controller: string;
  writes: number;
  requests: number;
}

const context = new AsyncLocalStorage<ReconcileTally>();
const tallies: ReconcileTally[] = [];

/** Runs every reconcile of the controller in a context that counts its API requests. */
function counted(setup: ControllerSetup): ControllerSetup {
  const reconcile = setup.reconcile;
  return {
    ...setup,
    reconcile: (request) => {
      const tally: ReconcileTally = { controller: setup.name, writes: 0, requests: 0 };
      tallies.push(tally);
      return context.run(tally, () => reconcile(request));
    },
  };
}

/** Stand-in for ansible-playbook (--runner stub): succeeds at once, runs nothing. */
function stubRunner(real: AnsibleRunner): AnsibleRunner {
  const stub = Object.create(real) as AnsibleRunner;
  stub.run = async (req: AnsibleRunRequest): Promise<AnsibleRunResult> => ({
    playbook: req.playbook,
    result: 'success',
    hosts: {},
    changed: false,
    exitCode: 0,
    durationMs: 0,
    logFile: '',
    startedAt: new Date().toISOString(),
  });
  return stub;
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'orion-kube-bench-'));
  const log = (text: string) => process.stdout.write(`${text}\n`);
  log(`setting up: kube-apiserver + etcd, ${WORKERS} sshd workers, runner=${args.runner}; load average ${loadAverage()}`);
  const kube = await startKube();
  const key = await generateClientKeyPair(join(root, 'key'));
  const dataPlane = new LocalDataPlane({ dir: join(root, 'dp'), basePort: Number(args['base-port']), count: WORKERS, authorizedKeys: [key.publicKey] });
  let store: KubeStore | undefined;
  let manager: Manager | undefined;
  try {
    await dataPlane.start();
    const must = async (argv: string[], input?: string) => {
      const r = await kube.kubectl(argv, { input });
      if (r.exitCode !== 0) throw new Error(`kubectl ${argv.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    await must(['apply', '-f', join(import.meta.dirname, '..', 'crds')]);
    await must(['wait', '--for=condition=Established', 'crd', '--all']);
    await must(['create', 'namespace', NS]);
    await must(['create', '-n', NS, '-f', '-'], stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'key' }, stringData: { privateKey: key.privateKey } }));

    const playbooks = join(root, 'playbooks');
    await mkdir(playbooks);
    const noopPlaybook = '- name: Benchmark stand-in (does nothing)\n  hosts: all\n  gather_facts: false\n  tasks: []\n';
    await writeFile(join(playbooks, 'create_user.yml'), noopPlaybook);
    await writeFile(join(playbooks, 'delete_user.yml'), noopPlaybook);
    const real = new AnsibleRunner({ playbookDirs: [playbooks], runsDir: join(root, 'runs') });
    const runner = args.runner === 'stub' ? stubRunner(real) : real;

    store = new KubeStore({ kubeconfig: kube.kubeconfig, namespace: NS });
    store.client.observe((info) => {
      const tally = context.getStore();
      if (!tally) return;
      tally.requests += 1;
      if (WRITE_VERBS.has(info.verb)) tally.writes += 1;
    });
    let allRequests = 0;
    let allWrites = 0;
    const writesByResource: Record<string, number> = {};
    store.client.observe((info) => {
      allRequests += 1;
      if (!WRITE_VERBS.has(info.verb)) return;
      allWrites += 1;
      const key = `${info.verb} ${info.resource}`;
      writesByResource[key] = (writesByResource[key] ?? 0) + 1;
    });
    manager = registerControllers(
      new Manager(store),
      { store, ansible: runner },
      { nodeConcurrency: 32, rentalConcurrency: Number(args['rental-concurrency']) },
      { only: ['node', 'node-cleanup', 'rental'], wrap: counted },
    );
    await manager.start();

    const ports = dataPlane.workers.map((w) => w.port);
    const nodes = Array.from({ length: NODES }, (_, i) => ({
      apiVersion: 'orion.lab/v1alpha1',
      kind: 'Node',
      metadata: { name: `n${i}`, labels: { pool: 'bench' } },
      spec: { address: '127.0.0.1', port: ports[i % ports.length], secretRef: { name: 'key' }, probe: { intervalSeconds: 30, timeoutSeconds: 10, failureThreshold: 3, successThreshold: 1 } },
    }));
    const rentals = Array.from({ length: RENTALS }, (_, i) => ({
      apiVersion: 'orion.lab/v1alpha1',
      kind: 'Rental',
      metadata: { name: `r${i}` },
      spec: { user: `u${i}`, sshPublicKeys: [key.publicKey], nodeSelector: { matchLabels: { pool: 'bench' } } },
    }));

    const t0 = Date.now();
    const cpu0 = process.cpuUsage();
    // kubectl throttles itself per process: several processes in parallel, each with a slice.
    const slices = (docs: object[], n: number) => Array.from({ length: n }, (_, i) => docs.filter((_, j) => j % n === i));
    await Promise.all([...slices(nodes, 6), ...slices(rentals, 6)].map((docs) =>
      must(['create', '-n', NS, '-f', '-'], docs.map((d) => stringify(d)).join('---\n'))));
    const created = Date.now() - t0;
    const createdLoad = loadAverage();
    log(`kubectl create of ${NODES} Nodes and ${RENTALS} Rentals: ${(created / 1000).toFixed(1)} s (load average ${createdLoad})`);

    let nodesAliveAt = 0;
    let peakRss = 0;
    for (;;) {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      const alive = store.list<NodeResource>('Node').filter((n) => n.status?.health === 'Alive').length;
      const ready = store.list<RentalResource>('Rental').filter((r) => r.status?.phase === 'Ready').length;
      if (!nodesAliveAt && alive === NODES) nodesAliveAt = Date.now();
      if (alive === NODES && ready === RENTALS) break;
      if (Date.now() - t0 > Number(args['max-minutes']) * 60_000) throw new Error(`gave up after ${args['max-minutes']} min: ${alive} Alive, ${ready} Ready`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const allReady = Date.now() - t0;
    const readyLoad = loadAverage();
    const rampCpu = process.cpuUsage(cpu0);
    const processes = await metricSum(ansibleRunSeconds, 'orion_ansible_run_seconds_count');
    const runs = await metricSum(ansibleRunsTotal);
    const rampTallies = tallies.splice(0);
    const rampRequests = allRequests;
    const rampWrites = allWrites;

    // Steady state: nothing changes; reconciles go on (probes every 30 s, requeues) and should write nothing.
    const steadyMs = Number(args['steady-seconds']) * 1000;
    await new Promise((r) => setTimeout(r, steadyMs));
    const steadyTallies = tallies.splice(0);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);

    const changing = rampTallies.filter((t) => t.writes > 0);
    const noop = [...rampTallies, ...steadyTallies].filter((t) => t.writes === 0);
    const steadyWrites = steadyTallies.reduce((s, t) => s + t.writes, 0);
    const byController = (list: ReconcileTally[]) => {
      const out: Record<string, string> = {};
      for (const name of new Set(list.map((t) => t.controller))) {
        const mine = list.filter((t) => t.controller === name);
        out[name] = `${mine.length} reconciles, ${(mine.reduce((s, t) => s + t.writes, 0) / mine.length).toFixed(2)} writes each`;
      }
      return out;
    };

    log('');
    log(`== Kubernetes mode, ${NODES} Nodes on ${WORKERS} sshd workers, ${RENTALS} Rentals ==`);
    log(`create_user/delete_user: ${args.runner === 'stub' ? 'in-process stub runner (no process runs)' : 'real ansible-playbook with a playbook that does nothing (--playbook-dir)'}`);
    log(`all Nodes Alive:          ${((nodesAliveAt - t0) / 1000).toFixed(1)} s after the first kubectl create`);
    log(`all Rentals Ready:        ${(allReady / 1000).toFixed(1)} s after the first kubectl create (the goal: 60 s)`);
    log(`                          ${((allReady - created) / 1000).toFixed(1)} s after the last kubectl create returned (kubectl create itself took ${(created / 1000).toFixed(1)} s)`);
    log(`rental concurrency:       ${args['rental-concurrency']}; load average when created ${createdLoad}, when all Ready ${readyLoad}, 2 cores`);
    if (args.runner !== 'stub') log(`ansible-playbook:         ${processes} processes for ${runs} runs until Ready (${(runs / Math.max(1, processes)).toFixed(1)} hosts per process)`);
    log(`Orion CPU until Ready:    ${((rampCpu.user + rampCpu.system) / 1e6).toFixed(1)} s (this process; the machine had ${((2 * allReady) / 1000).toFixed(0)} core-seconds)`);
    log(`API requests until Ready: ${rampRequests} (${rampWrites} writes: status, finalizers, Events)`);
    log(`  writes by kind:         ${JSON.stringify(writesByResource)}`);
    log(`reconciles that wrote:    ${changing.length}; writes per such reconcile: mean ${(changing.reduce((s, t) => s + t.writes, 0) / Math.max(1, changing.length)).toFixed(2)}, max ${Math.max(0, ...changing.map((t) => t.writes))}`);
    log(`  by controller:          ${JSON.stringify(byController(changing))}`);
    log(`reconciles that wrote nothing: ${noop.length} (writes: 0 by definition; reads come from the cache)`);
    log(`steady state ${steadyMs / 1000} s:       ${steadyTallies.length} reconciles, ${steadyWrites} writes (${(steadyWrites / Math.max(1, steadyTallies.length)).toFixed(3)} per reconcile)`);
    log(`  by controller:          ${JSON.stringify(byController(steadyTallies))}`);
    log(`operator RSS:             ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB now, ${(peakRss / 2 ** 20).toFixed(0)} MiB peak (Orion in the bench process)`);
  } finally {
    await manager?.stop().catch(() => undefined);
    await dataPlane.stopAll().catch(() => undefined);
    await kube.stop().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}

/** The sum of a prom-client metric's values (optionally of one sample name, e.g. a histogram's _count). */
async function metricSum(metric: { get(): Promise<{ values: Array<{ value: number; metricName?: string }> }> }, name?: string): Promise<number> {
  const { values } = await metric.get();
  return values.filter((v) => name === undefined || v.metricName === name).reduce((sum, v) => sum + v.value, 0);
}

function loadAverage(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
