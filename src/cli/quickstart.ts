// `orion quickstart` (npm start): a local data plane of SSH workers, Orion in folder mode on
// examples/quickstart, and a live view of the nodes and rentals. Workers can be stopped and started
// from another terminal with `orion worker stop|start NAME`, to watch a node die and a rental move.
// When a local libvirt answers (quickstart-lab.ts), a small Lab of one VM too, destroyed on Ctrl-C.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import type { RequestHandler } from 'express';
import { problemHandler } from '../server/problem.js';
import { TokenStore, tokensFile } from '../server/auth/tokens.js';
import { QUICKSTART_ADMIN_TOKEN } from './worker.js';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { generateClientKeyPair, LocalDataPlane, type SshWorker } from '../dataplane/workers.js';
import type { Express } from 'express';
import type { LabResource } from '../api/types.js';
import type { ObjectRef } from '../api/refs.js';
import { logger } from '../telemetry/logger.js';
import { getCommand } from './get.js';
import { packageRoot } from '../base/package-root.js';
import { resolveStateDir } from './paths.js';
import { detectLab, LAB_FILE, labTargetFromEnv, QUICKSTART_LAB, writeLabManifest } from './quickstart-lab.js';
import { startOrion, type RunningOrion } from './run.js';

export interface QuickstartOptions {
  dir?: string;
  workers: number;
  basePort: number;
  listen: string;
}

