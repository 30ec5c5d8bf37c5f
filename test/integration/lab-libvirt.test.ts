// The Lab controller against a real libvirtd (QEMU/TCG guests), real OpenTofu and the real dmacvicar/libvirt
// provider: two machines created and running, a steady state that spawns nothing, drift found and repaired,
// power off and on, restart, deletion; and bad input refused before anything runs. The machines are made on the
// bed's Hypervisor through its default MachineClass; what the class refuses (an image it does not offer) gets no
// finalizer and no domain or volume, and a Lab whose class was deleted is still destroyed. The guests boot no OS
// (blank 1 GiB qcow2 disks, a few hundred KiB on disk): these tests are about the machines, not their software.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabResource } from '../../src/api/types.js';
import { getCondition } from '../../src/api/conditions.js';
import { workspaceRef } from '../../src/api/refs.js';
import { renderCommand } from '../../src/cli/render.js';
import { reconcileTotal } from '../../src/telemetry/metrics.js';
import { waitFor } from '../harness/cluster.js';
import { LabBed } from '../harness/lab-bed.js';

const WAIT_MS = 180_000;
const MACHINES = [{ name: 'web', count: 2, cpu: 1, memoryMiB: 256, diskGiB: 1 }];

function ready(lab: LabResource | undefined): string | undefined {
  const c = getCondition(lab?.status?.conditions, 'Ready');
  return c?.status === 'True' ? c.reason : undefined;
}

async function reconciles(): Promise<number> {
  const metric = await reconcileTotal.get();
  return metric.values.filter((v) => v.labels.controller === 'lab').reduce((sum, v) => sum + v.value, 0);
}

function spawnedTotal(bed: LabBed): number {
  return Object.values(bed.runner.spawned).reduce((a, b) => a + b, 0);
}

