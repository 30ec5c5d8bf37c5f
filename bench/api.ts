// The portal's benchmark, folder mode: 1,000 Nodes (sharing a few real sshd workers, as bench/kube-scale.ts does)
// and Orion started as `orion run --dir` starts it, driven over real HTTP on loopback. Prints figures beside the
// goals; asserts nothing.
//
//   npx tsx bench/api.ts [--nodes 1000] [--workers 8] [--rents 30] [--refusals 100] [--lists 100] [--lines 200]
//
//   decision of POST /api/rent   request sent → a Node's allocation names the new Rental (seen in Orion's store), or
//                                the 503 arrives (the refusals: a full pool of 10 nodes, by nodeSelector)
//   whole rent                   request sent → 200 with host, port, user (Rental Ready: create_user has run)
//   overhead beyond create_user  whole rent − the create_user run's own duration (status.lastRun.durationMs)
//   GET lists                    /api/v1/nodes (1,000 items, admin) and /api/v1/rentals (a tenant's)
//   SSE delivery                 a line appended to a run's log → the same line read by an SSE client of
//                                /api/v1/runs/{id}/log?follow=true
//   200 concurrent rents on 50   bookings, 503s, double bookings
import './quiet-logs.js';
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import type { NodeResource, RentalResource } from '../src/api/types.js';
import { startOrion, type RunningOrion } from '../src/cli/run.js';
import { generateClientKeyPair, LocalDataPlane } from '../src/dataplane/workers.js';
import { recordRunEnd, recordRunStart, runLogName } from '../src/exec/run-logs.js';
import { TokenStore, tokensFile } from '../src/server/auth/tokens.js';
import { fmt, percentile, until } from './support.js';

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    workers: { type: 'string', default: '8' },
    'base-port': { type: 'string', default: '24600' },
    rents: { type: 'string', default: '30' },
    refusals: { type: 'string', default: '100' },
    lists: { type: 'string', default: '100' },
    lines: { type: 'string', default: '200' },
  },
});
const NODES = Number(args.nodes);
const SMALL = 10;
const FIFTY = 50;

interface Bench {
  orion: RunningOrion;
  url: string;
  tokens: TokenStore;
  publicKey: string;
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'orion-api-bench-'));
  const say = (text: string) => process.stdout.write(`${text}\n`);
  const key = await generateClientKeyPair(join(root, 'key'));
  const plane = new LocalDataPlane({ dir: join(root, 'plane'), basePort: Number(args['base-port']), count: Number(args.workers), authorizedKeys: [key.publicKey] });
  let orion: RunningOrion | undefined;
  try {
    say(`setting up: ${args.workers} sshd workers, ${NODES} Nodes (pools: ${SMALL} "small", ${FIFTY} "fifty", the rest "big")`);
    await plane.start();
    const manifests = join(root, 'manifests');
    await mkdir(manifests);
    await writeFile(join(manifests, 'key.yaml'), stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'key' }, stringData: { privateKey: key.privateKey } }));
    const ports = plane.workers.map((w) => w.port);
    const nodes = Array.from({ length: NODES }, (_, i) => ({
      apiVersion: 'orion.lab/v1alpha1',
      kind: 'Node',
      metadata: { name: `n${i}`, labels: { pool: i < SMALL ? 'small' : i < SMALL + FIFTY ? 'fifty' : 'big' } },
      spec: { address: '127.0.0.1', port: ports[i % ports.length], secretRef: { name: 'key' }, probe: { intervalSeconds: 60, timeoutSeconds: 10, failureThreshold: 3, successThreshold: 1 } },
    }));
    await writeFile(join(manifests, 'nodes.yaml'), nodes.map((n) => stringify(n)).join('---\n'));
    orion = await startOrion({
      dir: manifests,
      state: join(root, 'state'),
      listen: '127.0.0.1:0',
      nodeConcurrency: 64,
      rentalConcurrency: 64,
      portal: { ratePerMinute: 10_000_000, rentWaitSeconds: 300 },
    });
    const bench: Bench = { orion, url: `http://127.0.0.1:${(orion.server.address() as AddressInfo).port}`, tokens: new TokenStore(tokensFile(join(root, 'state'))), publicKey: key.publicKey };
    const store = orion.store;
    await until(`${NODES} Nodes Alive`, () => store.list<NodeResource>('Node').filter((n) => n.status?.health === 'Alive').length === NODES, 600_000, 200);
    say('all Nodes Alive; measuring\n');
    await measure(bench, say);
  } finally {
    await orion?.stop().catch(() => undefined);
    await plane.stopAll().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}

