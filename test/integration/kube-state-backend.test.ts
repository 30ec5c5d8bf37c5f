// Terraform state in Secrets (KubeSecretStateBackend) against a real kube-apiserver and etcd: round trip, a state
// past the 1 MiB Secret limit split over several Secrets and back byte for byte, no write for an unchanged state,
// the last N versions kept, every Secret owned by its Lab, and neither an interrupted save nor a lost head
// corrupting what load returns.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabResource } from '../../src/api/types.js';
import { pullState, STATE_FILE, stateSerial } from '../../src/exec/terraform/state.js';
import { KubeStore } from '../../src/kube/store.js';
import type { KubeClient, KubeRequest, RequestInfo } from '../../src/kube/client.js';
import { KubeSecretStateBackend, KubeStateBackends } from '../../src/kube/state-backend.js';
import { STATE_OF_LABEL } from '../../src/kube/state-secrets.js';
import { KubeBed, NAMESPACE, waitFor } from '../harness/kube-bed.js';

interface SecretJson {
  metadata: { name: string; labels?: Record<string, string>; ownerReferences?: Array<{ kind: string; name: string; uid: string; controller?: boolean }> };
  data?: Record<string, string>;
}

const KEEP = 3;

function labManifest(name: string): object {
  return {
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'Lab',
    metadata: { name },
    spec: {
      machines: [{ name: 'm', count: 1, cpu: 1, memoryMiB: 256, diskGiB: 1 }],
    },
  };
}

/** A Terraform-like state; `payload` makes it as large (and as incompressible) as wanted. */
function tfstate(serial: number, payload = ''): Buffer {
  return Buffer.from(JSON.stringify({ version: 4, terraform_version: '1.8.0', serial, lineage: 'test', outputs: {}, resources: [], payload }, null, 2));
}

