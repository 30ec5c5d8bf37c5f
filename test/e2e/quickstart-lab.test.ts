// The quickstart (npm start) on a machine where libvirt answers: besides the nodes and rentals it makes a Lab of
// one VM on that libvirt, shows it Ready with its domain running, and destroys it on Ctrl-C. libvirtd is the
// harness's private daemon in its own network namespace (prefix orqs); tofu and the dmacvicar/libvirt provider
// are the ones the harness builds in .tools/, where the quickstart finds them.
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/cluster.js';
import { startLibvirt, type LibvirtEnv } from '../harness/libvirt.js';
import { ensureTofu } from '../harness/tofu.js';

const CLI = ['--import', 'tsx', join(import.meta.dirname, '..', 'harness', 'orion-cli.ts')];
const LISTEN = '127.0.0.1:23199';
const BASE_PORT = 23100;
const DOMAIN = 'default.quickstart.vm-0';
const BUILD_TIMEOUT_MS = 60 * 60_000;
const WAIT_MS = 240_000;

async function table(kind: string, dir: string): Promise<{ name: string; phase: string }[]> {
  const result = await execa(process.execPath, [...CLI, 'get', kind, '--dir', dir], { reject: false, timeout: 60_000 });
  return result.stdout.split('\n').slice(1).filter((l) => l.trim() && !l.startsWith('No ')).map((line) => {
    const [name = '', phase = ''] = line.trim().split(/\s+/);
    return { name, phase };
  });
}

/** Domain name → state, as `virsh list --all` shows them. */
async function domains(virt: LibvirtEnv): Promise<Map<string, string>> {
  const rows = new Map<string, string>();
  for (const line of (await virt.virsh('list', '--all')).split('\n')) {
    const m = /^\s*(?:\d+|-)\s+(\S+)\s+(.+?)\s*$/.exec(line);
    if (m?.[1] && m[2]) rows.set(m[1], m[2]);
  }
  return rows;
}

describe('quickstart with a local libvirt', () => {
  let virt: LibvirtEnv;
  let dir: string;
  let quickstart: ResultPromise | undefined;
  let output = '';

  function startQuickstart(): ResultPromise {
    output = '';
    const child = execa(process.execPath, [...CLI, 'quickstart', '--dir', dir, '--listen', LISTEN, '--base-port', String(BASE_PORT)], {
      reject: false,
      env: { ORION_QUICKSTART_LIBVIRT_URI: virt.uri, ORION_QUICKSTART_LIBVIRT_POOL: virt.pool, ORION_QUICKSTART_LIBVIRT_NETWORK: virt.network },
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return child;
  }

  async function stopQuickstart(): Promise<void> {
    if (!quickstart) throw new Error('the quickstart did not start');
    quickstart.kill('SIGINT');
    const result = await Promise.race([
      quickstart,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the quickstart did not exit:\n${output}`)), WAIT_MS)),
    ]);
    expect(result.exitCode, output).toBe(0);
    expect(output).toContain('Lab "quickstart" destroyed.');
    expect([...(await domains(virt)).keys()].filter((d) => d.startsWith('default.quickstart.'))).toEqual([]);
    expect(await virt.virsh('vol-list', virt.pool)).not.toContain('default.quickstart.');
  }

  beforeAll(async () => {
    const [, env] = await Promise.all([ensureTofu('all'), startLibvirt({ netnsPrefix: 'orqs' })]);
    virt = env;
    dir = await mkdtemp(join(tmpdir(), 'orion-quickstart-lab-'));
    // The example's nodes, on this test's ports.
    const nodes = await readFile(join(import.meta.dirname, '..', '..', 'examples', 'quickstart', 'nodes.yaml'), 'utf8');
    await writeFile(join(dir, 'nodes.yaml'), nodes.replace(/port: 2222(\d)/g, (_m, i: string) => `port: ${BASE_PORT + Number(i)}`));
    quickstart = startQuickstart();
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    if (quickstart && quickstart.exitCode === null) {
      quickstart.kill('SIGINT');
      await quickstart;
    }
    await virt?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, WAIT_MS);

  it('makes the Lab Ready with its domain running, beside the Ready rentals', async () => {
    await waitFor('Lab quickstart Ready', async () => (await table('labs', dir)).find((r) => r.name === 'quickstart')?.phase === 'Ready', WAIT_MS);
    expect(output).toContain(`Lab "quickstart": one VM on ${virt.uri}`);
    expect(output).not.toContain('Lab skipped');
    expect((await domains(virt)).get(DOMAIN)).toBe('running');
    const info = await virt.virsh('dominfo', DOMAIN);
    expect(info).toMatch(/^CPU\(s\):\s+1$/m);
    expect(info).toMatch(/^Max memory:\s+262144 KiB$/m);
    expect(await virt.virsh('dumpxml', DOMAIN)).toContain("<domain type='qemu'");
    await waitFor('alice and bob Ready', async () => (await table('rentals', dir)).filter((r) => r.phase === 'Ready').length === 2, WAIT_MS);
    // The live view prints the Lab's table too.
    // (its HYPERVISOR column: the one the quickstart declares, which its machines are on)
    await waitFor('the Lab in the live view', () => /\nquickstart\s+Ready\s+True\s+local\s+Running/.test(output), 30_000);
  }, WAIT_MS + 60_000);

  it('on Ctrl-C destroys the Lab’s domain and volume, then exits', async () => {
    await stopQuickstart();
  }, WAIT_MS + 60_000);

  it('starts again on the same folder: the Lab is made afresh and destroyed again', async () => {
    quickstart = startQuickstart();
    await waitFor('Lab quickstart Ready again', async () => (await table('labs', dir)).find((r) => r.name === 'quickstart')?.phase === 'Ready', WAIT_MS);
    expect((await domains(virt)).get(DOMAIN)).toBe('running');
    await stopQuickstart();
  }, 2 * WAIT_MS);
});
