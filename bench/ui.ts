// The web app's benchmark: Orion as `orion run --dir` starts it, 1,000 Nodes (sharing a few real sshd workers) and
// 1,000 Rentals bound to them, the built app in Debian's Chromium (headless, playwright-core). Prints figures beside
// the goals; asserts nothing.
//
//   npx tsx bench/ui.ts [--nodes 1000] [--workers 8] [--loads 5] [--keys 40] [--probe-interval 10]
//
//   fleet view usable      navigation to /fleet → every Node's row in the table (the page's own performance.now())
//   JS/CSS size            gzipped: what the first page loads, and everything (the consoles' chunks too)
//   update after a death   a Node's status write saying Dead (seen in Orion's store) → the fleet's "dead" count
//                          counting it in the browser (MutationObserver, wall clocks of one machine), p50/p95 over
//                          the Nodes of a killed worker
//   keystroke echo         a key pressed in the rental's terminal (keydown in the page) → the echoed character
//                          drawn in xterm's rows, through Orion's websocket (served by its console process, ADR
//                          26), ssh2 and a real sshd; split into the wire (the page's websocket frame out → the
//                          first frame back: Orion, ssh2, sshd) and the page (xterm: key → frame, frame → drawn,
//                          which waits for the browser's next frame); right after, the bare tool on the same
//                          loaded machine: OpenSSH's `ssh -tt` to the same node, a byte written → its echo read
//
// The Nodes are probed every --probe-interval seconds (10 by default, an interval an admin of 1,000 machines might
// choose): 1,000 Nodes at 2 s are 500 SSH handshakes a second, which saturates this machine's two cores by itself
// (every worker is an sshd here) and measures the host, not Orion.
//
// The Rentals' create/delete playbooks are trivial (a real ansible-playbook with no tasks) except the one whose
// terminal is measured, which gets the real create_user.
import './quiet-logs.js';
import { execFile } from 'node:child_process';
import { readdir, readFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { stringify } from 'yaml';
import type { NodeResource, RentalResource } from '../src/api/types.js';
import { packageRoot } from '../src/base/package-root.js';
import { startOrion, type RunningOrion } from '../src/cli/run.js';
import { generateClientKeyPair, LocalDataPlane } from '../src/dataplane/workers.js';
import { TokenStore, tokensFile } from '../src/server/auth/tokens.js';
import { ensureWebApp, launchChromium, newContext, type TestBrowser } from '../test/harness/browser.js';
import { fmt, percentile, until } from './support.js';

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    workers: { type: 'string', default: '8' },
    'base-port': { type: 'string', default: '24800' },
    loads: { type: 'string', default: '5' },
    keys: { type: 'string', default: '40' },
    'probe-interval': { type: 'string', default: '10' },
  },
});
const NODES = Number(args.nodes);
const WORKERS = Number(args.workers);
const run = promisify(execFile);
const PROBE_INTERVAL_S = Number(args['probe-interval']);
const say = (text: string): void => void process.stdout.write(`${text}\n`);
const NOOP = '- name: Benchmark stand-in (does nothing)\n  hosts: all\n  gather_facts: false\n  tasks: []\n';

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'orion-ui-bench-'));
  const key = await generateClientKeyPair(join(root, 'key'));
  // One more worker than the fleet's: the terminal's own node, with a real create_user.
  const plane = new LocalDataPlane({ dir: join(root, 'plane'), basePort: Number(args['base-port']), count: WORKERS + 1, authorizedKeys: [key.publicKey] });
  let orion: RunningOrion | undefined;
  let chrome: TestBrowser | undefined;
  try {
    await ensureWebApp();
    say(`setting up: ${WORKERS} sshd workers for ${NODES} Nodes and ${NODES} Rentals, one more for the terminal; probes every ${PROBE_INTERVAL_S} s (${fmt(NODES / PROBE_INTERVAL_S, 0)} SSH handshakes a second)`);
    await plane.start();
    const manifests = await writeFleet(root, key.privateKey, key.publicKey, plane);
    const playbooks = join(root, 'playbooks');
    await mkdir(playbooks);
    await writeFile(join(playbooks, 'bench_create.yml'), NOOP);
    await writeFile(join(playbooks, 'bench_delete.yml'), NOOP);
    orion = await startOrion({ dir: manifests, state: join(root, 'state'), listen: '127.0.0.1:0', playbookDirs: [playbooks], nodeConcurrency: 64, rentalConcurrency: 32 });
    const url = `http://127.0.0.1:${(orion.server.address() as AddressInfo).port}`;
    const store = orion.store;
    const started = Date.now();
    await until('every Rental Ready', () => store.list<RentalResource>('Rental').filter((r) => r.status?.phase === 'Ready').length === NODES + 1, 30 * 60_000, 500);
    say(`${NODES + 1} Rentals Ready in ${fmt((Date.now() - started) / 1000)} s`);
    const tokens = new TokenStore(tokensFile(join(root, 'state')));
    const admin = (await tokens.create('admin', { admin: true })).token;
    const dana = (await tokens.create('dana')).token;
    chrome = await launchChromium();
    await bundleSizes();
    const page = await loggedIn(chrome, url, admin);
    await fleetLoads(page, url);
    // The echo first, on the steady fleet: after a worker's death its 125 tenants move, and when it is back, its
    // cleanup runs delete_user for each of them — a burst of Ansible runs that would be measured instead.
    const terminal = store.list<RentalResource>('Rental').find((r) => r.spec.user === 'dana') as RentalResource;
    await keystrokeEcho(await loggedIn(chrome, url, dana), url, terminal, { port: plane.workers[WORKERS]?.port as number, keyFile: key.privateKeyPath });
    await updateAfterDeath(page, orion, plane);
  } finally {
    await chrome?.close();
    await orion?.stop();
    await plane.stopAll().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}