describe('KubeSecretStateBackend on a real kube-apiserver', () => {
  let bed: KubeBed;
  let store: KubeStore;
  const requests: RequestInfo[] = [];

  beforeAll(async () => {
    bed = await KubeBed.create();
    await bed.apply([labManifest('alpha'), labManifest('beta'), labManifest('gamma')]);
    store = new KubeStore({ kubeconfig: bed.kube.kubeconfig, namespace: NAMESPACE, kinds: ['Lab'] });
    store.client.observe((info) => requests.push(info));
    await store.start();
  });

  afterAll(async () => {
    await store?.stop();
    await bed?.destroy();
  });

  /** A backend with its own (empty) cache of loaded states, as a restarted Orion would have. */
  const backend = (name: string, client: KubeClient = store.client): KubeSecretStateBackend =>
    new KubeStateBackends({ client, owners: store, keep: KEEP }).forWorkspace({ kind: 'lab', namespace: NAMESPACE, name });

  const secretsOf = async (name: string): Promise<SecretJson[]> => {
    const out = await bed.mustKubectl(['get', 'secrets', '-n', NAMESPACE, '-l', `${STATE_OF_LABEL}=lab.${name}`, '-o', 'json']);
    return (JSON.parse(out) as { items: SecretJson[] }).items;
  };
  const uidOf = (name: string) => store.get<LabResource>({ kind: 'Lab', namespace: NAMESPACE, name })?.metadata.uid;

  it('saves and loads a state; every Secret is labelled and owned by the Lab', async () => {
    const state = tfstate(1);
    expect(await backend('alpha').load()).toBeUndefined();
    await backend('alpha').save(state);
    const loaded = await backend('alpha').load();
    expect(loaded?.equals(state)).toBe(true);
    const secrets = await secretsOf('alpha');
    expect(secrets.map((s) => s.metadata.name).sort()).toEqual(['tfstate-lab-alpha', 'tfstate-lab-alpha-g1-c0']);
    for (const secret of secrets) {
      expect(secret.metadata.ownerReferences).toEqual([
        { apiVersion: 'orion.lab/v1alpha1', kind: 'Lab', name: 'alpha', uid: uidOf('alpha'), controller: true },
      ]);
    }
    expect(await backend('alpha').history()).toEqual([expect.stringMatching(/^g1-serial1-[0-9a-f]{12}$/)]);
  });

  it('saving the same content again writes nothing', async () => {
    const before = requests.length;
    await backend('alpha').save(tfstate(1));
    const verbs = requests.slice(before).map((r) => r.verb);
    expect(verbs.length).toBeGreaterThan(0);
    expect(verbs.filter((v) => v !== 'get')).toEqual([]);
  });

  it('a state past 1 MiB spans several Secrets, each under the limit, and comes back byte-identical', async () => {
    const big = tfstate(2, randomBytes(Math.round(2.5 * 1024 * 1024)).toString('base64'));
    expect(big.length).toBeGreaterThan(3 * 1024 * 1024);
    await backend('alpha').save(big);
    const secrets = await secretsOf('alpha');
    const chunks = secrets.filter((s) => s.metadata.name.startsWith('tfstate-lab-alpha-g2-'));
    expect(chunks.length).toBeGreaterThanOrEqual(4);
    for (const secret of secrets) {
      const bytes = Object.values(secret.data ?? {}).reduce((sum, v) => sum + Buffer.from(v, 'base64').length, 0);
      expect(bytes).toBeLessThan(1024 * 1024);
      expect(secret.metadata.ownerReferences?.[0]?.uid).toBe(uidOf('alpha'));
    }
    const loaded = await backend('alpha').load();
    expect(loaded?.length).toBe(big.length);
    expect(loaded?.equals(big)).toBe(true);
    expect(stateSerial(loaded as Buffer)).toBe(2);
  });

  it(`keeps the last ${KEEP} versions and deletes the chunks of older ones`, async () => {
    for (let serial = 3; serial <= 6; serial++) await backend('alpha').save(tfstate(serial, `v${serial}`));
    const history = await backend('alpha').history();
    expect(history.map((id) => id.split('-')[0])).toEqual(['g6', 'g5', 'g4']);
    expect((await backend('alpha').version(history[2] as string))?.equals(tfstate(4, 'v4'))).toBe(true);
    const names = (await secretsOf('alpha')).map((s) => s.metadata.name).sort();
    expect(names).toEqual(['tfstate-lab-alpha', 'tfstate-lab-alpha-g4-c0', 'tfstate-lab-alpha-g5-c0', 'tfstate-lab-alpha-g6-c0']);
  });

  it('an interrupted save (chunks written, head not switched) leaves the previous state; the next save cleans up', async () => {
    await backend('beta').save(tfstate(1, 'before'));
    // A client that dies on the head switch: the new generation's chunks are written, the head is not.
    const failing = new Proxy(store.client, {
      get(target, prop, receiver) {
        if (prop !== 'request') return Reflect.get(target, prop, receiver) as unknown;
        return async (req: KubeRequest) => {
          const body = req.body as { metadata?: { name?: string } } | undefined;
          if (req.method !== 'GET' && body?.metadata?.name === 'tfstate-lab-beta') throw new Error('killed before the head switch');
          return target.request(req);
        };
      },
    });
    const big = tfstate(2, randomBytes(1024 * 1024).toString('base64'));
    await expect(backend('beta', failing).save(big)).rejects.toThrow(/killed before the head switch/);
    const leftovers = (await secretsOf('beta')).filter((s) => s.metadata.name.includes('-g2-'));
    expect(leftovers.length).toBeGreaterThanOrEqual(2);
    expect((await backend('beta').load())?.equals(tfstate(1, 'before'))).toBe(true);

    // The next save reuses generation 2 with fewer chunks: the interrupted save's extra chunks go.
    await backend('beta').save(tfstate(3, 'after'));
    expect((await backend('beta').load())?.equals(tfstate(3, 'after'))).toBe(true);
    const names = (await secretsOf('beta')).map((s) => s.metadata.name).sort();
    expect(names).toEqual(['tfstate-lab-beta', 'tfstate-lab-beta-g1-c0', 'tfstate-lab-beta-g2-c0']);
  });

  it('a lost head is rebuilt from the newest complete generation, never taken for "no state"', async () => {
    await backend('beta').save(tfstate(4, 'newest'));
    await bed.mustKubectl(['delete', 'secret', '-n', NAMESPACE, 'tfstate-lab-beta']);
    expect((await backend('beta').load())?.equals(tfstate(4, 'newest'))).toBe(true);
    await backend('beta').save(tfstate(5, 'later'));
    expect((await backend('beta').load())?.equals(tfstate(5, 'later'))).toBe(true);
    expect(await backend('beta').history()).toHaveLength(KEEP);
  });

  it('pullState: a workspace state newer than the saved one (its save failed) is saved, never overwritten', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'orion-ws-'));
    try {
      const ws = { kind: 'lab', namespace: NAMESPACE, name: 'beta', root: dir, dir, logDir: dir };
      const newer = tfstate(6, 'not saved yet');
      await writeFile(join(dir, STATE_FILE), newer);
      expect((await pullState(ws, backend('beta')))?.equals(newer)).toBe(true);
      expect((await backend('beta').load())?.equals(newer)).toBe(true);
      // A state of another lineage in the workspace (stale scratch) gives way to the saved one.
      await writeFile(join(dir, STATE_FILE), JSON.stringify({ version: 4, serial: 99, lineage: 'other', resources: [] }));
      expect((await pullState(ws, backend('beta')))?.equals(newer)).toBe(true);
      expect((await readFile(join(dir, STATE_FILE))).equals(newer)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a damaged chunk is a clear error, not a wrong state', async () => {
    await backend('gamma').save(tfstate(1, 'x'.repeat(1000)));
    await bed.mustKubectl(['patch', 'secret', '-n', NAMESPACE, 'tfstate-lab-gamma-g1-c0', '--type=merge', '-p', '{"data":{"chunk":"AAAA"}}']);
    await expect(backend('gamma').load()).rejects.toThrow(/Terraform state of Lab orion-test\/gamma: generation 1 does not (decompress|match its hash)/);
  });

  it('never reads, replaces or deletes a Secret it did not make for the Lab, whatever its name or labels', async () => {
    await bed.apply([labManifest('delta')]);
    await waitFor('delta in the cache', () => uidOf('delta'));
    const labels = { [STATE_OF_LABEL]: 'lab.delta', 'orion.lab/state-role': 'chunk', 'orion.lab/state-generation': '1' };
    await bed.apply([
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tfstate-lab-delta' }, stringData: { note: 'made by hand' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'planted-chunk', labels, annotations: { 'orion.lab/state-chunks': '1', 'orion.lab/state-hash': 'x' } }, stringData: { chunk: 'AAAA' } },
    ]);
    const versions = async () => Promise.all(['tfstate-lab-delta', 'planted-chunk'].map(async (n) => (await bed.getJson<{ metadata: { resourceVersion: string } }>('secret', n))?.metadata.resourceVersion));
    const before = await versions();
    const notOurs = /Secret orion-test\/tfstate-lab-delta exists and was not made by Orion for the Terraform state of Lab orion-test\/delta/;
    await expect(backend('delta').load()).rejects.toThrow(notOurs);
    await expect(backend('delta').save(tfstate(1))).rejects.toThrow(notOurs);
    await backend('delta').discard().catch(() => undefined);
    expect(await versions()).toEqual(before);
    // Without the head in the way, the planted chunk is no state of delta's: not read, not pruned.
    await bed.mustKubectl(['delete', 'secret', '-n', NAMESPACE, 'tfstate-lab-delta']);
    expect(await backend('delta').load()).toBeUndefined();
    await backend('delta').save(tfstate(1));
    await backend('delta').discard();
    expect((await secretsOf('delta')).map((s) => s.metadata.name)).toEqual(['planted-chunk']);
  });

  it('discard deletes every Secret of the state; saving for a Lab that is gone fails clearly', async () => {
    await backend('gamma').discard();
    expect(await secretsOf('gamma')).toEqual([]);
    expect(await backend('gamma').load()).toBeUndefined();
    await bed.mustKubectl(['delete', 'lab', '-n', NAMESPACE, 'gamma', '--wait=true']);
    await waitFor('gamma gone from the cache', () => uidOf('gamma') === undefined);
    await expect(backend('gamma').save(tfstate(1))).rejects.toThrow(/Terraform state of Lab orion-test\/gamma: the Lab is gone/);
    expect(await secretsOf('gamma')).toEqual([]);
  });
});
