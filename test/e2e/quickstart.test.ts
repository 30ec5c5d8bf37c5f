// The README's main job, as a newcomer runs it: `orion quickstart` (npm start) on a copy of
// examples/quickstart shows four Alive nodes and two Ready rentals; stopping a worker makes its node
// Dead and moves the rental on it; the tenant logs in with the generated key. Here no libvirt answers (the URI
// names a socket that does not exist), so the quickstart says why it skips the Lab and goes on without it
// (quickstart-lab.test.ts covers the Lab).
import { execa, type ResultPromise } from 'execa';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/cluster.js';
import { sshLogin } from '../harness/tenant.js';

const CLI = ['--import', 'tsx', join(import.meta.dirname, '..', 'harness', 'orion-cli.ts')];
const LISTEN = '127.0.0.1:19477';
const NO_LIBVIRT = 'qemu+unix:///system?socket=/nonexistent/orion-quickstart/libvirt-sock';

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
  let output = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'orion-quickstart-'));
    await cp(join(import.meta.dirname, '..', '..', 'examples', 'quickstart', 'nodes.yaml'), join(dir, 'nodes.yaml'));
    quickstart = execa(process.execPath, [...CLI, 'quickstart', '--dir', dir, '--listen', LISTEN], {
      reject: false,
      env: { ORION_QUICKSTART_LIBVIRT_URI: NO_LIBVIRT },
    });
    quickstart.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
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

  it('says in one line why there is no Lab, and makes none', () => {
    const skipped = output.split('\n').filter((l) => l.startsWith('Lab skipped'));
    expect(skipped).toHaveLength(1);
    expect(skipped[0]?.startsWith(`Lab skipped: no libvirt at ${NO_LIBVIRT}: `)).toBe(true);
    expect(skipped[0]).toContain('/nonexistent/orion-quickstart/libvirt-sock'); // libvirt's own reason
    expect(output).not.toMatch(/^Lab "quickstart"/m);
  });

  it('writes no Lab manifest and shows no Lab', async () => {
    expect(await readdir(join(dir, 'generated'))).not.toContain('lab.yaml');
    expect(await table('labs', dir)).toEqual([]);
  });

  it('lets the tenant log in with the generated key', async () => {
    const alice = (await table('rentals', dir)).find((r) => r.name === 'alice');
    const login = await sshLogin(join(dir, '.orion', 'keys', 'tenant', 'id_ed25519'), '127.0.0.1', Number(alice?.port), 'alice');
    expect(login.ok, login.output).toBe(true);
  });

  it('issues an admin and a tenant token and says how to use them; the tenant rents through the portal', async () => {
    const tenant = /^ {2}carol: {2}(orion_\S+)$/m.exec(output)?.[1];
    expect(/^ {2}admin: {2}orion_\S+ {3}\(also in .*quickstart\/admin\.token, for orion worker\)$/m.test(output)).toBe(true);
    expect(output).toContain(`curl -s -X POST -H "Authorization: Bearer $ORION_TOKEN" http://${LISTEN}/api/rent`);
    // The web app at the URL it prints, and its login with the printed token.
    expect(output).toContain(`open http://${LISTEN}/ in a browser`);
    const page = await fetch(`http://${LISTEN}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    const login = await fetch(`http://${LISTEN}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: `http://${LISTEN}` }, body: JSON.stringify({ token: tenant }) });
    expect(login.status).toBe(200);
    expect(login.headers.get('set-cookie')).toMatch(/^orion_session=[\w-]+; Path=\/; HttpOnly; SameSite=Strict/);
    const rent = await fetch(`http://${LISTEN}/api/rent`, { method: 'POST', headers: { authorization: `Bearer ${tenant ?? ''}` } });
    const body = (await rent.json()) as { host: string; port: number; user: string; name: string };
    expect(rent.status, JSON.stringify(body)).toBe(200);
    const ssh = await sshLogin(join(dir, '.orion', 'keys', 'tenant', 'id_ed25519'), body.host, body.port, 'carol');
    expect(ssh.ok, ssh.output).toBe(true);
    expect((await fetch(`http://${LISTEN}/api/rent/${body.name}`, { method: 'DELETE', headers: { authorization: `Bearer ${tenant ?? ''}` } })).status).toBe(202);
    await waitFor('carol released', async () => !(await table('rentals', dir)).some((r) => r.name === body.name), 60_000);
  });

  it('marks a stopped worker Dead and moves the rental that was on it', async () => {
    const alice = (await table('rentals', dir)).find((r) => r.name === 'alice');
    // The workers' controls are an admin's: refused without the quickstart's admin token, done with it.
    const anonymous = await fetch(`http://${LISTEN}/quickstart/workers/${alice?.node ?? ''}/stop`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
    expect(await orion(['worker', 'stop', alice?.node ?? '', '--listen', LISTEN, '--dir', dir])).toMatch(/stopped/);
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