async function writeFleet(root: string, privateKey: string, publicKey: string, plane: LocalDataPlane): Promise<string> {
  const manifests = join(root, 'manifests');
  await mkdir(manifests);
  const ports = plane.workers.map((w) => w.port);
  const probe = { intervalSeconds: PROBE_INTERVAL_S, timeoutSeconds: 10, failureThreshold: 2, successThreshold: 1 };
  const nodes = Array.from({ length: NODES }, (_, i) => ({
    apiVersion: 'orion.lab/v1alpha1', kind: 'Node', metadata: { name: `n${i}`, labels: { pool: 'bench' } },
    spec: { address: '127.0.0.1', port: ports[i % WORKERS], secretRef: { name: 'key' }, probe },
  }));
  nodes.push({ apiVersion: 'orion.lab/v1alpha1', kind: 'Node', metadata: { name: 'term', labels: { pool: 'term' } }, spec: { address: '127.0.0.1', port: ports[WORKERS], secretRef: { name: 'key' }, probe } });
  const rentals = Array.from({ length: NODES }, (_, i) => ({
    apiVersion: 'orion.lab/v1alpha1', kind: 'Rental', metadata: { name: `r${i}`, annotations: { 'orion.lab/owner': `u${i}` } },
    spec: { user: `u${i}`, sshPublicKeys: [publicKey], className: 'bench' },
  }));
  // The admin's classes: the bench's trivial playbooks on the bench pool, and the default (Orion's own playbooks) for dana.
  const classes = [
    { apiVersion: 'orion.lab/v1alpha1', kind: 'RentalClass', metadata: { name: 'bench' }, spec: { playbooks: { create: 'bench_create', delete: 'bench_delete' }, nodeSelector: { matchLabels: { pool: 'bench' } } } },
    { apiVersion: 'orion.lab/v1alpha1', kind: 'RentalClass', metadata: { name: 'standard', annotations: { 'orion.lab/default-class': 'true' } }, spec: {} },
  ];
  const terminal = { apiVersion: 'orion.lab/v1alpha1', kind: 'Rental', metadata: { name: 'dana', annotations: { 'orion.lab/owner': 'dana' }, labels: { 'orion.lab/owner': 'dana' } }, spec: { user: 'dana', sshPublicKeys: [publicKey], nodeSelector: { matchLabels: { pool: 'term' } } } };
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'key' }, stringData: { privateKey } };
  await writeFile(join(manifests, 'fleet.yaml'), [secret, ...classes, ...nodes, ...rentals, terminal].map((d) => stringify(d)).join('---\n'));
  return manifests;
}

async function loggedIn(chrome: TestBrowser, url: string, token: string): Promise<Page> {
  const page = await (await newContext(chrome.browser)).newPage();
  await page.goto(url);
  await page.getByLabel(/token/i).fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('main').waitFor();
  return page;
}

