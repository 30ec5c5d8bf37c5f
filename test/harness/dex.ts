// A real OpenID Connect provider for the web app's login test: Dex (built from its Go module by dex/install.sh) on a
// loopback port, memory storage, one static client (the portal, with its redirect URL) and the mock connector, which
// signs in "Kilgore Trout" (kilgore@kilgore.trout, group "authors") without a form. Stopped with the test.
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { waitFor } from './cluster.js';
import { freePort } from './kube.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEX = join(process.env.ORION_TOOLS_DIR ?? join(REPO, '.tools'), 'bin', 'dex');

export const DEX_USER = { email: 'kilgore@kilgore.trout', login: 'kilgore', group: 'authors' };

export interface DexProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  stop(): Promise<void>;
}

export async function startDex(redirectUri: string): Promise<DexProvider> {
  await execa('bash', [join(REPO, 'test/harness/dex/install.sh')], { stdin: 'ignore', stdout: 'inherit', stderr: 'inherit' });
  const root = await mkdtemp(join(tmpdir(), 'orion-dex-'));
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}/dex`;
  const clientSecret = `secret-${Math.random().toString(36).slice(2)}`;
  const config = {
    issuer,
    storage: { type: 'memory' },
    web: { http: `127.0.0.1:${port}` },
    logger: { level: 'info' },
    oauth2: { skipApprovalScreen: true, responseTypes: ['code'] },
    staticClients: [{ id: 'orion-portal', name: 'Orion', secret: clientSecret, redirectURIs: [redirectUri] }],
    connectors: [{ type: 'mockCallback', id: 'mock', name: 'Example organisation' }],
    enablePasswordDB: false,
  };
  await writeFile(join(root, 'config.yaml'), stringify(config), { mode: 0o600 });
  const child: ResultPromise = execa(DEX, ['serve', join(root, 'config.yaml')], { cwd: root, reject: false, stdin: 'ignore', stdout: { file: join(root, 'dex.log') }, stderr: { file: join(root, 'dex.log') } });
  await waitFor('Dex serving its discovery document', async () => {
    const answer = await fetch(`${issuer}/.well-known/openid-configuration`).catch(() => undefined);
    return answer?.ok === true;
  }, 30_000);
  return {
    issuer,
    clientId: 'orion-portal',
    clientSecret,
    async stop() {
      child.kill('SIGTERM');
      await child;
      await rm(root, { recursive: true, force: true });
    },
  };
}
