// Damage is never deletion, across restarts (docs/adr/0017-damage-is-never-deletion.md). `orion run --dir` runs as a
// separate process, as root without the capabilities that bypass file permissions (setpriv), so that a file it may
// not read fails with EACCES as it would for any service. Each manifest file declares a Rental that is Ready on a
// real sshd worker. For each kind of damage, while Orion runs and then across a restart with the file still damaged:
// the Rental stays with the same uid and no deletionTimestamp, its tenant's account stays on the worker (delete_user
// never ran), and the error names the file and the reason. Restoring the file brings back nothing new: the same uid.
// Only removing the file deletes.
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { RentalResource } from '../../src/api/types.js';
import { logsCommand } from '../../src/cli/logs.js';
import { generateClientKeyPair, LocalDataPlane, type ClientKeyPair, type SshWorker } from '../../src/dataplane/workers.js';
import type { ManifestError } from '../../src/folder/manifest-file.js';
import { mountEioFs, type EioFs } from '../harness/eio-fs.js';
import { freePort } from '../harness/kube.js';
import { waitFor } from '../harness/cluster.js';
import { REPO } from '../harness/kube-bed.js';

const BASE_PORT = 22960;
/** Root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH: file permissions apply to Orion as to any service. */
const NO_DAC = ['--inh-caps=-dac_override,-dac_read_search', '--bounding-set=-dac_override,-dac_read_search'];

interface Damage {
  what: string;
  /** The reason the report must give. */
  reason: RegExp;
  damage(file: string): Promise<void>;
  restore(file: string, text: string): Promise<void>;
}

const rewrite = async (file: string, text: string) => {
  await rm(file, { force: true });
  await writeFile(file, text);
};

