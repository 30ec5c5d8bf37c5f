// Benchmark: probe 500 Nodes (pointing at a handful of real sshd workers) in one sweep through Orion's
// Node controller, side by side with the bare ssh2 probe loop at the same concurrency; then the time to
// load 5,000 manifests in folder mode. Run: npx tsx bench/probe.ts [nodes] [workers] [concurrency]
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import type { NodeResource } from '../src/api/types.js';
import { assembleFolderOrion } from '../src/cli/run.js';
import { generateClientKeyPair, LocalDataPlane } from '../src/dataplane/workers.js';
import { probeNode, type ProbeTarget } from '../src/exec/ssh.js';
import { FolderStore } from '../src/folder/store.js';
import { cpuSeconds, fmt, line, percentile, rssMiB, until } from './support.js';

const NODES = Number(process.argv[2] ?? 500);
const WORKERS = Number(process.argv[3] ?? 5);
const CONCURRENCY = Number(process.argv[4] ?? 64);
const BASE_PORT = 22900;

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'orion-bench-probe-'));
  const key = await generateClientKeyPair(join(root, 'keys'));
  const plane = new LocalDataPlane({ dir: join(root, 'plane'), basePort: BASE_PORT, count: WORKERS, authorizedKeys: [key.publicKey] });
  await plane.start();
  try {
    line('machine', `${(await import('node:os')).cpus().length} cores; ${NODES} nodes on ${WORKERS} sshd workers; concurrency ${CONCURRENCY}`);
    const bare = await bareSweep(key.privateKey);
    const orion = await orionSweep(root, key.privateKey);
    line('bare ssh2 sweep (s)', fmt(bare.seconds, 2));
    line('orion sweep (s)', `${fmt(orion.seconds, 2)}  (goal < 5 s; ${fmt(orion.seconds / bare.seconds, 2)}x the bare loop)`);
    line('orion probes per second', fmt(NODES / orion.seconds, 0));
    line('orion probe latency p50 / p95 (ms)', `${fmt(percentile(orion.latencies, 50))} / ${fmt(percentile(orion.latencies, 95))}`);
    line('bare probe latency p50 / p95 (ms)', `${fmt(percentile(bare.latencies, 50))} / ${fmt(percentile(bare.latencies, 95))}`);
    line('CPU of this process, orion / bare (s)', `${fmt(orion.cpu, 2)} / ${fmt(bare.cpu, 2)}`);
    line('orion RSS after the sweep (MiB)', `${fmt(orion.rss, 0)}  (goal < 200 MB)`);
    const load = await loadManifests(root, 5000);
    line('load 5,000 manifests in folder mode (s)', fmt(load.seconds, 2));
    line('RSS after loading 5,000 manifests (MiB)', fmt(load.rss, 0));
  } finally {
    await plane.stopAll();
    await rm(root, { recursive: true, force: true });
  }
}

function target(i: number, privateKey: string): ProbeTarget {
  return { address: '127.0.0.1', port: BASE_PORT + (i % WORKERS), user: 'root', privateKey, timeoutMs: 10_000 };
}

/** The same probes without Orion: a plain loop with the same concurrency. */
async function bareSweep(privateKey: string): Promise<{ seconds: number; latencies: number[]; cpu: number }> {
  const latencies: number[] = [];
  let next = 0;
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < NODES) {
      const result = await probeNode(target(next++, privateKey));
      if (!result.ok) throw new Error(`bare probe failed: ${result.error}`);
      latencies.push(result.latencyMs);
    }
  }));
  return { seconds: (performance.now() - started) / 1000, latencies, cpu: cpuSeconds(cpuStart) };
}

async function orionSweep(root: string, privateKey: string): Promise<{ seconds: number; latencies: number[]; cpu: number; rss: number }> {
  const dir = join(root, 'nodes');
  await mkdir(dir, { recursive: true });
  const docs = Array.from({ length: NODES }, (_, i) => ({
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'Node',
    metadata: { name: `node-${i}` },
    spec: { address: '127.0.0.1', port: BASE_PORT + (i % WORKERS), secretRef: { name: 'key' }, probe: { intervalSeconds: 300, timeoutSeconds: 10 } },
  }));
  await writeFile(join(dir, 'nodes.yaml'), docs.map((d) => stringify(d)).join('---\n'));
  await writeFile(join(dir, 'key.yaml'), stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'key' }, stringData: { privateKey } }));
  const latencies: number[] = [];
  const probe: typeof probeNode = async (t) => {
    const result = await probeNode(t);
    latencies.push(result.latencyMs);
    return result;
  };
  const { store, manager } = assembleFolderOrion(
    { dir, state: join(root, 'state'), nodeConcurrency: CONCURRENCY, node: { probe } },
    { only: ['node'] },
  );
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  await manager.start(); // includes loading the 500 manifests (a few ms; measured on its own below)
  await until('every node Alive', () => store.list<NodeResource>('Node').filter((n) => n.status?.health === 'Alive').length === NODES, 120_000);
  const seconds = (performance.now() - started) / 1000;
  const result = { seconds, latencies, cpu: cpuSeconds(cpuStart), rss: rssMiB() };
  await manager.stop();
  return result;
}

async function loadManifests(root: string, count: number): Promise<{ seconds: number; rss: number }> {
  const dir = join(root, 'many');
  await mkdir(dir, { recursive: true });
  for (let file = 0; file < count / 100; file++) {
    const docs = Array.from({ length: 100 }, (_, i) => ({
      apiVersion: 'orion.lab/v1alpha1',
      kind: 'Node',
      metadata: { name: `n-${file}-${i}`, labels: { pool: `p${file % 7}` } },
      spec: { address: `host-${file}-${i}.example`, port: 22, secretRef: { name: 'key' } },
    }));
    await writeFile(join(dir, `nodes-${file}.yaml`), docs.map((d) => stringify(d)).join('---\n'));
  }
  const store = new FolderStore({ dir, stateDir: join(root, 'many-state') });
  const started = performance.now();
  await store.start();
  const seconds = (performance.now() - started) / 1000;
  if (store.list('Node').length !== count) throw new Error(`loaded ${store.list('Node').length} of ${count}`);
  const rss = rssMiB();
  await store.stop();
  return { seconds, rss };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