describe('Lab controller on libvirt (real libvirtd, QEMU/TCG, OpenTofu)', () => {
  let bed: LabBed;

  beforeAll(async () => {
    bed = await LabBed.create({ controller: { limits: { cpu: 4 } }, classSpec: { images: [{ name: 'base', volume: 'base.qcow2' }], playbooks: ['create_user'] } });
  });

  afterAll(async () => {
    await bed?.destroy();
  });

  it('creates two machines, running, with their VNC ports in the status', async () => {
    await bed.write('lab.yaml', [bed.labManifest('lab1', { machines: MACHINES, driftDetection: { intervalSeconds: 0 } })]);
    const lab = await waitFor('lab1 Ready', () => ready(bed.lab('lab1')) === 'Ready' && bed.lab('lab1'), WAIT_MS);
    const domains = await bed.domains();
    expect(domains.get('default.lab1.web-0')?.state).toBe('running');
    expect(domains.get('default.lab1.web-1')?.state).toBe('running');
    expect(lab.status?.phase).toBe('Ready');
    expect(lab.status?.machines?.map((m) => m.name)).toEqual(['web-0', 'web-1']);
    for (const m of lab.status?.machines ?? []) {
      expect(m.state).toBe('running');
      expect(m.vncPort).toBeGreaterThanOrEqual(5900);
      expect(m.mac).toMatch(/^52:54:00/);
    }
    expect(lab.metadata.finalizers).toContain('orion.lab/finalizer');
    expect(getCondition(lab.status?.conditions, 'Provisioned')?.status).toBe('True');
    expect(lab.status?.lastTerraformRun).toMatchObject({ op: 'apply', result: 'success' });
    expect(lab.status?.readyAt).toBeDefined();
    expect(await bed.volumes()).toEqual(expect.arrayContaining(['default.lab1.web-0.qcow2', 'default.lab1.web-1.qcow2']));
  });

  it('orion render prints the very root module the controller applied, without running anything', async () => {
    const spawned = { ...bed.runner.spawned };
    // With the admin's classes beside it, as Orion reads the folder.
    const report = await renderCommand([join(bed.manifests, 'classes.yaml'), join(bed.manifests, 'lab.yaml')], { imageDirs: [bed.virt.poolDir, bed.images] });
    expect(report.errors).toEqual([]);
    const ws = await bed.runner.workspace(workspaceRef({ kind: 'Lab', namespace: 'default', name: 'lab1' }));
    const file = (name: string) => readFile(join(ws.dir, name), 'utf8');
    expect(report.text).toBe(
      `# Lab default/lab1: main.tf.json\n${await file('main.tf.json')}# Lab default/lab1: terraform.tfvars.json\n${await file('terraform.tfvars.json')}`,
    );
    expect(bed.runner.spawned).toEqual(spawned);
  });

  it('spawns no Terraform process when a reconcile finds nothing changed', async () => {
    const spawned = { ...bed.runner.spawned };
    const before = await reconciles();
    bed.manager.controller('lab')?.enqueue('Lab/default/lab1');
    bed.manager.controller('lab')?.enqueue('Lab/default/lab1');
    await waitFor('another reconcile', async () => (await reconciles()) > before);
    await new Promise((r) => setTimeout(r, 500));
    expect(bed.runner.spawned).toEqual(spawned);
  });

  it('finds drift with plan -detailed-exitcode and repairs it when asked', async () => {
    await bed.virt.virsh('destroy', 'default.lab1.web-1');
    await bed.virt.virsh('undefine', 'default.lab1.web-1');
    const plansBefore = bed.runner.spawned.plan;
    await bed.write('lab.yaml', [bed.labManifest('lab1', { machines: MACHINES, driftDetection: { intervalSeconds: 1 } })]);
    const drifted = await waitFor(
      'Drifted=True and Ready=False',
      () => {
        const lab = bed.lab('lab1');
        return getCondition(lab?.status?.conditions, 'Drifted')?.status === 'True' && getCondition(lab?.status?.conditions, 'Ready')?.status === 'False' && lab;
      },
      WAIT_MS,
    );
    expect(bed.runner.spawned.plan).toBeGreaterThan(plansBefore);
    expect(bed.runner.spawned.apply).toBe(1);
    expect(getCondition(drifted.status?.conditions, 'Ready')?.reason).toBe('MachineMissing');

    await bed.write('lab.yaml', [bed.labManifest('lab1', { machines: MACHINES, driftDetection: { intervalSeconds: 1, autoRepair: true } })]);
    await waitFor('Drifted=False (Repaired)', () => getCondition(bed.lab('lab1')?.status?.conditions, 'Drifted')?.reason === 'Repaired', WAIT_MS);
    await waitFor('web-1 running again', async () => (await bed.domains()).get('default.lab1.web-1')?.state === 'running', WAIT_MS);
    expect(bed.runner.spawned.apply).toBe(2);
    await bed.write('lab.yaml', [bed.labManifest('lab1', { machines: MACHINES, driftDetection: { intervalSeconds: 0 } })]);
    await waitFor('lab1 Ready', () => ready(bed.lab('lab1')) === 'Ready', WAIT_MS);
  });

  it('powers the machines off with powerState Stopped and on again with Running, without Terraform', async () => {
    const spawned = spawnedTotal(bed);
    await bed.write('lab.yaml', [bed.labManifest('lab1', { machines: MACHINES, powerState: 'Stopped', driftDetection: { intervalSeconds: 0 } })]);
    const stopped = await waitFor('lab1 Stopped', () => ready(bed.lab('lab1')) === 'Stopped' && bed.lab('lab1'), WAIT_MS);
    expect(stopped.status?.phase).toBe('Stopped');
    const domains = await bed.domains();
    expect(domains.get('default.lab1.web-0')?.state).toBe('shut off');
    expect(domains.get('default.lab1.web-1')?.state).toBe('shut off');
    expect(stopped.status?.machines?.every((m) => m.state === 'shut off')).toBe(true);

    await bed.write('lab.yaml', [bed.labManifest('lab1', { machines: MACHINES, powerState: 'Running', driftDetection: { intervalSeconds: 0 } })]);
    await waitFor('lab1 Ready', () => ready(bed.lab('lab1')) === 'Ready', WAIT_MS);
    const running = await bed.domains();
    expect(running.get('default.lab1.web-0')?.state).toBe('running');
    expect(spawnedTotal(bed)).toBe(spawned);
  });

  it('restarts every machine when the restartedAt annotation changes', async () => {
    const before = await bed.domains();
    const at = new Date().toISOString();
    await bed.write('lab.yaml', [bed.labManifest('lab1', { machines: MACHINES, driftDetection: { intervalSeconds: 0 } }, { 'orion.lab/restartedAt': at })]);
    await waitFor('restartedAt recorded', () => bed.lab('lab1')?.status?.restartedAt === at, WAIT_MS);
    await waitFor('lab1 Ready', () => ready(bed.lab('lab1')) === 'Ready', WAIT_MS);
    const after = await bed.domains();
    for (const name of ['default.lab1.web-0', 'default.lab1.web-1']) {
      expect(after.get(name)?.state).toBe('running');
      expect(after.get(name)?.id).toBeDefined();
      expect(after.get(name)?.id).not.toBe(before.get(name)?.id);
    }
  });

  it('destroys domains and volumes when the Lab is deleted, then releases it', async () => {
    const destroys = bed.runner.spawned.destroy;
    await bed.remove('lab.yaml');
    await waitFor('lab1 gone', () => bed.lab('lab1') === undefined, WAIT_MS);
    expect(bed.runner.spawned.destroy).toBe(destroys + 1);
    const domains = await bed.domains();
    expect([...domains.keys()].filter((d) => d.startsWith('default.lab1.'))).toEqual([]);
    expect((await bed.volumes()).filter((v) => v.startsWith('default.lab1.'))).toEqual([]);
  });

  it('converges to one set of machines when Orion is stopped mid-apply and started again', async () => {
    const applies = bed.runner.spawned.apply;
    const machines = [{ name: 'db', count: 4, cpu: 1, memoryMiB: 256, diskGiB: 1 }];
    await bed.write('lab2.yaml', [bed.labManifest('lab2', { machines, driftDetection: { intervalSeconds: 0 } })]);
    await waitFor('the apply started', () => bed.runner.spawned.apply > applies, WAIT_MS);
    await waitFor('a first domain defined', async () => [...(await bed.domains()).keys()].some((d) => d.startsWith('default.lab2.')), WAIT_MS);
    await bed.stopOrion();
    const cut = [...(await bed.domains()).keys()].filter((d) => d.startsWith('default.lab2.')).length;
    console.log(`stopped mid-apply with ${cut} of 4 domains created; last run: ${JSON.stringify(bed.lab('lab2')?.status?.lastTerraformRun?.result)}`);

    await bed.startOrion();
    await waitFor('lab2 Ready', () => ready(bed.lab('lab2')) === 'Ready', WAIT_MS);
    const domains = [...(await bed.domains()).entries()].filter(([d]) => d.startsWith('default.lab2.'));
    expect(domains.map(([d]) => d).sort()).toEqual(['default.lab2.db-0', 'default.lab2.db-1', 'default.lab2.db-2', 'default.lab2.db-3']);
    expect(domains.every(([, d]) => d.state === 'running')).toBe(true);
    expect((await bed.volumes()).filter((v) => v.startsWith('default.lab2.')).length).toBe(4);

    await bed.remove('lab2.yaml');
    await waitFor('lab2 gone', () => bed.lab('lab2') === undefined, WAIT_MS);
    expect([...(await bed.domains()).keys()].filter((d) => d.startsWith('default.lab2.'))).toEqual([]);
  });

  it('removes a domain an interrupted apply left out of the state, then converges', async () => {
    // What dmacvicar/libvirt 0.8.3 leaves when an apply stops between defining a domain and recording it.
    const xml = join(bed.root, 'orphan.xml');
    await writeFile(xml, "<domain type='qemu'><name>default.lab3.x-0</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>\n");
    await bed.virt.virsh('define', xml);
    await bed.write('lab3.yaml', [bed.labManifest('lab3', { machines: [{ name: 'x', count: 1, cpu: 1, memoryMiB: 256, diskGiB: 1 }], driftDetection: { intervalSeconds: 0 } })]);
    const lab = await waitFor('lab3 Ready', () => ready(bed.lab('lab3')) === 'Ready' && bed.lab('lab3'), WAIT_MS);
    expect(bed.store.eventsOf(lab).find((e) => e.reason === 'OrphansRemoved')?.message).toMatch(/undefined default\.lab3\.x-0/);
    expect([...(await bed.domains()).keys()].filter((d) => d.startsWith('default.lab3.'))).toEqual(['default.lab3.x-0']);
    await bed.remove('lab3.yaml');
    await waitFor('lab3 gone', () => bed.lab('lab3') === undefined, WAIT_MS);
  });

  it('applies a userData holding Terraform templates and shell variables as written: the cloud-init disk holds it byte for byte', async () => {
    // docs/adr/0022-data-stays-data.md: a Terraform template here once read Orion's host; a shell ${HOME} could never be applied.
    const userData = '#cloud-config\nruncmd:\n  - echo "${HOME}" $${x} "%{ if true }y%{ endif }" > /tmp/a\n  - echo "${tonumber(file("/etc/hostname"))}"\n';
    await bed.write('lab4.yaml', [bed.labManifest('lab4', { machines: [{ name: 'ci', count: 1, cpu: 1, memoryMiB: 256, diskGiB: 1, userData }], driftDetection: { intervalSeconds: 0 } })]);
    const lab = await waitFor('lab4 Ready', () => ready(bed.lab('lab4')) === 'Ready' && bed.lab('lab4'), WAIT_MS);
    expect(lab.status?.lastTerraformRun).toMatchObject({ op: 'apply', result: 'success' });
    const iso = await readFile(join(bed.virt.poolDir, 'default.lab4.ci-0.cloudinit.iso'));
    expect(iso.indexOf(Buffer.from(userData))).toBeGreaterThan(0);
    await bed.remove('lab4.yaml');
    await waitFor('lab4 gone', () => bed.lab('lab4') === undefined, WAIT_MS);
  });

  it('destroys a Lab\'s machines when it is deleted after its MachineClass was', async () => {
    await bed.write('temp-class.yaml', [bed.classManifest('temp', { images: [{ name: 'base', volume: 'base.qcow2' }] })]);
    await bed.write('lab5.yaml', [bed.labManifest('lab5', { className: 'temp', machines: [{ name: 'x', count: 1, cpu: 1, memoryMiB: 256, diskGiB: 1 }], driftDetection: { intervalSeconds: 0 } })]);
    const made = await waitFor('lab5 Ready', () => ready(bed.lab('lab5')) === 'Ready' && bed.lab('lab5'), WAIT_MS);
    expect(made.status?.hypervisor).toBe('bed');
    expect([...(await bed.domains()).keys()].filter((d) => d.startsWith('default.lab5.'))).toEqual(['default.lab5.x-0']);

    // The class goes: the machines stay, nothing more is applied, and the Lab says why.
    const applies = bed.runner.spawned.apply;
    await bed.remove('temp-class.yaml');
    const kept = await waitFor('ClassTerms False', () => getCondition(bed.lab('lab5')?.status?.conditions, 'ClassTerms')?.status === 'False' && bed.lab('lab5'), 20_000);
    expect(getCondition(kept.status?.conditions, 'ClassTerms')).toMatchObject({ reason: 'ClassRefused', message: expect.stringMatching(/MachineClass "temp" does not exist/) });
    expect(kept.metadata.finalizers).toContain('orion.lab/finalizer');
    expect([...(await bed.domains()).entries()].filter(([d]) => d.startsWith('default.lab5.')).map(([, d]) => d.state)).toEqual(['running']);
    expect(bed.runner.spawned.apply).toBe(applies);

    await bed.remove('lab5.yaml');
    await waitFor('lab5 gone', () => bed.lab('lab5') === undefined, WAIT_MS);
    expect([...(await bed.domains()).keys()].filter((d) => d.startsWith('default.lab5.'))).toEqual([]);
    expect((await bed.volumes()).filter((v) => v.startsWith('default.lab5.'))).toEqual([]);
  });

  describe('bad input: refused before anything runs', () => {
    const machine = { name: 'm', count: 1, cpu: 1, memoryMiB: 256, diskGiB: 1 };

    it.each([
      ['cpu 9', { cpu: 9 }, 'cpu'],
      ['memoryMiB 20000', { memoryMiB: 20000 }, 'memoryMiB'],
      ['diskGiB 501', { diskGiB: 501 }, 'diskGiB'],
      ['count 21', { count: 21 }, 'count'],
      ['a machine name with "_"', { name: 'bad_name' }, 'name'],
      ['another Lab\'s disk volume as its image', { image: 'default.lab1.web-0.qcow2' }, 'image'],
      ['a kernel of its own', { kernel: '/boot/vmlinuz' }, 'kernel'],
    ])('%s: the manifest is invalid and no Lab exists', async (_what, override, field) => {
      const spawned = spawnedTotal(bed);
      await bed.write('bad.yaml', [bed.labManifest('bad', { machines: [{ ...machine, ...override }] })]);
      const error = await waitFor('a validation error', () => bed.store.invalid.find((e) => e.file.endsWith('bad.yaml')), 10_000);
      expect(error.field).toContain(field);
      expect(bed.lab('bad')).toBeUndefined();
      expect(spawnedTotal(bed)).toBe(spawned);
      await bed.remove('bad.yaml');
      await waitFor('the error cleared', () => !bed.store.invalid.some((e) => e.file.endsWith('bad.yaml')), 10_000);
    });

    it.each([
      ['cpu above the configured limit (4)', { machines: [{ ...machine, cpu: 6 }] }, 'LimitExceeded', /cpu 6 is above the limit of 4/],
      ['a class image outside the allowed pools', { className: 'odd', machines: [{ ...machine, image: 'hostname' }] }, 'ImageNotAllowed', /outside the allowed image directories/],
      ['a class kernel outside the allowed pools', { className: 'odd', machines: [{ ...machine, image: 'sneaky' }] }, 'ImageNotAllowed', /absolute, normalized path/],
      ['a missing secret', { machines: [machine], ansible: { playbook: 'create_user' }, sshKeySecretRef: { name: 'absent' } }, 'SecretMissing', /secret "absent" not found/],
      ['an image its class does not offer', { machines: [{ ...machine, image: 'lab1-disk' }] }, 'ClassRefused', /MachineClass "bed" has no image "lab1-disk"/],
      ['a playbook its class does not allow', { machines: [machine], ansible: { playbook: 'delete_user' } }, 'ClassRefused', /MachineClass "bed" does not allow playbook "delete_user"/],
      ['a class that does not exist', { className: 'nope', machines: [machine] }, 'ClassRefused', /MachineClass "nope" does not exist/],
    ])('%s: a status error, no finalizer, nothing run', async (_what, spec, reason, message) => {
      const spawned = spawnedTotal(bed);
      // The admin's odd class: a file outside the image directories, a kernel path that climbs out of them.
      const odd = bed.classManifest('odd', { images: [{ name: 'hostname', path: '/etc/hostname' }, { name: 'sneaky', volume: 'base.qcow2', kernel: '/boot/../etc/hostname' }] });
      await bed.write('bad.yaml', [odd, bed.labManifest('bad', spec)]);
      const lab = await waitFor('a status error', () => getCondition(bed.lab('bad')?.status?.conditions, 'Ready')?.reason === reason && bed.lab('bad'), 20_000);
      expect(getCondition(lab.status?.conditions, 'Ready')?.message).toMatch(message);
      expect(lab.status?.phase).toBe('Failed');
      expect(lab.metadata.finalizers ?? []).not.toContain('orion.lab/finalizer');
      expect(spawnedTotal(bed)).toBe(spawned);
      if (reason === 'ClassRefused') {
        expect(getCondition(lab.status?.conditions, 'Stalled')?.status).toBe('True');
        expect(getCondition(lab.status?.conditions, 'Ready')?.observedGeneration).toBe(lab.metadata.generation);
      }
      // Nothing on the hypervisor either.
      expect([...(await bed.domains()).keys()].filter((d) => d.startsWith('default.bad.'))).toEqual([]);
      expect((await bed.volumes()).filter((v) => v.startsWith('default.bad.'))).toEqual([]);
      await bed.remove('bad.yaml');
      await waitFor('bad gone', () => bed.lab('bad') === undefined, 10_000);
    });
  });
});