describe('damage is never deletion: folder mode before and after a restart (real sshd, Ansible, files)', () => {
  let root: string;
  let manifests: string;
  let state: string;
  let dataPlane: LocalDataPlane;
  let orchestrator: ClientKeyPair;
  let tenant: ClientKeyPair;
  let orion: ResultPromise | undefined;
  let eio: EioFs;
  const texts = new Map<string, string>();

  const rentalFile = () => join(manifests, 'rental.yaml');
  const diskFile = () => join(eio.mountpoint, 'rental.yaml');

  const readState = async <T>(...path: string[]): Promise<T | undefined> => {
    try {
      return JSON.parse(await readFile(join(state, ...path), 'utf8')) as T;
    } catch {
      return undefined;
    }
  };
  const rental = (name: string) => readState<RentalResource>('objects', 'Rental', 'default', `${name}.json`);
  const invalid = async () => (await readState<ManifestError[]>('invalid.json')) ?? [];
  const worker = (name: string): SshWorker => dataPlane.worker(name);
  const userExists = async (w: SshWorker, user: string) => (await w.exec(['id', '-u', user])).exitCode === 0;

  async function startOrion(): Promise<void> {
    const port = await freePort();
    orion = execa('setpriv', [...NO_DAC, '--', process.execPath, '--import', 'tsx', join(REPO, 'test/harness/orion-cli.ts'),
      'run', '--dir', manifests, '--state', state, '--listen', `127.0.0.1:${port}`], {
      cwd: REPO, reject: false, stdin: 'ignore', stdout: { file: join(root, 'orion.log'), append: true }, stderr: { file: join(root, 'orion.log'), append: true },
      env: { ORION_LOG_FORMAT: 'json' },
    });
    await waitFor('orion ready', async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
      } catch {
        return false;
      }
    }, 120_000);
  }

  async function stopOrion(): Promise<void> {
    orion?.kill('SIGTERM');
    await orion;
    orion = undefined;
  }

  const rentalManifest = (name: string, pool: string) => ({
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'Rental',
    metadata: { name },
    spec: { user: name, sshPublicKeys: [tenant.publicKey], nodeSelector: { matchLabels: { pool } } },
  });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'orion-damage-'));
    manifests = join(root, 'manifests');
    state = join(root, 'state');
    await mkdir(manifests, { recursive: true });
    orchestrator = await generateClientKeyPair(join(root, 'keys', 'orchestrator'));
    tenant = await generateClientKeyPair(join(root, 'keys', 'tenant'));
    dataPlane = new LocalDataPlane({ dir: join(root, 'dataplane'), basePort: BASE_PORT, count: 2, authorizedKeys: [orchestrator.publicKey] });
    await dataPlane.start();
    const nodes = dataPlane.workers.map((w, i) => ({
      apiVersion: 'orion.lab/v1alpha1',
      kind: 'Node',
      metadata: { name: w.name, labels: { pool: i === 0 ? 'local' : 'disk' } },
      spec: { address: '127.0.0.1', port: w.port, user: 'root', secretRef: { name: 'worker-key' }, probe: { intervalSeconds: 2, timeoutSeconds: 3, failureThreshold: 2, successThreshold: 1 } },
    }));
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'worker-key' }, stringData: { privateKey: orchestrator.privateKey } };
    await writeFile(join(manifests, 'inventory.yaml'), [secret, ...nodes].map((d) => stringify(d)).join('---\n'));
    texts.set('ada', stringify(rentalManifest('ada', 'local')));
    texts.set('bea', stringify(rentalManifest('bea', 'disk')));
    await writeFile(rentalFile(), texts.get('ada') as string);
    // bea's file lives on a file system whose reads can be made to fail with EIO.
    await mkdir(join(root, 'disk-backing'));
    await writeFile(join(root, 'disk-backing', 'rental.yaml'), texts.get('bea') as string);
    eio = await mountEioFs(join(root, 'disk-backing'), join(manifests, 'disk'));
    await startOrion();
    for (const name of ['ada', 'bea']) await waitFor(`${name} Ready`, async () => (await rental(name))?.status?.phase === 'Ready', 180_000);
  }, 600_000);

  afterAll(async () => {
    await stopOrion().catch(() => undefined);
    await eio?.unmount().catch(() => undefined);
    await dataPlane?.stopAll().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });

  const damages: Array<Damage & { rental: 'ada' | 'bea' }> = [
    {
      what: 'emptied',
      rental: 'ada',
      reason: /^file is empty; keeping its previous resources \(delete the file to delete them\)$/,
      damage: (file) => writeFile(file, ''),
      restore: (file, text) => writeFile(file, text),
    },
    {
      what: 'left with comments only',
      rental: 'ada',
      reason: /^file declares nothing; keeping its previous resources/,
      damage: (file) => writeFile(file, '# all gone\n---\n'),
      restore: (file, text) => writeFile(file, text),
    },
    {
      what: 'truncated in the middle of the object',
      rental: 'ada',
      reason: /^invalid YAML: /,
      damage: async (file) => writeFile(file, (texts.get('ada') as string).slice(0, 70)),
      restore: (file, text) => writeFile(file, text),
    },
    {
      what: 'unreadable (EACCES)',
      rental: 'ada',
      reason: /^cannot read: EACCES: permission denied; keeping its previous resources/,
      damage: async (file) => {
        await chmod(file, 0o000);
        await execa('touch', [file]); // a change the watcher sees, as a replaced file would be
      },
      restore: async (file) => {
        await chmod(file, 0o644);
        await execa('touch', [file]);
      },
    },
    {
      what: 'replaced by a FIFO',
      rental: 'ada',
      reason: /^not a regular file \(a FIFO\); keeping its previous resources/,
      damage: async (file) => {
        await rm(file);
        await execa('mkfifo', ['-m', '0644', file]);
      },
      restore: rewrite,
    },
    {
      what: 'on a disk whose reads fail (EIO)',
      rental: 'bea',
      reason: /^cannot read: EIO: i\/o error; keeping its previous resources/,
      damage: async () => {
        await eio.failReads('rental.yaml');
        await eio.touch('rental.yaml');
      },
      restore: async () => {
        await eio.heal('rental.yaml');
        await eio.touch('rental.yaml');
      },
    },
  ];

  /** The Rental is still there, the same one, not being deleted, Ready, and its account is on its worker. */
  async function expectKept(name: string, uid: string, nodeName: string): Promise<void> {
    const kept = await rental(name);
    expect(kept?.metadata.uid).toBe(uid);
    expect(kept?.metadata.deletionTimestamp).toBeUndefined();
    expect(kept?.status?.phase).toBe('Ready');
    expect(await userExists(worker(nodeName), name)).toBe(true);
    const runs = await logsCommand(`rental/${name}`, { stateDir: state, namespace: 'default', list: true });
    expect(runs).not.toMatch(/delete_user/);
  }

  const reported = async (file: string, reason: RegExp) => {
    const errors = (await invalid()).filter((e) => join(REPO, e.file) === file || e.file === file);
    return errors.some((e) => reason.test(e.message)) && errors;
  };

  it.each(damages)('a file $what keeps its Rental, live and after a restart, and says why', async ({ rental: name, reason, damage, restore }) => {
    const file = name === 'ada' ? rentalFile() : diskFile();
    const before = (await rental(name)) as RentalResource;
    const nodeName = before.status?.nodeName ?? '';

    await damage(file);
    const errors = await waitFor('the damage reported', () => reported(file, reason), 30_000);
    expect(errors[0]?.file).toMatch(/rental\.yaml$/);
    await new Promise((r) => setTimeout(r, 1500)); // time for a wrong deletion to show
    await expectKept(name, before.metadata.uid, nodeName);

    // Across a restart with the file still damaged: nothing in memory, the state directory remembers.
    await stopOrion();
    await rm(join(state, 'invalid.json'), { force: true });
    await startOrion();
    await waitFor('the damage reported after the restart', () => reported(file, reason), 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    await expectKept(name, before.metadata.uid, nodeName);

    await restore(file, texts.get(name) as string);
    await waitFor('the report cleared', async () => !(await invalid()).some((e) => e.file.endsWith(name === 'ada' ? 'manifests/rental.yaml' : 'disk/rental.yaml')), 30_000);
    await expectKept(name, before.metadata.uid, nodeName);
  }, 300_000);

  it('a file that is gone (ENOENT) deletes what it declared: the finalizer runs delete_user', async () => {
    const before = (await rental('ada')) as RentalResource;
    await rm(rentalFile());
    await waitFor('ada deleted', async () => (await rental('ada')) === undefined, 120_000);
    expect(await userExists(worker(before.status?.nodeName ?? ''), 'ada')).toBe(false);
  }, 180_000);
});
