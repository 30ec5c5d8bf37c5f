// How the portal is reached: nginx (examples/nginx/orion.conf, the real nginx) terminating TLS with a test CA in
// front of Orion on loopback — a rent, a job's log followed as SSE and a watch go through it; Orion serving HTTPS
// itself (--tls-cert/--tls-key); no portal over plain HTTP off loopback unless --insecure-http; the Host and Origin
// checks; the rate limit. Every request goes to 127.0.0.1.
import { execa, type ResultPromise } from 'execa';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeResource } from '../../src/api/types.js';
import { startOrion } from '../../src/cli/run.js';
import { TokenStore, tokensFile } from '../../src/server/auth/tokens.js';
import { waitFor } from '../harness/cluster.js';
import { freePort } from '../harness/kube.js';
import { PortalBed } from '../harness/portal-bed.js';
import { ensureCommand } from '../harness/system-tools.js';
import { makeTestCa, type TestCertificates } from '../harness/test-ca.js';

const REPO = join(import.meta.dirname, '..', '..');

describe('the portal behind nginx and over TLS (real nginx, openssl, curl)', () => {
  let bed: PortalBed;
  let root: string;
  let certs: TestCertificates;
  let nginx: ResultPromise | undefined;
  let proxy = '';
  let admin: string;
  let alice: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'orion-tls-'));
    certs = await makeTestCa(root);
    bed = await PortalBed.create({ workers: 2, basePort: 24300 });
    [admin, alice] = [await bed.token('ops', true), await bed.token('alice')];
    const port = await freePort();
    nginx = (await startNginx(root, certs, port, new URL(bed.url).port)).child;
    proxy = `https://localhost:${port}`;
    await waitFor('2 Alive nodes', () => bed.list<NodeResource>('Node').filter((n) => n.status?.health === 'Alive').length === 2, 60_000);
  }, 300_000);

  afterAll(async () => {
    nginx?.kill('SIGTERM');
    await nginx?.catch(() => undefined);
    await bed?.destroy();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const curl = (token: string, args: string[]) =>
    execa('curl', ['-sS', '--cacert', certs.ca, '-H', `Authorization: Bearer ${token}`, ...args], { reject: false, timeout: 180_000 });

  it('rents through nginx over TLS, follows a job log and a watch as SSE through it', async () => {
    const rent = await curl(alice, ['-X', 'POST', '-w', '\n%{http_code}', `${proxy}/api/rent`]);
    const [body, status] = String(rent.stdout).split('\n');
    expect(status, String(rent.stdout) + String(rent.stderr)).toBe('200');
    expect(JSON.parse(body ?? '{}')).toMatchObject({ host: '127.0.0.1', user: 'alice' });

    const job = await curl(admin, ['-X', 'POST', '-H', 'Content-Type: application/json', '-d', '{"nodes":["n0","n1"],"recipe":"base"}', `${proxy}/ansible/run`]);
    const { jobId } = JSON.parse(String(job.stdout)) as { jobId: string };
    const follow = await curl(admin, ['-N', `${proxy}/api/v1/namespaces/default/playbookruns/${jobId}/log?follow=true`]);
    expect(follow.exitCode, String(follow.stderr)).toBe(0);
    expect(String(follow.stdout)).toMatch(/data: TASK \[Ping\]/);
    expect(String(follow.stdout)).toMatch(/event: end\nid: [^\n]+\ndata: \{"id":"[^"]+","state":"SUCCESS"/);

    const watch = await curl(alice, ['-N', '--max-time', '4', `${proxy}/api/v1/watch?kind=rentals`]);
    expect(String(watch.stdout)).toMatch(/event: ADDED\nid: \d+\ndata: \{"type":"ADDED","object":\{"apiVersion":"orion.lab\/v1alpha1","kind":"Rental"/);
    expect(String(watch.stdout)).toMatch(/event: SYNCED/);
    const plain = await execa('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `http://localhost:${new URL(proxy).port}/api/v1/rentals`], { reject: false });
    expect(String(plain.stdout)).not.toBe('200'); // nginx speaks TLS only on that port
  });

  it('serves HTTPS itself with --tls-cert/--tls-key, and refuses the portal over plain HTTP off loopback', async () => {
    const dir = join(root, 'direct');
    await mkdir(join(dir, 'm'), { recursive: true });
    const token = (await new TokenStore(tokensFile(join(dir, 'state'))).create('ops', { admin: true })).token;
    const port = await freePort();
    const tls = await startOrion({ dir: join(dir, 'm'), state: join(dir, 'state'), listen: `127.0.0.1:${port}`, nodeConcurrency: 1, rentalConcurrency: 1, portal: { tls: { cert: certs.cert, key: certs.key } } });
    try {
      const ok = await curl(token, ['-w', '\n%{http_code}', `https://localhost:${port}/api/v1/nodes`]);
      expect(String(ok.stdout).split('\n').pop()).toBe('200');
      const untrusted = await execa('curl', ['-sS', `https://localhost:${port}/healthz`], { reject: false });
      expect(untrusted.exitCode).not.toBe(0); // not trusted without the CA
    } finally {
      await tls.stop();
    }
    const open = await startOrion({ dir: join(dir, 'm'), state: join(dir, 'state2'), listen: '0.0.0.0:0', nodeConcurrency: 1, rentalConcurrency: 1 });
    try {
      const url = `http://127.0.0.1:${(open.server.address() as AddressInfo).port}`;
      const refused = await fetch(`${url}/api/v1/nodes`, { headers: { authorization: `Bearer ${token}` } });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { detail: string }).detail).toMatch(/not served over plain HTTP on 0\.0\.0\.0:0: give --tls-cert and --tls-key, or --insecure-http/);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await open.stop();
    }
  });

  it('stops DNS rebinding and cross-site writes, and rate-limits each person', async () => {
    // A page of evil.example whose name resolves to 127.0.0.1 sends Host: evil.example (fetch cannot set Host: curl).
    const rebound = await execa('curl', ['-s', '-w', '\n%{http_code}', '-H', 'Host: evil.example', '-H', `Authorization: Bearer ${alice}`, `${bed.url}/api/v1/rentals`], { reject: false });
    expect(String(rebound.stdout).split('\n').pop()).toBe('421');
    const crossSite = await bed.api<{ detail: string }>(alice, 'POST', '/api/rent', undefined, { origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.detail).toMatch(/cross-origin requests from https:\/\/evil\.example are refused/);
    expect((await bed.api(alice, 'GET', '/api/v1/rentals', undefined, { origin: 'https://evil.example' })).status).toBe(200); // reads carry no CSRF risk

    const dir = join(root, 'limited');
    await mkdir(join(dir, 'm'), { recursive: true });
    const token = (await new TokenStore(tokensFile(join(dir, 'state'))).create('carol')).token;
    const limited = await startOrion({ dir: join(dir, 'm'), state: join(dir, 'state'), listen: '127.0.0.1:0', nodeConcurrency: 1, rentalConcurrency: 1, portal: { ratePerMinute: 5 } });
    try {
      const url = `http://127.0.0.1:${(limited.server.address() as AddressInfo).port}/api/v1/rentals`;
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 6; i++) statuses.push((last = await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
      expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await last?.json()) as { detail: string }).detail).toMatch(/rate limit: at most 5 requests per minute .* for carol; retry in \d+ s/);
    } finally {
      await limited.stop();
    }
  });
});

/** The shipped example, with this test's certificate, ports and temp paths, in a minimal nginx.conf. */
async function startNginx(root: string, certs: TestCertificates, port: number, upstreamPort: string): Promise<{ child: ResultPromise }> {
  const bin = await ensureCommand('nginx', 'nginx');
  const prefix = join(root, 'nginx');
  await mkdir(join(prefix, 'logs'), { recursive: true });
  const site = (await readFile(join(REPO, 'examples', 'nginx', 'orion.conf'), 'utf8'))
    .replace('listen 443 ssl http2;', `listen 127.0.0.1:${port} ssl http2;`)
    .replace('server 127.0.0.1:9477;', `server 127.0.0.1:${upstreamPort};`)
    .replace('server_name orion.example.org;', 'server_name localhost;')
    .replace('/etc/ssl/orion/fullchain.pem', certs.cert)
    .replace('/etc/ssl/orion/privkey.pem', certs.key);
  await writeFile(join(prefix, 'orion.conf'), site);
  await writeFile(join(prefix, 'nginx.conf'), [
    'user root;',
    'worker_processes 1;',
    `pid ${join(prefix, 'nginx.pid')};`,
    `error_log ${join(prefix, 'logs', 'error.log')} warn;`,
    'events { worker_connections 256; }',
    'http {',
    `  access_log ${join(prefix, 'logs', 'access.log')};`,
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(prefix, `${t}_temp`)};`),
    `  include ${join(prefix, 'orion.conf')};`,
    '}',
    '',
  ].join('\n'));
  const child = execa(bin, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { reject: false, stdin: 'ignore' });
  await waitFor('nginx listening', async () => {
    const probe = await execa('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', certs.ca, `https://localhost:${port}/healthz`], { reject: false });
    if (child.exitCode !== null) throw new Error(`nginx exited: ${await readFile(join(prefix, 'logs', 'error.log'), 'utf8').catch(() => '')}`);
    return String(probe.stdout) === '200';
  }, 30_000);
  return { child }; // wrapped: a subprocess is a thenable, and returning it would wait for nginx to exit
}