export async function quickstart(options: QuickstartOptions): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error('the quickstart runs its SSH workers in their own Linux namespaces and needs root (try: sudo npm start)');
  }
  const dir = resolve(options.dir ?? join(packageRoot(), 'examples', 'quickstart'));
  const stateDir = resolveStateDir({ dir });
  if (!process.env.ORION_LOG_LEVEL) logger.level = 'warn';

  const orchestratorKey = await generateClientKeyPair(join(stateDir, 'keys', 'orchestrator'));
  const tenantKey = await generateClientKeyPair(join(stateDir, 'keys', 'tenant'));
  const dataPlane = new LocalDataPlane({
    dir: join(stateDir, 'dataplane'),
    basePort: options.basePort,
    count: options.workers,
    authorizedKeys: [orchestratorKey.publicKey],
  });
  say(`starting ${options.workers} SSH workers on 127.0.0.1:${options.basePort}-${options.basePort + options.workers - 1} ...`);
  await dataPlane.start();
  await writeGeneratedManifests(dir, orchestratorKey.privateKey, tenantKey.publicKey);
  const terraform = await prepareLab(join(dir, 'generated'));

  const tokens = await issueTokens(stateDir, tenantKey.publicKey);
  const orion = await startOrion({ dir, listen: options.listen, nodeConcurrency: 16, rentalConcurrency: 4, terraform });
  if (orion.portal) exposeWorkerControl(orion.app, dataPlane, orion.portal.requireAdmin);
  else say('worker controls off: the portal is not served on this address without TLS');
  say(quickstartHelp(dir, tenantKey.privateKeyPath, options.listen, terraform !== undefined));
  say(portalHelp(options.listen, tokens, join(stateDir, QUICKSTART_ADMIN_TOKEN)));
  const kinds = terraform ? ['nodes', 'rentals', 'labs'] : ['nodes', 'rentals'];
  const view = setInterval(() => void printView(stateDir, kinds), 2000);
  await printView(stateDir, kinds);

  await new Promise<void>((done) => {
    const stop = (): void => {
      process.once('SIGINT', () => process.exit(130));
      clearInterval(view);
      const lab = terraform ? destroyLab(dir, orion) : Promise.resolve();
      void lab
        .catch((err: Error) => say(`could not delete Lab "${QUICKSTART_LAB}": ${err.message}`))
        .then(() => {
          say('\nstopping Orion and the workers ...');
          return orion.stop();
        })
        .finally(() => dataPlane.stopAll().finally(done));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/**
 * Writes generated/lab.yaml when a local libvirt and a Terraform with its provider are usable and returns that
 * Terraform binary; otherwise removes a Lab a previous run wrote and says in one line why there is none.
 */
async function prepareLab(generated: string): Promise<string | undefined> {
  const detection = await detectLab(labTargetFromEnv(), packageRoot());
  if (!detection.available) {
    await rm(join(generated, LAB_FILE), { force: true });
    say(`Lab skipped: ${detection.reason}`);
    return undefined;
  }
  const { target, terraform } = detection;
  // The provider mirror of .tools/ reaches the Lab's Terraform runs through the environment they inherit.
  if (terraform.cliConfig) process.env.TF_CLI_CONFIG_FILE = terraform.cliConfig;
  await writeLabManifest(generated, target);
  say(`Lab "${QUICKSTART_LAB}": one VM on ${target.uri} (pool ${target.pool}, network ${target.network}) with ${terraform.binary}`);
  return terraform.binary;
}

const LAB_DESTROY_TIMEOUT_MS = 5 * 60_000;

/** Deletes the Lab's manifest and waits for its finalizer: the VM and its volume are destroyed by `destroy`. */
async function destroyLab(dir: string, orion: RunningOrion): Promise<void> {
  say(`\ndestroying Lab "${QUICKSTART_LAB}" (Ctrl-C again exits at once; the next run picks up where this one stopped) ...`);
  await rm(join(dir, 'generated', LAB_FILE), { force: true });
  const deadline = Date.now() + LAB_DESTROY_TIMEOUT_MS;
  const key: ObjectRef = { kind: 'Lab', namespace: 'default', name: QUICKSTART_LAB };
  while (orion.store.get<LabResource>(key) !== undefined) {
    if (Date.now() > deadline) {
      say(`Lab "${QUICKSTART_LAB}" is still being deleted after ${LAB_DESTROY_TIMEOUT_MS / 60_000} min; see: orion logs lab/${QUICKSTART_LAB}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  say(`Lab "${QUICKSTART_LAB}" destroyed.`);
}

/** The Secret with the orchestrator's key and the two tenants' Rentals, made for this machine. */
async function writeGeneratedManifests(dir: string, privateKey: string, tenantPublicKey: string): Promise<void> {
  const generated = join(dir, 'generated');
  await mkdir(generated, { recursive: true, mode: 0o700 });
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'worker-key' }, stringData: { privateKey } };
  await writeFile(join(generated, 'worker-key.secret.yaml'), `# Generated by orion quickstart: the key Orion uses to reach the workers.\n${stringify(secret)}`, { mode: 0o600 });
  const rental = (name: string) => ({
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'Rental',
    metadata: { name },
    spec: { user: name, sshPublicKeys: [tenantPublicKey], nodeSelector: { matchLabels: { pool: 'quickstart' } } },
  });
  const rentals = [rental('alice'), rental('bob')].map((r) => stringify(r)).join('---\n');
  await writeFile(join(generated, 'rentals.yaml'), `# Generated by orion quickstart: two tenants, with the key in .orion/keys/tenant.\n${rentals}`);
}

export const QUICKSTART_TENANT = 'carol';

/**
 * A fresh admin token and a tenant token (carol, with the tenant key registered) for this run; the admin's is also
 * saved, 0600 under the root-only state directory, for `orion worker` (the workers' controls need an admin).
 */
async function issueTokens(stateDir: string, tenantPublicKey: string): Promise<{ admin: string; tenant: string }> {
  const store = new TokenStore(tokensFile(stateDir));
  for (const name of ['admin', QUICKSTART_TENANT]) await store.revoke(name);
  const admin = (await store.create('admin', { admin: true })).token;
  const tenant = (await store.create(QUICKSTART_TENANT, { sshPublicKeys: [tenantPublicKey] })).token;
  await mkdir(join(stateDir, 'quickstart'), { recursive: true, mode: 0o700 });
  await writeFile(join(stateDir, QUICKSTART_ADMIN_TOKEN), `${admin}\n`, { mode: 0o600 });
  return { admin, tenant };
}

function portalHelp(listen: string, tokens: { admin: string; tenant: string }, adminFile: string): string {
  return [
    '',
    `The portal: open http://${listen}/ in a browser and log in with one of these tokens (for this run; Orion keeps`,
    'only their hashes): the admin sees the fleet, jobs and events; carol rents, opens a terminal, follows her runs.',
    `  admin:  ${tokens.admin}   (also in ${adminFile}, for orion worker)`,
    `  ${QUICKSTART_TENANT}:  ${tokens.tenant}`,
    `  export ORION_TOKEN=${tokens.tenant}`,
    `  curl -s -X POST -H "Authorization: Bearer $ORION_TOKEN" http://${listen}/api/rent      # a node for ${QUICKSTART_TENANT}, or 503`,
    `  curl -s -H "Authorization: Bearer $ORION_TOKEN" http://${listen}/api/v1/rentals`,
    `  npx orion logs rental/<NAME> -f --server http://${listen}                          # its create_user run, live`,
  ].join('\n');
}

/** The workers' controls for `orion worker stop|start|kill NAME`: admins only. */
function exposeWorkerControl(app: Express, dataPlane: LocalDataPlane, requireAdmin: RequestHandler[]): void {
  app.post('/quickstart/workers/:name/:action', ...requireAdmin, async (req, res) => {
    let worker: SshWorker;
    try {
      worker = dataPlane.worker(String(req.params.name));
    } catch (err) {
      return void res.status(404).json({ error: (err as Error).message });
    }
    const actions: Record<string, () => Promise<void>> = { stop: () => worker.stop(), kill: () => worker.kill(), start: () => worker.start() };
    const action = actions[String(req.params.action)];
    if (!action) return void res.status(400).json({ error: 'action must be stop, kill or start' });
    try {
      await action();
      res.json({ worker: worker.name, running: worker.running });
    } catch (err) {
      res.status(500).json({ error: (err as Error).message });
    }
  });
  app.use('/quickstart', problemHandler);
}

async function printView(stateDir: string, kinds: string[]): Promise<void> {
  const tables = await Promise.all(kinds.map((kind) => getCommand(kind, undefined, { stateDir }).catch((e: Error) => e.message)));
  const text = `\n[${new Date().toLocaleTimeString()}]\n${tables.join('\n\n')}\n`;
  if (text.slice(text.indexOf(']')) !== lastView) say(text);
  lastView = text.slice(text.indexOf(']'));
}

let lastView = '';

function quickstartHelp(dir: string, tenantKey: string, listen: string, withLab: boolean): string {
  return [
    '',
    `Orion watches ${dir} (metrics on http://${listen}/metrics).`,
    'In another terminal:',
    '  npx orion get nodes --dir examples/quickstart          # health of the four workers',
    '  npx orion worker stop worker-1                          # simulate a failure; start brings it back',
    `  ssh -i ${tenantKey} -p <PORT> alice@127.0.0.1            # log in as a tenant (port: orion get rentals)`,
    ...(withLab ? ['  npx orion get lab quickstart -o yaml --dir examples/quickstart   # the Lab\'s machine, its VNC port'] : []),
    `Press Ctrl-C to stop${withLab ? ' (the Lab\'s VM is destroyed first)' : ''}.`,
  ].join('\n');
}

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}
