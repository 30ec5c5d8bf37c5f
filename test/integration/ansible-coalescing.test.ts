// Coalesced create_user runs against a real sshd and ansible-playbook: several tenants, each in its own host's
// vars, are created by one process; a host that fails (a reserved user name) or cannot be reached fails only its
// own run; each run's log is the shared one, under its own resource.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClientKeyPair, SshWorker, type ClientKeyPair } from '../../src/dataplane/workers.js';
import { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import type { AnsibleRunRequest } from '../../src/exec/ansible/types.js';
import { listRunLogs } from '../../src/exec/run-logs.js';

/** This file's share of the test port range 23200-23299: workers, and one port nothing listens on. */
const PORTS = [23200, 23201, 23202, 23203];
const CLOSED_PORT = 23250;

async function startWorker(dir: string, authorizedKey: string): Promise<SshWorker> {
  let lastError: unknown;
  for (const port of PORTS) {
    const worker = new SshWorker({ name: 'coalesce-it', port, dir: join(dir, `worker-${port}`), authorizedKeys: [authorizedKey] });
    try {
      await worker.start();
      return worker;
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

describe('coalesced Ansible runs against a loopback sshd worker', () => {
  let dir: string;
  let admin: ClientKeyPair;
  let tenant: ClientKeyPair;
  let worker: SshWorker;
  let hostKey: string;
  let runner: AnsibleRunner;

  /** One node of the inventory (several names may point at the one worker, as Nodes sharing an sshd do). */
  const request = (node: string, vars: Record<string, unknown>, port?: number): AnsibleRunRequest => ({
    playbook: 'create_user',
    hosts: [{ name: node, address: '127.0.0.1', port: port ?? worker.port, user: 'root', hostKey, vars }],
    privateKey: admin.privateKey,
    extraVars: {},
    resource: { kind: 'Rental', namespace: 'default', name: `r-${node}` },
    coalesce: true,
  });
  const tenantVars = (user: string, sudo = false) => ({ tenant_user: user, tenant_owner: `uid-of-${user}`, tenant_ssh_keys: [tenant.publicKey], tenant_sudo: sudo });
  const userExists = async (user: string) => (await worker.exec(['id', '-u', user])).exitCode === 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orion-coalesce-it-'));
    admin = await generateClientKeyPair(join(dir, 'admin'));
    tenant = await generateClientKeyPair(join(dir, 'tenant'));
    worker = await startWorker(dir, admin.publicKey);
    hostKey = await worker.hostPublicKey();
    // A window long enough that the runs below, submitted together, are sure to share a process.
    runner = new AnsibleRunner({ runsDir: join(dir, 'runs'), coalescing: { windowMs: 500, maxHosts: 10, maxProcesses: 1 } });
  }, 60_000);

  afterAll(async () => {
    await worker?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates each host\'s own tenant in one ansible-playbook process', async () => {
    const results = await Promise.all([
      runner.run(request('node-1', tenantVars('tenant1'))),
      runner.run(request('node-2', tenantVars('tenant2', true))),
      runner.run(request('node-3', tenantVars('tenant3'))),
    ]);
    for (const r of results) expect(r, r.message).toMatchObject({ playbook: 'create_user', result: 'success', changed: true, exitCode: 0 });
    expect(results.map((r) => Object.keys(r.hosts))).toEqual([['node-1'], ['node-2'], ['node-3']]);
    for (const user of ['tenant1', 'tenant2', 'tenant3']) expect(await userExists(user)).toBe(true);
    // tenant_sudo came from node-2's vars only.
    expect((await worker.exec(['test', '-e', '/etc/sudoers.d/orion-tenant2'])).exitCode).toBe(0);
    expect((await worker.exec(['test', '-e', '/etc/sudoers.d/orion-tenant1'])).exitCode).toBe(1);

    // One process: one log, the same file (linked) under each run's resource, with all three hosts in its recap.
    const inodes = new Set(results.map((r) => statSync(r.logFile).ino));
    expect(inodes.size).toBe(1);
    const log = readFileSync(results[0]?.logFile ?? '', 'utf8');
    for (const node of ['node-1', 'node-2', 'node-3']) expect(log).toMatch(new RegExp(`^${node}\\s+: ok=`, 'm'));
    for (const node of ['node-1', 'node-2', 'node-3']) {
      const logs = await listRunLogs(join(dir, 'runs'), { kind: 'Rental', namespace: 'default', name: `r-${node}` });
      expect(logs.map((l) => l.playbook)).toEqual(['create_user']);
    }
  }, 180_000);

  it('a host that fails or cannot be reached fails only its own run', async () => {
    const [good, reserved, unreachable] = await Promise.all([
      runner.run(request('node-4', tenantVars('tenant4'))),
      runner.run(request('node-5', tenantVars('root'))),
      runner.run(request('node-6', tenantVars('tenant6'), CLOSED_PORT)),
    ]);
    expect(reserved).toMatchObject({ result: 'failed', failedTask: 'Check the tenant variables' });
    expect(reserved?.message).toMatch(/reserved name/);
    expect(Object.keys(reserved?.hosts ?? {})).toEqual(['node-5']);
    expect(unreachable).toMatchObject({ result: 'unreachable' });
    expect(await userExists('tenant4')).toBe(true);
    expect(await userExists('tenant6')).toBe(false);
    // node-4 was clean in the shared run, but that run failed (elsewhere): node-4 ran again alone, which is
    // where its result comes from (create_user is idempotent: that second run changed nothing).
    expect(good, good?.message).toMatchObject({ result: 'success', changed: false });
    expect(readFileSync(reserved?.logFile ?? '', 'utf8')).toMatch(/^node-4\s+: ok=\d+\s+changed=[1-9]/m);
    expect(statSync(good?.logFile ?? '').ino).not.toBe(statSync(reserved?.logFile ?? '').ino);
    expect(readFileSync(good?.logFile ?? '', 'utf8')).not.toContain('node-5');
  }, 240_000);

  it('refuses a host variable that would override Ansible\'s own connection variables', async () => {
    await expect(runner.run(request('node-7', { ...tenantVars('tenant7'), ansible_host: '10.0.0.1' }))).rejects.toThrow(/invalid variable name/);
  });

  it('a template in a host variable is data: never run, refused by the playbook\'s pattern as the text it is', async () => {
    const marker = join(dir, 'templated-marker');
    const result = await runner.run(request('node-8', tenantVars(`{{ lookup("pipe", "touch ${marker}") }}`)));
    expect(result).toMatchObject({ result: 'failed', failedTask: 'Check the tenant variables' });
    expect(() => statSync(marker)).toThrow();
  });
});