async function bundleSizes(): Promise<void> {
  const dir = join(packageRoot(), 'dist', 'ui');
  const index = await readFile(join(dir, 'index.html'), 'utf8');
  const first = [...index.matchAll(/(?:src|href)="\/?(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1] as string);
  const gz = async (file: string): Promise<number> => gzipSync(await readFile(join(dir, file))).length;
  const firstBytes = (await Promise.all(first.map(gz))).reduce((a, b) => a + b, 0) + gzipSync(index).length;
  const all = (await readdir(join(dir, 'assets'))).filter((f) => /\.(js|css)$/.test(f)).map((f) => `assets/${f}`);
  const allBytes = (await Promise.all(all.map(gz))).reduce((a, b) => a + b, 0);
  say(`JS/CSS gzipped: first page ${fmt(firstBytes / 1024)} kB (${first.length} files + index.html); everything ${fmt(allBytes / 1024)} kB (${all.length} files, the consoles loaded on demand)   goal ≤ 300 kB`);
}

async function fleetLoads(page: Page, url: string): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < Number(args.loads); i++) {
    await page.goto(`${url}/rentals`);
    await page.locator('main h1').waitFor();
    const t0 = Date.now();
    await page.goto(`${url}/fleet`);
    // Usable: the table knows all its rows (the ones near the screen are drawn) and the first is there.
    await page.waitForFunction((n) => document.querySelector('table.fleet')?.getAttribute('aria-rowcount') === String(n) && document.querySelector('table.fleet tbody tr[data-node]') !== null, NODES + 2, { timeout: 60_000, polling: 'raf' });
    // navigationStart → the table's last row, by the page's own clock; and when the list had arrived (SYNCED)
    const [usable, synced] = await page.evaluate(() => [performance.now(), performance.getEntriesByName('orion-watch-synced')[0]?.startTime ?? NaN]);
    times.push(usable as number);
    say(`  load ${i + 1}: ${fmt(usable as number, 0)} ms in the page (list synced at ${fmt(synced as number, 0)} ms; ${Date.now() - t0} ms from the test's goto)`);
  }
  say(`fleet view usable (navigation → a table of ${NODES + 1} Nodes, the first screenful drawn): median ${fmt(percentile(times, 50), 0)} ms, p95 ${fmt(percentile(times, 95), 0)} ms   goal ≤ 1500 ms`);
}