async function measure(bench: Bench, say: (text: string) => void): Promise<void> {
  const admin = (await bench.tokens.create('ops', { admin: true })).token;
  const sequential = await sequentialRents(bench, Number(args.rents));
  const refusals = await refusalTimes(bench, Number(args.refusals));
  const lists = await listTimes(bench, admin, Number(args.lists));
  const sse = await sseDelivery(bench, admin, Number(args.lines));
  const burst = await concurrentRents(bench, 200);

  say(`== Portal, folder mode, ${NODES} Nodes on ${args.workers} sshd workers (2 cores) ==`);
  say('                                              p50        p95        goal');
  const row = (label: string, values: number[], goal = '') =>
    say(`${label.padEnd(44)}  ${fmt(percentile(values, 50)).padStart(7)} ms ${fmt(percentile(values, 95)).padStart(7)} ms   ${goal}`);
  row(`rent decision, node claimed (${sequential.decision.length})`, sequential.decision);
  row(`rent decision, 503 (${refusals.length})`, refusals, '503 ≤ 50 ms p95');
  row(`whole rent until Ready (${sequential.whole.length})`, sequential.whole);
  row('  of which create_user ran', sequential.createUser);
  row('  overhead beyond create_user', sequential.overhead, '≤ 300 ms p95');
  row(`GET /api/v1/nodes, ${NODES} items, admin (${lists.nodes.length})`, lists.nodes);
  row(`GET /api/v1/rentals, a tenant's (${lists.rentals.length})`, lists.rentals);
  row(`SSE: log line written → client (${sse.length})`, sse, '≤ 100 ms p95');
  say('');
  say(`200 concurrent rents on ${FIFTY} nodes: ${burst.booked} booked, ${burst.refused} answered 503, ${burst.other} other, ${burst.doubles} double bookings (must be 0); ${fmt(burst.seconds)} s`);
}

