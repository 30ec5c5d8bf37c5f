// The README's main job, as a newcomer runs it: `orion quickstart` (npm start) on a copy of
// examples/quickstart shows four Alive nodes and two Ready rentals; stopping a worker makes its node
// Dead and moves the rental on it; the tenant logs in with the generated key.
import { execa, type ResultPromise } from 'execa';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/cluster.js';
import { sshLogin } from '../harness/tenant.js';

const CLI = ['--import', 'tsx', join(import.meta.dirname, '..', 'harness', 'orion-cli.ts')];
const LISTEN = '127.0.0.1:19477';

async function orion(args: string[]): Promise<string> {
  const result = await execa(process.execPath, [...CLI, ...args], { reject: false, timeout: 60_000 });
  return `${result.stdout}${result.stderr}`;
}

interface Row { name: string; phase: string; node?: string; port?: string }

async function table(kind: string, dir: string): Promise<Row[]> {
  const text = await orion(['get', kind, '--dir', dir]);
  return text.split('\n').slice(1).filter((l) => l.trim() && !l.startsWith('No ')).map((line) => {
    const cells = line.trim().split(/\s+/);
    return kind === 'rentals'
      ? { name: cells[0] ?? '', phase: cells[1] ?? '', node: cells[4], port: cells[6] }
      : { name: cells[0] ?? '', phase: cells[1] ?? '' };
  });
}

describe('quickstart (npm start)', () => {
  let dir: string;
  let quickstart: ResultPromise;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'orion-quickstart-'));
    await cp(join(import.meta.dirname, '..', '..', 'examples', 'quickstart', 'nodes.yaml'), join(dir, 'nodes.yaml'));
    quickstart = execa(process.execPath, [...CLI, 'quickstart', '--dir', dir, '--listen', LISTEN], { reject: false });
  });

  afterAll(async () => {
    quickstart?.kill('SIGINT');
    await quickstart;
    await rm(dir, { recursive: true, force: true });
  });

  it('shows four Alive nodes and two Ready rentals', async () => {
    await waitFor('four Alive nodes', async () => (await table('nodes', dir)).filter((r) => r.phase === 'Alive').length === 4, 120_000);
    await waitFor('alice and bob Ready', async () => (await table('rentals', dir)).filter((r) => r.phase === 'Ready').length === 2, 120_000);
  });

  it('lets the tenant log in with the generated key', async () => {
    const alice = (await table('rentals', dir)).find((r) => r.name === 'alice');
    const login = await sshLogin(join(dir, '.orion', 'keys', 'tenant', 'id_ed25519'), '127.0.0.1', Number(alice?.port), 'alice');
    expect(login.ok, login.output).toBe(true);
  });

  it('marks a stopped worker Dead and moves the rental that was on it', async () => {
    const alice = (await table('rentals', dir)).find((r) => r.name === 'alice');
    expect(await orion(['worker', 'stop', alice?.node ?? '', '--listen', LISTEN])).toMatch(/stopped/);
    await waitFor('its node Dead', async () => (await table('nodes', dir)).find((r) => r.name === alice?.node)?.phase === 'Dead', 60_000);
    const nodes = await table('nodes', dir);
    expect(nodes.filter((r) => r.phase === 'Alive')).toHaveLength(3);
    const moved = await waitFor('alice Ready on another node', async () => {
      const row = (await table('rentals', dir)).find((r) => r.name === 'alice');
      return row?.phase === 'Ready' && row.node !== alice?.node && row;
    }, 120_000);
    const login = await sshLogin(join(dir, '.orion', 'keys', 'tenant', 'id_ed25519'), '127.0.0.1', Number(moved.port), 'alice');
    expect(login.ok, login.output).toBe(true);
  });
});
