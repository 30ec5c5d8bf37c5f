// Desktop controller against real OpenTofu, Ansible and sshd: the machine is the named stand-in of
// test/harness/desktop-standin.ts (a Terraform record plus a loopback sshd worker). Durations are scaled down by
// the controller's timeScale option (0.1: the schema's 60 s minimum lasts 6 s).
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConditionTrue } from '../../src/api/conditions.js';
import { logsCommand } from '../../src/cli/logs.js';
import type { DesktopResource } from '../../src/api/types.js';
import { DesktopBed } from '../harness/desktop-standin.js';
import { waitFor } from '../harness/cluster.js';

const SCALE = 0.1;
const RDP_PASSWORD = 'Rdp-pa55word-never-shown';
const WORKER = { ttl: 0, idle: 1, q1: 2, q2: 3, q3: 4, gen: 5 } as Record<string, number>;

let bed: DesktopBed;

beforeAll(async () => {
  bed = await DesktopBed.create({
    basePort: 22800,
    workers: 6,
    workerOf: (name) => WORKER[name] ?? 0,
    controller: { timeScale: SCALE, idleCheckMs: 500, maxDesktopsPerUser: 2 },
  });
  await bed.write('password.yaml', [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'alice-rdp' }, stringData: { password: RDP_PASSWORD } }]);
}, 600_000);

afterAll(async () => {
  await bed?.destroy();
});

const ready = (name: string) => (): DesktopResource | undefined => {
  const d = bed.desktop(name);
  if (d?.status?.phase === 'Failed') throw new Error(`${name} failed: ${JSON.stringify(d.status.conditions)}`);
  return d?.status?.phase === 'Ready' ? d : undefined;
};
const events = (name: string) => bed.store.eventsOf(bed.desktop(name) as DesktopResource);
const inPhase = (name: string, phase: string) => (): DesktopResource | undefined => {
  const d = bed.desktop(name);
  return d?.status?.phase === phase ? d : undefined;
};
const status = (d: DesktopResource | undefined) => d?.status ?? {};
const time = (iso: string | undefined): number => Date.parse(iso ?? '');
const readyCondition = (d: DesktopResource | undefined) => status(d).conditions?.find((c) => c.type === 'Ready');

/** desktop.yml really ran on the machine: the user exists, with XFCE as its session. */
async function expectConfigured(worker: number, user: string): Promise<void> {
  const w = bed.workers[worker] as (typeof bed.workers)[number];
  expect((await w.exec(['getent', 'passwd', user])).exitCode).toBe(0);
  expect((await w.exec(['cat', `/home/${user}/.xsession`])).stdout).toContain('startxfce4');
}

/** An interactive SSH session (with a pty, as a user's terminal) to a worker; resolves once the shell runs. */
function openSession(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.on('ready', () => client.shell({ term: 'xterm' }, (err, stream) => {
      if (err) return reject(err);
      stream.on('data', () => undefined);
      resolve(client);
    }));
    client.on('error', reject);
    client.connect({ host: '127.0.0.1', port, username: 'root', privateKey: bed.key.privateKey, hostVerifier: () => true });
  });
}

