// Status that GitOps tools read right: Flux's kstatus library itself (test/harness/kstatus, sigs.k8s.io/cli-utils)
// on every version of every kind's objects that Orion's real controllers wrote to a real kube-apiserver — Nodes and
// Rentals and PlaybookRuns on real sshd workers with real Ansible, a Lab on a real libvirtd with real OpenTofu, a
// Desktop on the named stand-in machine of desktop-standin.ts — in each state:
//
//   progressing (Reconciling)                → InProgress     ready (Ready=True)                   → Current
//   terminal error (Stalled)                 → Failed         generation not yet observed          → InProgress
//
// It prints the table of what it saw (kind × state → kstatus result).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCondition } from '../../src/api/conditions.js';
import type { Condition, KindName, Resource } from '../../src/api/types.js';
import { defaultPlaybookDir } from '../../src/exec/ansible/playbooks.js';
import { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import { DesktopBed, STANDIN_IMAGE, STANDIN_MODULE, standInRenderer } from '../harness/desktop-standin.js';
import { KubeBed, NAMESPACE, waitFor } from '../harness/kube-bed.js';
import { ensureKstatus, kstatus, type KstatusVerdict } from '../harness/kstatus.js';
import { hypervisorManifest, machineClassManifest } from '../harness/manifest-files.js';
import { startLibvirt, type LibvirtEnv } from '../harness/libvirt.js';
import { ensureTofu, type TofuTools } from '../harness/tofu.js';

const BASE_PORT = 23400;
const DESKTOP_PORT = 23420;
const LISTEN = '127.0.0.1:23411';
/** The kinds Orion reconciles (a class or a Hypervisor has no status: nothing reconciles it). */
type Reconciled = Exclude<KindName, 'RentalClass' | 'MachineClass' | 'Hypervisor'>;
const KINDS: Reconciled[] = ['Node', 'Rental', 'Lab', 'Desktop', 'PlaybookRun'];
const PLURAL: Record<Reconciled, string> = { Node: 'nodes.orion.lab', Rental: 'rental', Lab: 'lab', Desktop: 'desktop', PlaybookRun: 'playbookrun' };

type State = 'progressing' | 'ready' | 'terminal error' | 'generation not yet observed';
const EXPECTED: Record<State, KstatusVerdict['status']> = {
  progressing: 'InProgress',
  ready: 'Current',
  'terminal error': 'Failed',
  'generation not yet observed': 'InProgress',
};

const conditionsOf = (obj: Resource): Condition[] | undefined => (obj.status as { conditions?: Condition[] } | undefined)?.conditions;

/** The state an object of Orion says it is in, from its status alone. */
function stateOf(obj: Resource): State | 'no status yet' {
  const status = obj.status as { observedGeneration?: number; conditions?: Condition[] } | undefined;
  if (!status) return 'no status yet';
  if (status.observedGeneration !== obj.metadata.generation) return 'generation not yet observed';
  if (getCondition(status.conditions, 'Ready')?.status === 'True') return 'ready';
  if (getCondition(status.conditions, 'Stalled')?.status === 'True') return 'terminal error';
  return 'progressing';
}

describe('kstatus (Flux) on every kind, in every state, as Orion writes them to a real API server', () => {
  let bed: KubeBed;
  let virt: LibvirtEnv;
  let machines: DesktopBed;
  let tools: TofuTools;
  /** Every version of every object Orion's store saw (the API server's objects), in order. */
  const seen: Resource[] = [];
  /** kind → state → ["name phase/Ready reason", kstatus verdict] of what was seen. */
  const table = new Map<string, Map<State, Array<[string, KstatusVerdict]>>>();

  beforeAll(async () => {
    [bed, virt, machines, tools] = await Promise.all([
      KubeBed.create({ workers: 2, basePort: BASE_PORT }),
      startLibvirt({ id: `orks${randomBytes(3).toString('hex')}` }),
      DesktopBed.create({ basePort: DESKTOP_PORT, workers: 1 }),
      ensureTofu('all'),
      ensureKstatus(),
    ]);
    await startOrion();
  }, 900_000);

  afterAll(async () => {
    printTable();
    await bed?.destroy();
    await virt?.stop();
    await machines?.destroy();
  });

  async function startOrion(): Promise<void> {
    const orion = await bed.startOrion({
      listen: LISTEN,
      terraform: tools.tofu,
      terraformEnv: tools.env,
      imageDirs: [virt.poolDir],
      lab: { shutdownGraceMs: 1500, pollMs: 500 },
      desktop: {
        ansible: new AnsibleRunner({ playbookDirs: [defaultPlaybookDir()], runsDir: join(bed.root, 'state', 'runs'), ansiblePlaybook: join(machines.root, 'bin', 'ansible-playbook-standin') }),
        modulesDir: join(machines.root, 'modules'),
        machineModule: { name: STANDIN_MODULE, render: standInRenderer(machines.records, () => DESKTOP_PORT) },
        pollMs: 300,
      },
    });
    for (const kind of KINDS) orion.store.watch(kind, (event) => event.type !== 'DELETED' && seen.push(event.object));
  }

  const get = async (kind: Reconciled, name: string): Promise<Resource> => {
    const obj = await bed.getJson<Resource>(PLURAL[kind], name);
    if (!obj) throw new Error(`${kind} ${name} not found`);
    return obj;
  };
  const condition = async (kind: Reconciled, name: string, type: string) => getCondition(conditionsOf(await get(kind, name)), type);
  const ready = (kind: Reconciled, name: string) => async () => (await condition(kind, name, 'Ready'))?.status === 'True';
  const stalled = (kind: Reconciled, name: string) => async () => (await condition(kind, name, 'Stalled'))?.status === 'True';

  /** Runs kstatus on the objects, files each verdict under its kind and state, and checks it against the state. */
  async function judge(objects: Resource[]): Promise<void> {
    const verdicts = await kstatus(objects);
    objects.forEach((obj, i) => {
      const state = stateOf(obj);
      const verdict = verdicts[i] as KstatusVerdict;
      expect(state, `${obj.kind} ${obj.metadata.name} has a status`).not.toBe('no status yet');
      if (state === 'no status yet') return;
      expect({ kind: obj.kind, name: obj.metadata.name, state, status: verdict.status }).toEqual({ kind: obj.kind, name: obj.metadata.name, state, status: EXPECTED[state] });
      const byState = table.get(obj.kind) ?? new Map<State, Array<[string, KstatusVerdict]>>();
      table.set(obj.kind, byState);
      const status = obj.status as { phase?: string } | undefined;
      const reason = getCondition(conditionsOf(obj), 'Ready')?.reason ?? '';
      byState.set(state, [...(byState.get(state) ?? []), [`${obj.metadata.name} ${status?.phase ?? ''}/${reason}`, verdict]]);
    });
  }

  /** kind × state → kstatus result, with the objects, phases and reasons it was seen for. */
  function printTable(): void {
    const lines = [`[kstatus] kind × state → kstatus result (${seen.length} object versions seen)`];
    for (const kind of KINDS) {
      for (const state of Object.keys(EXPECTED) as State[]) {
        const entries = table.get(kind)?.get(state) ?? [];
        const results = [...new Set(entries.map(([, v]) => v.status))].join('/') || '—';
        const examples = [...new Set(entries.map(([what]) => what))].slice(0, 6).join(', ');
        lines.push(`  ${kind.padEnd(11)} ${state.padEnd(28)} ${results.padEnd(11)} ${examples}`);
      }
    }
    console.log(lines.join('\n'));
  }

  it('every version Orion writes while working, when ready and when it gives up reads right', async () => {
    await bed.apply([
      bed.keySecret(),
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'desktop-key' }, stringData: { privateKey: machines.key.privateKey, publicKey: machines.key.publicKey } },
      bed.nodeManifest('n-ok', BASE_PORT),
      bed.nodeManifest('n-hostkey', BASE_PORT + 1, 'worker-key', { pool: 'other' }),
      bed.nodeManifest('n-nokey', BASE_PORT + 1, 'absent', { pool: 'other' }),
      bed.rentalManifest('r-ok'),
      bed.rentalClassManifest('standard', {}, true),
      bed.rentalClassManifest('broken', { playbooks: { create: 'no_such_playbook' } }),
      bed.rentalManifest('r-bad', { className: 'broken' }),
      hypervisorManifest('local', { type: 'libvirt', libvirt: { uri: virt.uri, pool: virt.pool, network: virt.network, domainType: 'qemu' } }),
      // Its "host" image is a file outside the allowed image directories: a Lab or Desktop naming it is refused for good.
      machineClassManifest('machines', 'local', { images: [{ name: 'host', path: '/etc/hostname' }, { name: STANDIN_IMAGE, volume: 'debian-12-xfce.qcow2' }], desktop: {} }, true),
      lab('l-ok', {}),
      lab('l-bad', { image: 'host' }),
      machines.desktopManifest('d-ok', { ttlSeconds: 3600, idleTimeoutSeconds: 3600 }),
      machines.desktopManifest('d-bad', { image: 'host' }),
    ]);
    await waitFor('n-ok Alive', ready('Node', 'n-ok'), 60_000);
    await bed.apply([playbookRun('p-ok', 'base'), playbookRun('p-bad', 'create_user')]);
    await waitFor('n-ok, r-ok, l-ok, d-ok and p-ok Ready', async () => (await Promise.all([
      ready('Node', 'n-ok')(), ready('Rental', 'r-ok')(), ready('Lab', 'l-ok')(), ready('Desktop', 'd-ok')(), ready('PlaybookRun', 'p-ok')(),
    ])).every(Boolean), 300_000);
    await waitFor('r-bad, l-bad, d-bad and p-bad Stalled', async () => (await Promise.all([
      stalled('Rental', 'r-bad')(), stalled('Lab', 'l-bad')(), stalled('Desktop', 'd-bad')(), stalled('PlaybookRun', 'p-bad')(),
    ])).every(Boolean), 60_000);

    // A Node whose host key is not the pinned one any more waits for an admin: Stalled once it is Dead.
    await waitFor('n-hostkey Alive', ready('Node', 'n-hostkey'), 60_000);
    await bed.mustKubectl(['patch', '-n', NAMESPACE, 'nodes.orion.lab', 'n-hostkey', '--subresource=status', '--type=merge',
      '-p', JSON.stringify({ status: { hostKey: { key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFak', fingerprint: 'SHA256:x', pinnedAt: new Date().toISOString() } } })]);
    await waitFor('n-hostkey Stalled', stalled('Node', 'n-hostkey'), 60_000);

    await judge(seen.filter((o) => o.status !== undefined));
    const now = await Promise.all(KINDS.flatMap((kind) => names(kind).map((name) => get(kind, name))));
    await judge(now);
    const states = (kind: Reconciled) => [...(table.get(kind)?.keys() ?? [])];
    for (const kind of KINDS) expect(states(kind), kind).toEqual(expect.arrayContaining(['progressing', 'ready', 'terminal error']));
  }, 600_000);

  it('a Lab status clobbered by another writer is written again by Orion', async () => {
    await bed.mustKubectl(['patch', '-n', NAMESPACE, 'lab', 'l-ok', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Pending","conditions":null}}']);
    await waitFor('l-ok Ready again', ready('Lab', 'l-ok'), 60_000);
    expect((await get('Lab', 'l-ok')).status).toMatchObject({ phase: 'Ready' });
  }, 120_000);

  it('a spec changed, or an object created, while Orion is away is InProgress (generation not yet observed), then Current once Orion looked', async () => {
    await bed.orion?.stop();
    bed.orion = undefined;
    const changes: Array<[Reconciled, string, object]> = [
      ['Node', 'n-ok', { spec: { probe: { intervalSeconds: 2 } } }],
      ['Rental', 'r-ok', { spec: { ttlSeconds: 86400 } }],
      ['Lab', 'l-ok', { spec: { driftDetection: { intervalSeconds: 3600 } } }],
      ['Desktop', 'd-ok', { spec: { warningSeconds: 120 } }],
      ['PlaybookRun', 'p-ok', { spec: { ttlSecondsAfterFinished: 7200 } }],
    ];
    for (const [kind, name, patch] of changes) await bed.mustKubectl(['patch', '-n', NAMESPACE, PLURAL[kind], name, '--type=merge', '-p', JSON.stringify(patch)]);
    // A new object, before Orion wrote any status: the CRD's default says observedGeneration 0.
    await bed.apply([bed.nodeManifest('n-new', BASE_PORT + 1, 'worker-key', { pool: 'other' })]);
    const fresh = await get('Node', 'n-new');
    expect(fresh.status).toEqual({ observedGeneration: 0 });
    const stale = [...(await Promise.all(changes.map(([kind, name]) => get(kind, name)))), fresh];
    for (const obj of stale) expect(stateOf(obj)).toBe('generation not yet observed');
    await judge(stale);

    await startOrion();
    for (const [kind, name] of [...changes, ['Node', 'n-new'] as const]) {
      await waitFor(`${kind} ${name} observed`, async () => stateOf(await get(kind, name)) === 'ready', 120_000);
    }
    await judge(await Promise.all([...changes.map(([kind, name]) => get(kind, name)), get('Node', 'n-new')]));
  }, 300_000);

  function lab(name: string, machine: Record<string, unknown>): object {
    return {
      apiVersion: 'orion.lab/v1alpha1',
      kind: 'Lab',
      metadata: { name },
      spec: {
        machines: [{ name: 'vm', count: 1, cpu: 1, memoryMiB: 256, diskGiB: 1, ...machine }],
        driftDetection: { intervalSeconds: 0 },
      },
    };
  }

  function names(kind: Reconciled): string[] {
    return { Node: ['n-ok', 'n-hostkey', 'n-nokey'], Rental: ['r-ok', 'r-bad'], Lab: ['l-ok', 'l-bad'], Desktop: ['d-ok', 'd-bad'], PlaybookRun: ['p-ok', 'p-bad'] }[kind];
  }

  /** A PlaybookRun of `playbook` on n-ok ("create_user" is no recipe Orion allows by default: refused for good). */
  function playbookRun(name: string, playbook: string): object {
    return { apiVersion: 'orion.lab/v1alpha1', kind: 'PlaybookRun', metadata: { name }, spec: { playbook, nodes: ['n-ok'] } };
  }
});
