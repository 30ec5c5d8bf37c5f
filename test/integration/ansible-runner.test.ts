// The Ansible runner against a real sshd: a namespaced worker of the local data plane on 127.0.0.1.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectRef } from '../../src/api/refs.js';
import { generateClientKeyPair, SshWorker, type ClientKeyPair } from '../../src/dataplane/workers.js';
import { defaultPlaybookDir } from '../../src/exec/ansible/playbooks.js';
import { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import type { AnsibleRunRequest } from '../../src/exec/ansible/types.js';
import { listRunLogs } from '../../src/exec/run-logs.js';
import { ansibleRunsTotal } from '../../src/telemetry/metrics.js';

const FIXTURE_PLAYBOOKS = fileURLToPath(new URL('../fixtures/ansible', import.meta.url));
/** This file's share of the test port range 22300-22399. */
const PORTS = [22370, 22371, 22372, 22373, 22374, 22375];
const TENANT = 'alice';
/** The uid of the rental the tenant's account belongs to (its marker on the node). */
const OWNER = '7d0c7e4a-0000-4000-8000-000000000001';
const RESOURCE: ObjectRef = { kind: 'Rental', namespace: 'default', name: 'ansible-it' };
const KEEP_RUNS = 3;

async function startWorker(dir: string, authorizedKey: string): Promise<SshWorker> {
  let lastError: unknown;
  for (const port of PORTS) {
    const worker = new SshWorker({ name: 'ansible-it', port, dir: join(dir, `worker-${port}`), authorizedKeys: [authorizedKey] });
    try {
      await worker.start();
      return worker;
    } catch (err) {
      lastError = err; // most likely the port is taken by another test: try the next one
    }
  }
  throw lastError;
}

/** The run directory named on the command line at the top of the log. */
function runDirOf(logFile: string): string {
  const match = /-i (\S+)\/inventory\.yml/.exec(readFileSync(logFile, 'utf8'));
  if (!match?.[1]) throw new Error(`no inventory path in ${logFile}`);
  return match[1];
}

describe('AnsibleRunner against a loopback sshd worker', () => {
  let dir: string;
  let admin: ClientKeyPair;
  let tenant: ClientKeyPair;
  let worker: SshWorker;
  let hostKey: string;
  let knownHosts: string;
  let runner: AnsibleRunner;

  const request = (over: Partial<AnsibleRunRequest> = {}): AnsibleRunRequest => ({
    playbook: 'create_user',
    hosts: [{ name: 'node-a', address: '127.0.0.1', port: worker.port, user: 'root', hostKey }],
    privateKey: admin.privateKey,
    extraVars: { tenant_user: TENANT, tenant_owner: OWNER, tenant_ssh_keys: [tenant.publicKey], tenant_sudo: false },
    resource: RESOURCE,
    ...over,
  });

  /** ssh as the tenant, checking the worker's host key against a pinned known_hosts. */
  const sshAsTenant = (command: string) =>
    execa(
      'ssh',
      ['-F', '/dev/null', '-i', tenant.privateKeyPath, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes',
        '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-p', String(worker.port),
        `${TENANT}@127.0.0.1`, command],
      { reject: false, stdin: 'ignore', timeout: 30_000 },
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orion-ansible-it-'));
    admin = await generateClientKeyPair(join(dir, 'admin'));
    tenant = await generateClientKeyPair(join(dir, 'tenant'));
    worker = await startWorker(dir, admin.publicKey);
    hostKey = await worker.hostPublicKey();
    knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, `[127.0.0.1]:${worker.port} ${hostKey}\n`);
    runner = new AnsibleRunner({
      playbookDirs: [defaultPlaybookDir(), FIXTURE_PLAYBOOKS],
      runsDir: join(dir, 'runs'),
      keepRuns: KEEP_RUNS,
    });
  }, 60_000);

  afterAll(async () => {
    await worker?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('create_user makes a user the tenant can log in as with its key', async () => {
    const result = await runner.run(request());
    expect(result, result.message).toMatchObject({ playbook: 'create_user', result: 'success', changed: true, exitCode: 0 });
    expect(result.hosts['node-a']?.changed).toBeGreaterThan(0);

    const login = await sshAsTenant('id -un; echo $SHELL; pwd');
    expect(login.exitCode, login.stderr).toBe(0);
    expect(login.stdout.split('\n')).toEqual([TENANT, '/bin/bash', `/home/${TENANT}`]);

    const log = readFileSync(result.logFile, 'utf8');
    expect(log).toContain('TASK [Create the tenant user]');
    expect(log).toContain('TASK [Authorize exactly the tenant\'s public keys]');
    expect(log).toContain('PLAY RECAP');
    const keyBody = admin.privateKey.split('\n').filter((l) => l.length > 0 && !l.startsWith('-----'));
    for (const line of keyBody) expect(log).not.toContain(line);
    expect(existsSync(runDirOf(result.logFile))).toBe(false);
  }, 120_000);

  it('a second create_user changes nothing', async () => {
    const result = await runner.run(request());
    expect(result, result.message).toMatchObject({ result: 'success', changed: false });
    expect(result.hosts['node-a']?.changed).toBe(0);
  }, 120_000);

  it('the authorized keys are exactly the given ones', async () => {
    const other = await generateClientKeyPair(join(dir, 'other'));
    const result = await runner.run(request({ extraVars: { tenant_user: TENANT, tenant_owner: OWNER, tenant_ssh_keys: [other.publicKey] } }));
    expect(result, result.message).toMatchObject({ result: 'success', changed: true });
    expect((await sshAsTenant('true')).exitCode).not.toBe(0);
    const back = await runner.run(request());
    expect(back.result).toBe('success');
    expect((await sshAsTenant('true')).exitCode).toBe(0);
  }, 180_000);

  it('tenant_sudo adds a validated sudoers drop-in, and false removes it', async () => {
    const withSudo = await runner.run(request({ extraVars: { tenant_user: TENANT, tenant_owner: OWNER, tenant_ssh_keys: [tenant.publicKey], tenant_sudo: true } }));
    expect(withSudo, withSudo.message).toMatchObject({ result: 'success', changed: true });
    const dropIn = await worker.exec(['cat', `/etc/sudoers.d/orion-${TENANT}`]);
    expect(dropIn.stdout).toBe(`${TENANT} ALL=(ALL:ALL) NOPASSWD: ALL`);
    const without = await runner.run(request());
    expect(without).toMatchObject({ result: 'success', changed: true });
    expect((await worker.exec(['test', '-e', `/etc/sudoers.d/orion-${TENANT}`])).exitCode).toBe(1);
  }, 180_000);

  it('a failing task gives failed, with the task name and its message', async () => {
    const result = await runner.run(request({ playbook: 'fail' }));
    expect(result).toMatchObject({
      result: 'failed',
      changed: false,
      failedTask: 'Fail with a known message',
      message: 'orion test failure on node-a',
      exitCode: 2,
    });
    expect(result.hosts['node-a']).toMatchObject({ failed: 1, failedTask: 'Fail with a known message' });
  }, 120_000);

  it('the playbook refuses a reserved tenant name', async () => {
    const result = await runner.run(request({ extraVars: { tenant_user: 'root', tenant_owner: OWNER, tenant_ssh_keys: [tenant.publicKey] } }));
    expect(result).toMatchObject({ result: 'failed', failedTask: 'Check the tenant variables' });
    expect(result.message).toMatch(/reserved/);
  }, 120_000);

  it('a run past its timeout is reported as timeout, and its run directory is removed', async () => {
    const result = await runner.run(request({ playbook: 'sleep', timeoutMs: 4000 }));
    expect(result.result).toBe('timeout');
    expect(result.exitCode).toBeNull();
    expect(existsSync(runDirOf(result.logFile))).toBe(false);
  }, 60_000);

  it('an aborted run is reported as cancelled', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 3000);
    const result = await runner.run(request({ playbook: 'sleep', signal: controller.signal }));
    expect(result.result).toBe('cancelled');
  }, 60_000);

  it('delete_user ends the tenant\'s processes and removes the user and its home', async () => {
    await runner.run(request());
    const start = await sshAsTenant('nohup sleep 300 >/dev/null 2>&1 </dev/null & echo $!');
    expect(start.exitCode, start.stderr).toBe(0);
    const pid = start.stdout.trim();
    expect((await worker.exec(['ps', '-o', 'user=', '-p', pid])).stdout.trim()).toBe(TENANT);

    const result = await runner.run(request({ playbook: 'delete_user', extraVars: { tenant_user: TENANT, tenant_owner: OWNER } }));
    expect(result, result.message).toMatchObject({ result: 'success', changed: true });
    const state = (await worker.exec(['ps', '-o', 'stat=', '-p', pid])).stdout.trim();
    expect(state === '' || state.startsWith('Z')).toBe(true);
    expect((await worker.exec(['id', TENANT])).exitCode).not.toBe(0);
    expect((await worker.exec(['test', '-e', `/home/${TENANT}`])).exitCode).toBe(1);
    expect((await sshAsTenant('true')).exitCode).not.toBe(0);

    const again = await runner.run(request({ playbook: 'delete_user', extraVars: { tenant_user: TENANT, tenant_owner: OWNER } }));
    expect(again, again.message).toMatchObject({ result: 'success', changed: false });
  }, 180_000);

  it('a host key that does not match the pinned one gives unreachable, naming the host key', async () => {
    const result = await runner.run(request({ hosts: [{ ...request().hosts[0]!, hostKey: admin.publicKey }] }));
    expect(result.result).toBe('unreachable');
    expect(result.message).toMatch(/host key/i);
    expect(result.hosts['node-a']?.unreachable).toBe(1);
  }, 120_000);

  it('keeps the last runs of the resource and counts runs in the metrics', async () => {
    const logs = await listRunLogs(join(dir, 'runs'), RESOURCE);
    expect(logs).toHaveLength(KEEP_RUNS);
    expect(logs.at(-1)?.playbook).toBe('create_user');
    const counted = (await ansibleRunsTotal.get()).values;
    expect(counted.find((v) => v.labels.playbook === 'create_user' && v.labels.result === 'success')?.value).toBeGreaterThan(0);
  });

  it('a dead worker gives unreachable', async () => {
    await worker.kill();
    const result = await runner.run(request());
    expect(result.result).toBe('unreachable');
    expect(result.message).toMatch(/Connection refused|connect to host/);
  }, 120_000);
});