/** One tenant per rent, one after the other, on the big pool: the decision, the whole rent and create_user's share. */
async function sequentialRents(bench: Bench, count: number) {
  const decision: number[] = [];
  const whole: number[] = [];
  const createUser: number[] = [];
  const overhead: number[] = [];
  for (let i = 0; i < count; i++) {
    const name = `seq${i}`;
    const token = (await bench.tokens.create(name)).token;
    let claimedAt = 0;
    const start = performance.now();
    const off = bench.orion.store.watch('Node', (event) => {
      const holder = (event.object as NodeResource).status?.allocation?.rental;
      if (!claimedAt && holder && bench.orion.store.get<RentalResource>({ kind: 'Rental', namespace: 'default', name: holder.split('/')[1] ?? '' })?.metadata.annotations?.['orion.lab/owner'] === name) {
        claimedAt = performance.now();
      }
    });
    const answer = await rent(bench, token, 'big');
    const done = performance.now();
    off();
    if (answer.status !== 200) throw new Error(`rent ${i} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    const rental = bench.orion.store.get<RentalResource>({ kind: 'Rental', namespace: 'default', name: String(answer.body.name) });
    const ran = rental?.status?.lastRun?.durationMs ?? 0;
    decision.push(claimedAt - start);
    whole.push(done - start);
    createUser.push(ran);
    overhead.push(done - start - ran);
  }
  return { decision, whole, createUser, overhead };
}

/** Fills the small pool, then times rents that must be refused. */
async function refusalTimes(bench: Bench, count: number): Promise<number[]> {
  const fillers = await Promise.all(Array.from({ length: SMALL }, async (_, i) => (await bench.tokens.create(`fill${i}`)).token));
  const filled = await Promise.all(fillers.map((t) => rent(bench, t, 'small')));
  if (filled.some((a) => a.status !== 200)) throw new Error(`filling the small pool: ${filled.map((a) => a.status).join(',')}`);
  const token = (await bench.tokens.create('refused')).token;
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const answer = await rent(bench, token, 'small');
    times.push(performance.now() - start);
    if (answer.status !== 503) throw new Error(`expected 503, got ${answer.status}`);
  }
  return times;
}

async function listTimes(bench: Bench, admin: string, count: number): Promise<{ nodes: number[]; rentals: number[] }> {
  const tenant = (await bench.tokens.create('lister')).token;
  const time = async (token: string, path: string): Promise<number> => {
    const start = performance.now();
    const response = await fetch(bench.url + path, { headers: { authorization: `Bearer ${token}` } });
    await response.arrayBuffer();
    return performance.now() - start;
  };
  const nodes: number[] = [];
  const rentals: number[] = [];
  for (let i = 0; i < count; i++) nodes.push(await time(admin, '/api/v1/nodes'));
  for (let i = 0; i < count; i++) rentals.push(await time(tenant, '/api/v1/rentals'));
  return { nodes, rentals };
}

/** Appends lines to a run log (as a runner does) and times each until an SSE client has it. */
async function sseDelivery(bench: Bench, admin: string, count: number): Promise<number[]> {
  const started = new Date();
  const dir = join(bench.orion.store.state.root, 'runs', 'Node', 'default', 'n0');
  await mkdir(dir, { recursive: true });
  const log = join(dir, runLogName(started, 'bench'));
  await recordRunStart(log, started);
  await writeFile(log, '');
  const id = `node.default.n0.${runLogName(started, 'bench').slice(0, -'.log'.length)}`;
  const written = new Map<string, number>();
  const delays: number[] = [];
  const response = await fetch(`${bench.url}/api/v1/runs/${id}/log?follow=true`, { headers: { authorization: `Bearer ${admin}` } });
  if (!response.body) throw new Error('no stream');
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      const now = performance.now();
      buffer += decoder.decode(chunk, { stream: true });
      for (const match of buffer.matchAll(/data: (line \d+)\n/g)) {
        const at = written.get(match[1] as string);
        if (at !== undefined) delays.push(now - at);
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n\n') + 2);
      if (buffer.includes('event: end') || delays.length >= count) break;
    }
  })();
  await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; i < count; i++) {
    written.set(`line ${i}`, performance.now());
    await appendFile(log, `line ${i}\n`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await recordRunEnd(log, { ok: true, result: 'success' });
  await reading;
  return delays;
}

async function concurrentRents(bench: Bench, count: number) {
  const tokens = await Promise.all(Array.from({ length: count }, async (_, i) => (await bench.tokens.create(`burst${i}`)).token));
  const start = performance.now();
  const answers = await Promise.all(tokens.map((t) => rent(bench, t, 'fifty')));
  const seconds = (performance.now() - start) / 1000;
  const booked = answers.filter((a) => a.status === 200);
  const nodesBooked = booked.map((a) => String(a.body.node));
  const allocations = bench.orion.store.list<NodeResource>('Node').filter((n) => n.metadata.labels?.pool === 'fifty' && n.status?.allocation).length;
  const doubles = nodesBooked.length - new Set(nodesBooked).size + Math.max(0, booked.length - allocations);
  return { booked: booked.length, refused: answers.filter((a) => a.status === 503).length, other: answers.filter((a) => a.status !== 200 && a.status !== 503).length, doubles, seconds };
}

async function rent(bench: Bench, token: string, pool: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${bench.url}/api/rent`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sshPublicKeys: [bench.publicKey], nodeSelector: { matchLabels: { pool } } }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