async function updateAfterDeath(page: Page, orion: RunningOrion, plane: LocalDataPlane): Promise<void> {
  // Most rows of the dying Nodes are off screen (not drawn): the capacity summary's "dead" count is what changes on
  // screen for each of them. The k-th Dead status write is matched with the moment the count first showed k.
  await page.evaluate(() => {
    const shown: number[] = [];
    (window as unknown as { deadShown: number[] }).deadShown = shown;
    const value = document.querySelector('[data-stat=dead] .value') as HTMLElement;
    new MutationObserver(() => {
      const n = Number(value.textContent);
      while (shown.length < n) shown.push(Date.now());
    }).observe(value, { subtree: true, childList: true, characterData: true });
  });
  const written: number[] = [];
  const dead = new Set<string>();
  const off = orion.store.watch('Node', (e) => {
    const node = e.object as NodeResource;
    if (node.status?.health === 'Dead' && !dead.has(node.metadata.name)) {
      dead.add(node.metadata.name);
      written.push(Date.now());
    }
  });
  const victim = plane.workers[0];
  const victims = orion.store.list<NodeResource>('Node').filter((n) => n.spec.port === victim?.port).length;
  await victim?.kill();
  const deadline = Date.now() + 120_000;
  let shown: number[] = [];
  while (Date.now() < deadline) {
    shown = await page.evaluate(() => (window as unknown as { deadShown: number[] }).deadShown);
    if (shown.length >= victims) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  off();
  const delays = written.slice(0, shown.length).map((at, k) => (shown[k] as number) - at);
  say(`update on screen after a Node's Dead status write (${delays.length} of ${victims} Nodes): p50 ${fmt(percentile(delays, 50), 0)} ms, p95 ${fmt(percentile(delays, 95), 0)} ms, max ${fmt(Math.max(...delays), 0)} ms   goal p95 ≤ 500 ms`);
  await victim?.start();
}

interface BareNode {
  port: number;
  keyFile: string;
}

async function keystrokeEcho(page: Page, url: string, rental: RentalResource, bare: BareNode): Promise<void> {
  // The page's websocket frames, timed: where a key's round trip goes (the browser, or Orion and the node).
  await page.addInitScript(() => {
    const w = window as unknown as { wsSent: number[]; wsReceived: number[] };
    w.wsSent = [];
    w.wsReceived = [];
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (this: WebSocket, data: Parameters<WebSocket['send']>[0]) {
      w.wsSent.push(performance.now());
      send.call(this, data);
    };
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(...a: ConstructorParameters<typeof WebSocket>) {
        super(...a);
        this.addEventListener('message', () => w.wsReceived.push(performance.now()));
      }
    };
  });
  await page.goto(`${url}/console/rentals/${rental.metadata.namespace}/${rental.metadata.name}`);
  await page.getByText('Connected.').waitFor({ timeout: 30_000 });
  await page.locator('.xterm-helper-textarea').focus();
  await page.keyboard.type('clear\n');
  await new Promise((r) => setTimeout(r, 500));
  await page.evaluate(() => {
    const w = window as unknown as { keys: Array<{ down: number; drawn: number }>; t0?: number; typed: string };
    w.keys = [];
    w.typed = '';
    const rows = document.querySelector('.xterm-rows') as HTMLElement;
    document.addEventListener('keydown', (e) => {
      w.t0 = performance.now();
      w.typed += e.key;
    }, true);
    // Only the echo counts: the cursor's blinking changes the rows too, without the typed text in them.
    new MutationObserver(() => {
      if (w.t0 === undefined || !(rows.textContent ?? '').includes(w.typed)) return;
      w.keys.push({ down: w.t0, drawn: performance.now() });
      w.t0 = undefined;
    }).observe(rows, { subtree: true, childList: true, characterData: true });
  });
  const keys = Number(args.keys);
  // Orion runs in this process (its terminals in its console process): how late its event loop ran meanwhile.
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  for (let i = 0; i < keys; i++) {
    await page.keyboard.press('abcdefghij'[i % 10] as string);
    await new Promise((r) => setTimeout(r, 60));
  }
  loop.disable();
  const seen = await page.evaluate(() => {
    const w = window as unknown as { keys: Array<{ down: number; drawn: number }>; wsSent: number[]; wsReceived: number[] };
    return { keys: w.keys, wsSent: w.wsSent, wsReceived: w.wsReceived };
  });
  const echo = seen.keys.map((k) => k.drawn - k.down);
  // Per key: keydown → its frame sent → the first frame back → drawn.
  const legs = seen.keys.map((k) => {
    const sent = seen.wsSent.find((t) => t >= k.down) ?? NaN;
    const back = seen.wsReceived.find((t) => t >= sent) ?? NaN;
    return { page: sent - k.down + (k.drawn - back), wire: back - sent };
  });
  const bareEcho = await sshEcho(bare, keys);
  const p = (values: number[], q: number): string => fmt(percentile(values.filter(Number.isFinite), q));
  say(`keystroke echo in the terminal (${echo.length} of ${keys} keys): p50 ${p(echo, 50)} ms, p95 ${p(echo, 95)} ms   goal p95 ≤ 50 ms`);
  say(`  of which websocket frame out → frame back (Orion, ssh2, sshd): p50 ${p(legs.map((l) => l.wire), 50)} ms, p95 ${p(legs.map((l) => l.wire), 95)} ms; ` +
    `in the page (xterm: key → frame, frame → drawn): p50 ${p(legs.map((l) => l.page), 50)} ms, p95 ${p(legs.map((l) => l.page), 95)} ms`);
  say(`  bare ssh -tt to the same node (${bareEcho.length} of ${keys} keys): p50 ${p(bareEcho, 50)} ms, p95 ${p(bareEcho, 95)} ms`);
  say(`  Orion's event loop meanwhile: delay p50 ${fmt(loop.percentile(50) / 1e6)} ms, p99 ${fmt(loop.percentile(99) / 1e6)} ms, max ${fmt(loop.max / 1e6)} ms`);
}

/**
 * OpenSSH's own round trip on the rental's node, timed by a process of its own (bench/ssh-echo.ts): this one runs
 * Orion, whose event loop must not slow the bare tool's figure.
 */
async function sshEcho(node: BareNode, keys: number): Promise<number[]> {
  const script = join(packageRoot(), 'bench', 'ssh-echo.ts');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', script, String(node.port), node.keyFile, 'dana', String(keys)], { timeout: 120_000 });
  return JSON.parse(stdout) as number[];
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
