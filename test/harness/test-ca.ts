// A throwaway certificate authority made with the real openssl, and a server certificate it signs for localhost
// and 127.0.0.1: what the TLS tests trust, in a folder of their own.
import { execa } from 'execa';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureCommand } from './system-tools.js';

export interface TestCertificates {
  ca: string;
  cert: string;
  key: string;
}

export async function makeTestCa(dir: string): Promise<TestCertificates> {
  const openssl = await ensureCommand('openssl', 'openssl');
  const run = (args: string[]) => execa(openssl, args, { cwd: dir, timeout: 60_000 });
  await run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=Orion test CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
  await run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr']);
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.pem']);
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') };
}
