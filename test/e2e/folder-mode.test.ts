// End to end in folder mode, as a user runs it: `orion run` as its own process on a folder with real
// SSH workers; `orion get` and `orion logs` read its state while it runs; a real Prometheus scrapes
// /metrics and promtool accepts the exposition.
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { generateClientKeyPair, LocalDataPlane } from '../../src/dataplane/workers.js';
import { waitFor } from '../harness/cluster.js';

const CLI = ['--import', 'tsx', join(import.meta.dirname, '..', 'harness', 'orion-cli.ts')];

function orion(args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  return execa(process.execPath, [...CLI, ...args], { reject: false, timeout: 60_000 }).then((r) => ({
    stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1,
  }));
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('folder mode end to end (orion run, get, logs, Prometheus)', () => {
  let root: string;
  let plane: LocalDataPlane;
  let run: ResultPromise;
  let listen: string;
  let prometheus: ResultPromise | undefined;
  const dir = (): string => join(root, 'manifests');

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'orion-e2e-'));
    const key = await generateClientKeyPair(join(root, 'keys'));
    const tenant = await generateClientKeyPair(join(root, 'tenant'));
    plane = new LocalDataPlane({ dir: join(root, 'plane'), basePort: 22700, count: 2, authorizedKeys: [key.publicKey] });
    await plane.start();
    await execa('mkdir', ['-p', dir()]);
    const nodes = plane.workers.map((w) => ({
      apiVersion: 'orion.lab/v1alpha1', kind: 'Node', metadata: { name: w.name, labels: { pool: 'e2e' } },
      spec: { address: '127.0.0.1', port: w.port, secretRef: { name: 'key' }, probe: { intervalSeconds: 1, failureThreshold: 2 } },
    }));
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'key' }, stringData: { privateKey: key.privateKey } };
    const rental = { apiVersion: 'orion.lab/v1alpha1', kind: 'Rental', metadata: { name: 'zoe' }, spec: { user: 'zoe', sshPublicKeys: [tenant.publicKey] } };
    await writeFile(join(dir(), 'inventory.yaml'), [secret, ...nodes].map((d) => stringify(d)).join('---\n'));
    await writeFile(join(dir(), 'zoe.yaml'), stringify(rental));
    await writeFile(join(dir(), 'broken.yaml'), 'apiVersion: orion.lab/v1alpha1\nkind: Node\nmetadata:\n  name: bad\nspec:\n  port: 70000\n');
    listen = `127.0.0.1:${await freePort()}`;
    run = execa(process.execPath, [...CLI, 'run', '--dir', dir(), '--listen', listen], { reject: false, env: { ORION_LOG_FORMAT: 'json' } });
  });

  afterAll(async () => {
    prometheus?.kill('SIGKILL');
    run?.kill('SIGTERM');
    await run?.catch(() => undefined);
    await plane?.stopAll();
    await rm(root, { recursive: true, force: true });
  });

  it('serves /healthz and /readyz once the store has synced', async () => {
    await waitFor('/readyz', async () => (await fetch(`http://${listen}/readyz`).catch(() => undefined))?.status === 200);
    expect((await fetch(`http://${listen}/healthz`)).status).toBe(200);
  });

  it('shows the nodes Alive and the rental Ready in `orion get`, with the invalid file reported', async () => {
    await waitFor('rental Ready in orion get', async () => (await orion(['get', 'rentals', '--dir', dir()])).stdout.includes('Ready'), 90_000);
    const nodes = await orion(['get', 'nodes', '--dir', dir()]);
    expect(nodes.stdout).toMatch(/^NAME\s+PHASE\s+READY\s+ADDRESS\s+PORT\s+RENTAL\s+LAST-PROBE\s+AGE/m);
    expect(nodes.stdout.match(/Alive\s+True/g)).toHaveLength(2);
    expect(nodes.stderr).toMatch(/broken\.yaml:6: spec\.port: must be <= 65535/);
    expect(nodes.stderr).toMatch(/broken\.yaml:\d+: spec\.secretRef: required field is missing|broken\.yaml:\d+: spec\.address: required field is missing/);
    const zoe = JSON.parse((await orion(['get', 'rental', 'zoe', '--dir', dir(), '-o', 'json'])).stdout) as { status: { phase: string; connection: { user: string } } };
    expect(zoe.status.phase).toBe('Ready');
    expect(zoe.status.connection.user).toBe('zoe');
    const missing = await orion(['get', 'rental', 'nobody', '--dir', dir()]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/rental "nobody" not found/);
  });

  it('prints the create_user run with `orion logs`', async () => {
    const logs = await orion(['logs', 'rental/zoe', '--dir', dir()]);
    expect(logs.stdout).toMatch(/create_user/);
    expect(logs.stdout).toMatch(/PLAY RECAP/);
    expect(logs.stdout).not.toMatch(/PRIVATE KEY/);
  });

  it('exposes metrics that promtool accepts and that a real Prometheus scrapes', async () => {
    const text = await (await fetch(`http://${listen}/metrics`)).text();
    for (const name of ['orion_reconcile_total', 'orion_reconcile_duration_seconds', 'orion_workqueue_depth', 'orion_resources', 'orion_invalid_manifests', 'orion_node_probe_duration_seconds', 'orion_nodes', 'orion_rentals', 'orion_ansible_runs_total']) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
    expect(text).toMatch(/^orion_nodes\{health="Alive"\} 2$/m);
    expect(text).toMatch(/^orion_invalid_manifests 1$/m);
    const check = await execa('promtool', ['check', 'metrics'], { input: text, reject: false });
    expect(check.exitCode, `${check.stdout}${check.stderr}`).toBe(0);

    const promPort = await freePort();
    const config = join(root, 'prometheus.yml');
    await writeFile(config, stringify({ global: { scrape_interval: '1s' }, scrape_configs: [{ job_name: 'orion', static_configs: [{ targets: [listen] }] }] }));
    prometheus = execa('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(root, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`], { reject: false });
    const query = async (q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> => {
      const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`).catch(() => undefined);
      if (!res?.ok) return [];
      return ((await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
    };
    const up = await waitFor('Prometheus scraped orion', async () => {
      const result = await query('up{job="orion"}');
      return result[0]?.value[1] === '1' && result;
    }, 60_000);
    expect(up).toHaveLength(1);
    const rentals = await waitFor('orion_rentals in Prometheus', async () => {
      const result = await query('orion_rentals{phase="Ready"}');
      return result.length > 0 && result;
    }, 30_000);
    expect(rentals[0]?.value[1]).toBe('1');
  });
});
