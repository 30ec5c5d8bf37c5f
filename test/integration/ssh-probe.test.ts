// probeNode against a real sshd worker and against sockets that misbehave (needs root).
// Ports 127.0.0.1:22120-22129 belong to this file.
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshWorker, generateClientKeyPair, type ClientKeyPair } from '../../src/dataplane/workers.js';
import { probeNode, type ProbeResult, type ProbeTarget } from '../../src/exec/ssh.js';

const WORKER_PORT = 22120;
const SILENT_PORT = 22125;
const CLOSED_PORT = 22126;

let base: string;
let key: ClientKeyPair;
let worker: SshWorker;

function target(extra: Partial<ProbeTarget> = {}): ProbeTarget {
  return { address: '127.0.0.1', port: WORKER_PORT, user: 'root', privateKey: key.privateKey, timeoutMs: 10_000, ...extra };
}

/** Nothing in a result may leak the private key, whatever went wrong. */
function expectNoSecret(result: ProbeResult, privateKey: string): void {
  const body = privateKey.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
  const text = JSON.stringify(result);
  for (let i = 0; i + 16 <= body.length; i += 16) expect(text).not.toContain(body.slice(i, i + 16));
}

describe('probeNode', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'orion-ssh-probe-it-'));
    key = await generateClientKeyPair(path.join(base, 'client'));
    worker = new SshWorker({ name: 'probe-target', port: WORKER_PORT, dir: path.join(base, 'probe-target'), authorizedKeys: [key.publicKey] });
    await worker.start();
  }, 60_000);

  afterAll(async () => {
    await worker?.stop();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('succeeds with the right key and reports the host key and its fingerprint', async () => {
    const result = await probeNode(target());
    expect(result).toMatchObject({ ok: true, hostKey: await worker.hostPublicKey() });
    expect(result.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(result.latencyMs).toBeGreaterThan(0);
    expect(result.hostKeyMismatch).toBeUndefined();
  });

  it('reports a wrong key as an authentication failure, still naming the host key', async () => {
    const stranger = await generateClientKeyPair(path.join(base, 'stranger'));
    const result = await probeNode(target({ privateKey: stranger.privateKey }));
    expect(result.ok).toBe(false);
    expect(result.error).toBe('authentication failed for user root');
    expect(result.hostKey).toBe(await worker.hostPublicKey());
    expectNoSecret(result, stranger.privateKey);
  });

  it('rejects a changed host key when one is pinned', async () => {
    const pinned = await worker.hostPublicKey();
    expect((await probeNode(target({ pinnedHostKey: pinned }))).ok).toBe(true);

    await worker.rotateHostKey();
    const rotated = await worker.hostPublicKey();
    expect(rotated).not.toBe(pinned);
    // Takes effect on the next start only.
    expect((await probeNode(target({ pinnedHostKey: pinned }))).ok).toBe(true);
    await worker.stop();
    await worker.start();

    const result = await probeNode(target({ pinnedHostKey: pinned }));
    expect(result.ok).toBe(false);
    expect(result.hostKeyMismatch).toBe(true);
    expect(result.hostKey).toBe(rotated);
    expect(result.error).toMatch(/^host key changed: expected SHA256:\S+, got SHA256:\S+$/);
    expect(result.error).toContain(result.hostKeyFingerprint);

    const repinned = await probeNode(target({ pinnedHostKey: `${rotated} a comment` }));
    expect(repinned.ok).toBe(true);
    expect(repinned.hostKeyMismatch).toBeUndefined();
  });

  it('times out against a port that accepts TCP but never speaks SSH, and closes its socket', async () => {
    const server = net.createServer((socket) => socket.resume()); // reads, never writes
    await new Promise<void>((resolve) => server.listen(SILENT_PORT, '127.0.0.1', resolve));
    try {
      const result = await probeNode(target({ port: SILENT_PORT, timeoutMs: 800 }));
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/^timeout after 800 ms/);
      expect(result.latencyMs).toBeGreaterThanOrEqual(700);
      for (let i = 0; i < 50 && (await connections(server)) > 0; i++) await sleep(20);
      expect(await connections(server)).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reports a closed port as connection refused', async () => {
    const result = await probeNode(target({ port: CLOSED_PORT }));
    expect(result).toMatchObject({ ok: false, error: 'connection refused' });
    expect(result.hostKey).toBeUndefined();
  });

  it('reports an unusable private key without echoing it', async () => {
    const garbage = '-----BEGIN OPENSSH PRIVATE KEY-----\nnotakeynotakeynotakeynotakeynotakey\n-----END OPENSSH PRIVATE KEY-----\n';
    const result = await probeNode(target({ privateKey: garbage }));
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/^invalid private key/);
    expectNoSecret(result, garbage);
    const bad = await probeNode(target({ pinnedHostKey: 'ssh-ed25519 not-base64!' }));
    expect(bad.error).toBe('pinned host key is not an OpenSSH public key line');
  });

  it('never throws and keeps answering under concurrency', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => probeNode(target())));
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });
});

function connections(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((err, count) => (err ? reject(err) : resolve(count))));
}
