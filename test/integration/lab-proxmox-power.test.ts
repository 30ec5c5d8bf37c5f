// Power operations of a Proxmox Lab against a STAND-IN for the Proxmox VE HTTP API: no Proxmox cluster can run
// on these machines. The stand-in (ProxmoxApiStandIn below) serves the few endpoints the driver uses, over real
// HTTPS with a certificate made here, and checks the API token the way Proxmox reads it.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PowerError, ProxmoxPower } from '../../controllers/machine/power.js';

const run = promisify(execFile);
const TOKEN_ID = 'orion@pve!labs';
const TOKEN_SECRET = '6f1f0c7e-2a8e-4b7e-9d7e-0c2c5b1a9e11';

/** A stand-in for the Proxmox VE API: VM status and power endpoints of one node, token checked, calls recorded. */
class ProxmoxApiStandIn {
  readonly vms = new Map<string, 'running' | 'stopped'>([['101', 'stopped'], ['102', 'running']]);
  readonly calls: string[] = [];
  private server!: Server;
  url = '';

  async start(cert: string, key: string): Promise<void> {
    this.server = createServer({ cert, key }, (req, res) => {
      const reply = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.headers.authorization !== `PVEAPIToken=${TOKEN_ID}=${TOKEN_SECRET}`) return reply(401, { data: null });
      const m = /^\/api2\/json\/nodes\/pve1\/qemu\/(\d+)\/status\/(\w+)$/.exec(req.url ?? '');
      if (!m) return reply(404, { data: null });
      const [, vmid, op] = m as unknown as [string, string, string];
      this.calls.push(`${req.method} ${vmid} ${op}`);
      const vm = this.vms.get(vmid);
      if (!vm) return reply(500, { data: null, message: `Configuration file 'nodes/pve1/qemu-server/${vmid}.conf' does not exist` });
      if (req.method === 'GET' && op === 'current') return reply(200, { data: { status: vm, vmid: Number(vmid), ...(vm === 'running' ? { pid: 4242 } : {}) } });
      if (req.method !== 'POST') return reply(405, { data: null });
      if (op === 'start') this.vms.set(vmid, 'running');
      else if (op === 'stop' || op === 'shutdown') this.vms.set(vmid, 'stopped');
      else if (op !== 'reset') return reply(400, { data: null });
      return reply(200, { data: `UPID:pve1:000:${op}` });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('Proxmox power driver (against a stand-in for the Proxmox API)', () => {
  let dir: string;
  let ca: string;
  const api = new ProxmoxApiStandIn();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'orion-pve-'));
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=pve-stand-in',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    ca = await readFile(join(dir, 'cert.pem'), 'utf8');
    await api.start(ca, await readFile(join(dir, 'key.pem'), 'utf8'));
  });

  afterAll(async () => {
    await api.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const driver = (extra: Partial<ConstructorParameters<typeof ProxmoxPower>[0]> = {}): ProxmoxPower =>
    new ProxmoxPower({ endpoint: api.url, node: 'pve1', tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET, ca, ...extra });

  it('observes VMs, and a missing one as missing', async () => {
    const seen = await driver().observe(['101', '102', '999']);
    expect(seen.get('101')).toEqual({ state: 'stopped', detail: 'stopped' });
    expect(seen.get('102')).toEqual({ state: 'running', detail: 'running', runId: '4242' });
    expect(seen.get('999')).toEqual({ state: 'missing', detail: 'not found' });
  });

  it('starts, shuts down, powers off and resets through the status endpoints', async () => {
    const power = driver();
    await power.act('101', 'start');
    expect(api.vms.get('101')).toBe('running');
    await power.act('101', 'restart');
    await power.act('101', 'shutdown');
    expect(api.vms.get('101')).toBe('stopped');
    await power.act('102', 'poweroff');
    expect(api.vms.get('102')).toBe('stopped');
    expect(api.calls.filter((c) => c.startsWith('POST'))).toEqual(['POST 101 start', 'POST 101 reset', 'POST 101 shutdown', 'POST 102 stop']);
  });

  it('verifies TLS: refused without the CA, accepted with tlsInsecure', async () => {
    await expect(driver({ ca: undefined }).observe(['101'])).rejects.toThrow(/self.signed|certificate/i);
    expect((await driver({ ca: undefined, tlsInsecure: true }).observe(['101'])).get('101')?.state).toBe('stopped');
  });

  it('reports a refused token without repeating it', async () => {
    const error = await driver({ tokenSecret: 'wrong-secret' }).observe(['101']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PowerError);
    expect((error as Error).message).toMatch(/HTTP 401/);
    expect((error as Error).message).not.toContain('wrong-secret');
  });

  it('refuses a VM id that is not a number before any request', async () => {
    const before = api.calls.length;
    await expect(driver().act('../../x', 'start')).rejects.toThrow(/invalid Proxmox VM id/);
    expect(api.calls.length).toBe(before);
  });
});