describe('Desktop on the stand-in machine', () => {
  it('publishes RDP, then a TTL warning, then destroys it at the TTL', async () => {
    const started = Date.now();
    // TTL 400 s and warning 100 s, scaled: destroyed 40 s after creation, warned 10 s before.
    await bed.write('ttl.yaml', [bed.desktopManifest('ttl', { ttlSeconds: 400, warningSeconds: 100, idleTimeoutSeconds: 3600, passwordSecretRef: { name: 'alice-rdp' } })]);
    const d = await waitFor('ttl Ready', ready('ttl'), 60_000);
    const readyMs = Date.now() - started;
    expect(status(d).rdp).toEqual({ host: '127.0.0.1', port: 3389, user: 'alice' });
    expect(time(status(d).expiresAt) - time(d.metadata.creationTimestamp)).toBe(40_000);
    expect(await bed.machines()).toEqual(['default.ttl.json']);
    await expectConfigured(WORKER.ttl as number, 'alice');

    await waitFor('ExpiringSoon', () => events('ttl').find((e) => e.reason === 'ExpiringSoon'), 60_000);
    const warnedAt = time(status(bed.desktop('ttl')).warnedAt);
    const expired = await waitFor('ttl Expired', inPhase('ttl', 'Expired'), 60_000);
    const expiredAt = time(status(expired).expiredAt);
    const expiresAt = time(status(expired).expiresAt);
    expect(readyCondition(expired)).toMatchObject({ status: 'False', reason: 'TTLExpired' });
    expect(status(expired).rdp).toBeUndefined();
    expect(await bed.machines()).toEqual([]);
    const reasons = events('ttl').map((e) => e.reason);
    expect(reasons.indexOf('ExpiringSoon')).toBeLessThan(reasons.indexOf('Expired'));
    expect(expiredAt - warnedAt).toBeGreaterThanOrEqual(9_000);
    console.log(`[desktop ttl] ready after ${readyMs} ms; warned ${(expiresAt - warnedAt) / 1000} s before the TTL; destroyed ${(expiredAt - expiresAt) / 1000} s after it`);

    // The RDP password never reached the status, the events or any file of the state (run logs included).
    const text = JSON.stringify(expired) + JSON.stringify(events('ttl')) + (await readTree(bed.state));
    expect(text).not.toContain(RDP_PASSWORD);
  }, 180_000);

  it('orion logs desktop/NAME shows the desktop.yml run and the tofu runs of that desktop', async () => {
    // The "ttl" desktop of the test above ran desktop.yml once and tofu apply and destroy.
    const listed = await logsCommand('desktop/ttl', { stateDir: bed.state, namespace: 'default', list: true });
    const runs = listed.trim().split('\n').map((line) => line.split(/\s+/)[1]);
    expect(runs).toContain('desktop');
    expect(runs).toContain('apply');
    expect(runs).toContain('destroy');
    const last = await logsCommand('desktop/ttl', { stateDir: bed.state, namespace: 'default', all: true });
    expect(last).toContain('PLAY RECAP');
    expect(last).not.toContain(RDP_PASSWORD);
  });

  it('keeps a desktop with an open SSH session, destroys it after the idle timeout once the session closes', async () => {
    // Idle timeout 100 s and warning 30 s, scaled: 10 s and 3 s; TTL far away.
    await bed.write('idle.yaml', [bed.desktopManifest('idle', { ttlSeconds: 3600, idleTimeoutSeconds: 100, warningSeconds: 30 })]);
    await waitFor('idle Ready', ready('idle'), 60_000);
    const session = await openSession(bed.options.basePort + (WORKER.idle as number));
    try {
      await waitFor('session seen', () => isConditionTrue(bed.desktop('idle')?.status?.conditions, 'InUse'), 20_000).catch((err: Error) => {
        throw new Error(`${err.message}; status: ${JSON.stringify(status(bed.desktop('idle')))}`);
      });
      const seen = status(bed.desktop('idle'));
      expect(seen.idleSince).toBeUndefined();
      // Longer than the idle timeout with the session open: still Ready, never warned.
      await new Promise((r) => setTimeout(r, 12_000));
      const d = bed.desktop('idle');
      expect(status(d).phase).toBe('Ready');
      // ~24 session checks meanwhile, and no Terraform or Ansible run: the steady state spawns neither.
      expect(status(d).lastTerraformRun).toEqual(seen.lastTerraformRun);
      expect(status(d).lastAnsibleRun).toEqual(seen.lastAnsibleRun);
      expect(status(d).sessions).toBeGreaterThanOrEqual(1);
      expect(events('idle').some((e) => e.reason === 'IdleSoon')).toBe(false);
    } finally {
      session.end();
    }
    const closedAt = Date.now();
    await waitFor('IdleSoon', () => events('idle').find((e) => e.reason === 'IdleSoon'), 30_000);
    const expired = await waitFor('idle Expired', inPhase('idle', 'Expired'), 30_000);
    expect(readyCondition(expired)).toMatchObject({ status: 'False', reason: 'IdleTimeout' });
    const expiredAt = time(status(expired).expiredAt);
    expect(expiredAt - time(status(expired).idleSince)).toBeGreaterThanOrEqual(10_000);
    const reasons = events('idle').map((e) => e.reason);
    expect(reasons.indexOf('IdleSoon')).toBeLessThan(reasons.indexOf('Expired'));
    expect(await bed.machines()).not.toContain('default.idle.json');
    console.log(`[desktop idle] session closed → destroyed after ${(expiredAt - closedAt) / 1000} s (idle timeout 10 s, checks every 0.5 s)`);
  }, 180_000);

  it('holds a third desktop of the same user Pending (QuotaExceeded) until one of the two goes', async () => {
    const spec = { user: 'bob', ttlSeconds: 3600, idleTimeoutSeconds: 3600 };
    await bed.write('q1.yaml', [bed.desktopManifest('q1', spec)]);
    await bed.write('q2.yaml', [bed.desktopManifest('q2', spec)]);
    await waitFor('q1 Ready', ready('q1'), 90_000);
    await waitFor('q2 Ready', ready('q2'), 90_000);
    await bed.write('q3.yaml', [bed.desktopManifest('q3', spec)]);
    const pending = await waitFor('q3 Pending', inPhase('q3', 'Pending'), 30_000);
    expect(readyCondition(pending)).toMatchObject({ status: 'False', reason: 'QuotaExceeded' });
    expect(await bed.machines()).not.toContain('default.q3.json');
    expect(events('q3').some((e) => e.reason === 'QuotaExceeded')).toBe(true);

    const deletedAt = Date.now();
    await bed.remove('q1.yaml');
    await waitFor('q1 gone', () => !bed.desktop('q1'), 60_000);
    await waitFor('q3 Ready', ready('q3'), 90_000);
    expect(await bed.machines()).toEqual(['default.q2.json', 'default.q3.json']);
    console.log(`[desktop quota] q1 deleted → q3 Ready after ${(Date.now() - deletedAt) / 1000} s`);
    await bed.remove('q2.yaml');
    await bed.remove('q3.yaml');
    await waitFor('q2, q3 gone', () => !bed.desktop('q2') && !bed.desktop('q3'), 60_000);
  }, 300_000);

  it('a Desktop its class refuses gets no finalizer and nothing runs: Failed, Ready=False ClassRefused naming the class, Stalled', async () => {
    await bed.write('refused.yaml', [
      bed.desktopManifest('refused', { className: 'desktops', image: 'windows', ttlSeconds: 3600 }),
      bed.desktopManifest('noad', { className: 'desktops', adJoin: true, ttlSeconds: 3600 }),
    ]);
    for (const [name, message] of [['refused', 'MachineClass "desktops" has no image "windows"'], ['noad', 'MachineClass "desktops" defines no AD join']] as const) {
      const failed = await waitFor(`${name} Failed`, inPhase(name, 'Failed'), 30_000);
      expect(readyCondition(failed)).toMatchObject({ status: 'False', reason: 'ClassRefused', message: expect.stringContaining(message), observedGeneration: failed.metadata.generation });
      expect(status(failed).conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True' });
      expect(failed.metadata.finalizers ?? []).toEqual([]);
      expect(status(failed).lastTerraformRun).toBeUndefined();
      expect(status(failed).lastAnsibleRun).toBeUndefined();
    }
    expect(await bed.machines()).toEqual([]);
    await bed.remove('refused.yaml');
    await waitFor('refused gone', () => !bed.desktop('refused') && !bed.desktop('noad'), 30_000);
  }, 120_000);

  it('a Desktop naming its class without sshKeySecretRef is configured with a key Orion generates; the key goes with the Desktop', async () => {
    const manifest = bed.desktopManifest('gen', { className: 'desktops', ttlSeconds: 3600, idleTimeoutSeconds: 3600 }) as { spec: Record<string, unknown> };
    delete manifest.spec.sshKeySecretRef;
    await bed.write('gen.yaml', [manifest]);
    const desk = await waitFor('gen Ready', ready('gen'), 120_000);
    expect(status(desk).hypervisor).toBe('local');
    await expectConfigured(WORKER.gen as number, 'alice');
    // The key pair is kept where generated credentials are (0600), and only its public half reached the machine.
    const credentials = join(bed.state, 'credentials', 'desktop', 'default', 'gen');
    const kept = await readdir(credentials);
    expect(kept).toContain('ssh-key-password');
    const authorized = await (bed.workers[WORKER.gen as number] as (typeof bed.workers)[number]).exec(['cat', '/root/.ssh/authorized_keys']);
    expect(authorized.stdout).toMatch(/^ssh-ed25519 \S+ orion-generated$/m);
    await bed.remove('gen.yaml');
    await waitFor('gen gone', () => !bed.desktop('gen'), 60_000);
    expect(await readdir(credentials).catch(() => [])).not.toContain('ssh-key-password');
    expect(await bed.machines()).toEqual([]);
  }, 300_000);
});

async function readTree(dir: string): Promise<string> {
  const parts: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    parts.push(await readFile(join(entry.parentPath, entry.name), 'utf8').catch(() => ''));
  }
  return parts.join('\n');
}
