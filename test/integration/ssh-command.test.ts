// runSshCommand and KeptSshConnections against a real sshd worker (needs root): a kept connection runs every
// command of a key over one login, is replaced when what it was made for changes, survives the machine's sshd
// going away and coming back, is dropped when a command times out on it, and is gone once closed.
// Ports 127.0.0.1:22140-22149 belong to this file.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshWorker, generateClientKeyPair, type ClientKeyPair } from '../../src/dataplane/workers.js';
import { KeptSshConnections, SshCommandError, runSshCommand, type SshCommandTarget } from '../../src/exec/ssh-command.js';

const WORKER_PORT = 22140;
// The login's own sshd process (one per connection) and the command's shell (one per command).
const WHO_RUNS = 'echo "$PPID $$"';

let base: string;
let key: ClientKeyPair;
let worker: SshWorker;

async function target(extra: Partial<SshCommandTarget> = {}): Promise<SshCommandTarget> {
  return { address: '127.0.0.1', port: WORKER_PORT, user: 'root', privateKey: key.privateKey, pinnedHostKey: await worker.hostPublicKey(), timeoutMs: 10_000, ...extra };
}

/** [the login's sshd pid, the shell's pid] of one run. */
function pids(stdout: string): [string, string] {
  const [login, shell] = stdout.trim().split(' ');
  return [login ?? '', shell ?? ''];
}

describe('SSH commands', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'orion-ssh-command-it-'));
    key = await generateClientKeyPair(path.join(base, 'client'));
    worker = new SshWorker({ name: 'command-target', port: WORKER_PORT, dir: path.join(base, 'command-target'), authorizedKeys: [key.publicKey] });
    await worker.start();
  }, 60_000);

  afterAll(async () => {
    await worker?.stop();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('runSshCommand logs in for each command and returns its exit code and output', async () => {
    const first = await runSshCommand(await target(), `${WHO_RUNS}; echo oops >&2; exit 3`);
    const second = await runSshCommand(await target(), WHO_RUNS);
    expect(first).toMatchObject({ exitCode: 3, stderr: 'oops\n' });
    expect(second.exitCode).toBe(0);
    expect(pids(first.stdout)[0]).not.toBe(pids(second.stdout)[0]);
  });

  it('a kept connection runs every command of its key over one login', async () => {
    const kept = new KeptSshConnections();
    try {
      const runs = [];
      for (let i = 0; i < 3; i++) runs.push(pids((await kept.run('desktop/a', await target(), WHO_RUNS)).stdout));
      expect(new Set(runs.map(([login]) => login)).size).toBe(1);
      expect(new Set(runs.map(([, shell]) => shell)).size).toBe(3);
      // Another key has its own login.
      const other = pids((await kept.run('desktop/b', await target(), WHO_RUNS)).stdout);
      expect(other[0]).not.toBe(runs[0]?.[0]);
      expect(kept.size).toBe(2);
    } finally {
      kept.closeAll();
    }
    expect(kept.size).toBe(0);
  });

  it('replaces a kept connection made for another host key, and refuses a key that does not match', async () => {
    const kept = new KeptSshConnections();
    const stranger = await generateClientKeyPair(path.join(base, 'stranger-host'));
    try {
      await kept.run('desktop/a', await target(), WHO_RUNS);
      const err = await kept.run('desktop/a', await target({ pinnedHostKey: stranger.publicKey }), WHO_RUNS).catch((e: Error) => e);
      expect(err).toBeInstanceOf(SshCommandError);
      expect((err as Error).message).toMatch(/^host key changed: expected SHA256:\S+, got SHA256:\S+$/);
      expect(kept.size).toBe(0);
      expect((await kept.run('desktop/a', await target(), 'echo back')).stdout).toBe('back\n');
    } finally {
      kept.closeAll();
    }
  });

  it('logs in again when the machine lost the kept connection (its sshd restarted)', async () => {
    const kept = new KeptSshConnections();
    try {
      const before = pids((await kept.run('desktop/a', await target(), WHO_RUNS)).stdout);
      await worker.stop();
      await worker.start();
      const after = pids((await kept.run('desktop/a', await target(), WHO_RUNS)).stdout);
      expect(after[0]).not.toBe(before[0]);
      expect(kept.size).toBe(1);
    } finally {
      kept.closeAll();
    }
  });

  it('a command that times out on a kept login says so, and the next command logs in again', async () => {
    const kept = new KeptSshConnections();
    let login = '';
    try {
      [login] = pids((await kept.run('desktop/a', await target(), WHO_RUNS)).stdout);
      // The login's sshd stops answering, as on a machine that froze.
      expect((await runSshCommand(await target(), `kill -STOP ${login}`)).exitCode).toBe(0);
      const err = await kept.run('desktop/a', await target({ timeoutMs: 500 }), 'true').catch((e: Error) => e);
      expect(err).toBeInstanceOf(SshCommandError);
      expect(err).toMatchObject({ message: 'timeout after 500 ms', timedOut: true });
      expect(kept.size).toBe(0);
      const [again] = pids((await kept.run('desktop/a', await target(), WHO_RUNS)).stdout);
      expect(again).not.toBe(login);
      expect(kept.size).toBe(1);
    } finally {
      kept.closeAll();
      if (login) await runSshCommand(await target(), `kill -KILL ${login}`);
    }
  });

  it('closing a key ends its login on the machine', async () => {
    const kept = new KeptSshConnections();
    const [login] = pids((await kept.run('desktop/a', await target(), WHO_RUNS)).stdout);
    kept.close('desktop/a');
    expect(kept.size).toBe(0);
    const deadline = Date.now() + 10_000;
    let alive = true;
    while (alive && Date.now() < deadline) {
      alive = (await runSshCommand(await target(), `kill -0 ${login} 2>/dev/null`)).exitCode === 0;
      if (alive) await new Promise((r) => setTimeout(r, 100));
    }
    expect(alive).toBe(false);
  });

  it('never puts the private key in an error', async () => {
    const kept = new KeptSshConnections();
    const stranger = await generateClientKeyPair(path.join(base, 'stranger-client'));
    const err = (await kept.run('desktop/a', await target({ privateKey: stranger.privateKey }), WHO_RUNS).catch((e: Error) => e)) as Error;
    expect(err.message).toBe('authentication failed for user root');
    const body = stranger.privateKey.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
    for (let i = 0; i + 16 <= body.length; i += 16) expect(`${err.message} ${err.stack}`).not.toContain(body.slice(i, i + 16));
    expect(kept.size).toBe(0);
  });
});
