// SSH probes on a worker thread (src/exec/probe-pool.ts): the worker's results are the probe's own, and a probe the
// worker cannot finish is an error for the caller — never a failed probe, which would mark a healthy node Dead.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProbePool, ProbeWorkerError } from '../../src/exec/probe-pool.js';

const key = ssh2.utils.generateKeyPairSync('ed25519').private;
let silent: Server;
const held = new Set<Socket>();

beforeAll(async () => {
  // Accepts TCP and never says a word: a probe of it waits in the SSH handshake until its timeout.
  silent = createServer((socket) => void held.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

function closedPort(): Promise<number> {
  const server = createServer();
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    server.close(() => resolve(port));
  }));
}

describe('ProbePool', () => {
  it('hands back the probe\'s own results from its worker thread (refused, timed out)', async () => {
    const pool = new ProbePool();
    try {
      const result = await pool.probe({ address: '127.0.0.1', port: await closedPort(), user: 'root', privateKey: key, timeoutMs: 5000 });
      expect(result).toMatchObject({ ok: false, error: 'connection refused' });
      const timedOut = await pool.probe({ address: '127.0.0.1', port: (silent.address() as AddressInfo).port, user: 'root', privateKey: key, timeoutMs: 300 });
      expect(timedOut.ok).toBe(false);
      expect(timedOut.error).toMatch(/^timeout after 300 ms in SSH handshake/);
    } finally {
      await pool.close();
    }
  });

  it('turns a probe the worker cannot finish into an error, not a failed probe', async () => {
    const pool = new ProbePool();
    const probing = pool.probe({ address: '127.0.0.1', port: (silent.address() as AddressInfo).port, user: 'root', privateKey: key, timeoutMs: 30_000 }).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 1500));
    await pool.close();
    const outcome = await probing;
    expect(outcome).toBeInstanceOf(ProbeWorkerError);
    expect((outcome as Error).message).toBe('Orion is stopping');
  });

  it('starts a new worker for the next probe after one stopped', async () => {
    const pool = new ProbePool();
    try {
      await pool.close();
      const result = await pool.probe({ address: '127.0.0.1', port: await closedPort(), user: 'root', privateKey: key, timeoutMs: 5000 });
      expect(result.error).toBe('connection refused');
    } finally {
      await pool.close();
    }
  });
});
