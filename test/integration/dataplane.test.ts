// The local data plane against real sshd processes in their own namespaces (needs root).
// Ports 127.0.0.1:22100-22109 belong to this file.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDataPlane, SshWorker, generateClientKeyPair, type ClientKeyPair } from '../../src/dataplane/workers.js';
import { probeNode, type ProbeTarget } from '../../src/exec/ssh.js';

const BASE_PORT = 22100;

let base: string;
let key: ClientKeyPair;
let plane: LocalDataPlane;

function probe(worker: SshWorker, user = 'root', extra: Partial<ProbeTarget> = {}) {
  return probeNode({ address: '127.0.0.1', port: worker.port, user, privateKey: key.privateKey, timeoutMs: 10_000, ...extra });
}

/** Host pids whose command line mentions `text` (to prove nothing of the plane is left running). */
async function pidsMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text)) pids.push(Number(entry));
  }
  return pids;
}

describe('LocalDataPlane', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'orion-dataplane-it-'));
    key = await generateClientKeyPair(path.join(base, 'client'));
    plane = new LocalDataPlane({ dir: path.join(base, 'workers'), basePort: BASE_PORT, count: 2, authorizedKeys: [key.publicKey] });
    await plane.start();
  }, 60_000);

  afterAll(async () => {
    await plane?.stopAll();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('starts named workers on consecutive loopback ports', () => {
    expect(plane.workers.map((w) => [w.name, w.port, w.running])).toEqual([
      ['worker-0', BASE_PORT, true],
      ['worker-1', BASE_PORT + 1, true],
    ]);
    expect(plane.worker('worker-1').dir).toBe(path.join(base, 'workers', 'worker-1'));
    expect(() => plane.worker('nope')).toThrow(/no worker named nope/);
  });

  it('lets the orchestrator key log in as root and presents the worker host key', async () => {
    const worker = plane.worker('worker-0');
    const result = await probe(worker);
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.hostKey).toBe(await worker.hostPublicKey());
    const keygen = await execa('ssh-keygen', ['-l', '-f', path.join(worker.dir, 'ssh_host_ed25519_key.pub')]);
    expect(keygen.stdout.split(' ')[1]).toBe(result.hostKeyFingerprint);
  });

  it('keeps each worker its own users: a user added in one exists nowhere else', async () => {
    const [w0, w1] = [plane.worker('worker-0'), plane.worker('worker-1')];
    const added = await w0.exec(['useradd', '-m', 'bob']);
    expect(added.stderr).toBe('');
    expect(added.exitCode).toBe(0);
    expect((await w0.exec(['id', '-u', 'bob'])).exitCode).toBe(0);
    expect((await w1.exec(['id', 'bob'])).exitCode).not.toBe(0);
    expect((await execa('id', ['bob'], { reject: false })).exitCode).not.toBe(0);
    // The home lands in the worker's own dir, not in the host's /home.
    expect((await readdir(path.join(w0.dir, 'home'))).includes('bob')).toBe(true);
    expect((await w0.exec(['stat', '-c', '%U', '/home/bob'])).stdout.trim()).toBe('bob');
  });

  it('keeps users across stop and start', async () => {
    const worker = plane.worker('worker-0');
    await worker.stop();
    expect(worker.running).toBe(false);
    await worker.start();
    expect(worker.running).toBe(true);
    expect((await worker.exec(['id', '-un', 'bob'])).stdout.trim()).toBe('bob');
    expect((await probe(worker)).ok).toBe(true);
  });

  it('dies on kill(): the probe is refused; start() brings it back', async () => {
    const worker = plane.worker('worker-1');
    await worker.kill();
    expect(worker.running).toBe(false);
    const dead = await probe(worker);
    expect(dead.ok).toBe(false);
    expect(dead.error).toBe('connection refused');
    await expect(worker.exec(['true'])).rejects.toThrow(/not running/);
    await worker.start();
    expect((await probe(worker)).ok).toBe(true);
  });

  it('lets a useradd user with a locked password log in with a key in its ~/.ssh', async () => {
    const worker = plane.worker('worker-1');
    expect((await worker.exec(['useradd', '-m', '-s', '/bin/bash', 'alice'])).exitCode).toBe(0);
    const shadow = await worker.exec(['getent', 'shadow', 'alice']);
    expect(shadow.stdout.split(':')[1]).toMatch(/^!/);
    // Root's key is not everyone's key: alice has no authorized_keys yet.
    const before = await probe(worker, 'alice');
    expect(before.error).toBe('authentication failed for user alice');

    await mkdir(path.join(worker.dir, 'home', 'alice', '.ssh'), { mode: 0o700 });
    await writeFile(path.join(worker.dir, 'home', 'alice', '.ssh', 'authorized_keys'), `${key.publicKey}\n`, { mode: 0o600 });
    expect((await worker.exec(['chown', '-R', 'alice:alice', '/home/alice/.ssh'])).exitCode).toBe(0);

    const after = await probe(worker, 'alice');
    expect(after.error).toBeUndefined();
    expect(after.ok).toBe(true);
  });

  it('refuses unsafe names and dirs', () => {
    const spec = { port: 22109, dir: path.join(base, 'x'), authorizedKeys: [key.publicKey] };
    expect(() => new SshWorker({ ...spec, name: 'Bad_Name' })).toThrow(/DNS label/);
    expect(() => new SshWorker({ ...spec, name: 'ok', dir: '/etc/orion' })).toThrow(/below \/etc/);
    expect(() => new SshWorker({ ...spec, name: 'ok', dir: '/tmp/a,b' })).toThrow(/may only contain/);
    expect(() => new SshWorker({ ...spec, name: 'ok', authorizedKeys: ['ssh-ed25519 AAAA\ncommand="x" ssh-ed25519 AAAA'] })).toThrow(
      /single OpenSSH public key lines/,
    );
    expect(() => new LocalDataPlane({ dir: base, basePort: 22109, count: 1, namePrefix: '../up', authorizedKeys: [] })).toThrow(/DNS label/);
  });

  it('refuses to start on a port that is already taken', async () => {
    const intruder = new SshWorker({ name: 'intruder', port: BASE_PORT, dir: path.join(base, 'intruder'), authorizedKeys: [key.publicKey] });
    await expect(intruder.start()).rejects.toThrow(/port 127.0.0.1:22100 is not free/);
    expect(intruder.running).toBe(false);
  });

  it('leaves no process behind after stopAll()', async () => {
    expect((await pidsMentioning(path.join(base, 'workers'))).length).toBeGreaterThan(0);
    await plane.stopAll();
    expect(plane.workers.every((w) => !w.running)).toBe(true);
    expect(await pidsMentioning(path.join(base, 'workers'))).toEqual([]);
  });
});
