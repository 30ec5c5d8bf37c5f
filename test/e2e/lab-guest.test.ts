// End to end with a booted guest: a Lab machine boots the tiny Debian image (direct kernel boot, QEMU/TCG) on a
// private libvirtd, gets its address from the libvirt network's DHCP, and the Lab's playbook (ansible/lab-base.yml)
// runs against it over SSH with its host key pinned on first contact. The guest's address exists only inside the
// harness's network namespace, so ansible-playbook and ssh-keyscan run there (ip netns exec). The image, its kernel,
// initrd and command line are the admin's MachineClass's; the Lab names the image. Its userData holds a shell ${HOME},
// a Terraform %{ if } and a Jinja {{ }}: the guest's NoCloud seed (the CD-ROM cloud-init reads) holds it byte for byte
// (docs/adr/0022-data-stays-data.md, end to end).
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCondition } from '../../src/api/conditions.js';
import type { LabResource } from '../../src/api/types.js';
import { waitFor } from '../harness/cluster.js';
import { ensureGuestImage, type GuestImage } from '../harness/guest.js';
import { LabBed } from '../harness/lab-bed.js';

const run = promisify(execFile);
const BOOT_WAIT_MS = 15 * 60_000;

describe('Lab end to end: a booted guest configured by Ansible', () => {
  let guest: GuestImage;
  let bed: LabBed;

  beforeAll(async () => {
    guest = await ensureGuestImage();
    bed = await LabBed.create({
      sshInNetns: true,
      imageDirs: [guest.dir],
      classSpec: { images: [{ name: 'debian', path: guest.image, kernel: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline }], playbooks: ['lab-base'] },
    });
    await bed.write('secret.yaml', [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'lab-key' }, stringData: { privateKey: guest.privateKey } }]);
  });

  afterAll(async () => {
    await bed?.destroy();
  });

  // Data, never a template: Terraform's ${} and %{}, a shell variable, Jinja.
  const userData = '#cloud-config\n# {{ lookup("pipe", "id") }} %{ if true }x%{ endif }\nwrite_files:\n  - path: /tmp/orion-data\n    content: "${HOME} $${x} {{ ansible_user }}"\n';
  const labSpec = {
    machines: [{ name: 'vm', count: 1, cpu: 1, memoryMiB: 512, diskGiB: 3, image: 'debian', userData }],
    sshKeySecretRef: { name: 'lab-key' },
    ansible: { playbook: 'lab-base', user: 'root', vars: { motd: 'configured by orion' } },
    driftDetection: { intervalSeconds: 0 },
  };

  const ready = (): LabResource | false | undefined => {
    const lab = bed.lab('booted');
    return getCondition(lab?.status?.conditions, 'Ready')?.status === 'True' && lab;
  };

  it('boots, gets a DHCP address, and runs the playbook over SSH', { timeout: BOOT_WAIT_MS }, async () => {
    const started = Date.now();
    await bed.write('lab.yaml', [bed.labManifest('booted', labSpec)]);
    const lab = await waitFor('Lab booted Ready', ready, BOOT_WAIT_MS);
    const seconds = (Date.now() - started) / 1000;
    console.log(`booted guest Lab Ready in ${seconds.toFixed(1)} s (terraform ${lab.status?.lastTerraformRun?.durationMs} ms, ansible ${lab.status?.lastAnsibleRun?.durationMs} ms)`);
    const vm = lab.status?.machines?.[0];
    expect(vm?.address).toMatch(/^10\.77\.0\.\d+$/);
    expect(vm?.hostKey).toMatch(/^ssh-ed25519 /);
    expect(getCondition(lab.status?.conditions, 'Configured')).toMatchObject({ status: 'True', reason: 'PlaybookSucceeded' });
    expect(lab.status?.lastAnsibleRun).toMatchObject({ op: 'lab-base', result: 'success' });

    // Read what the playbook wrote, over SSH from inside the namespace, checking the pinned host key.
    const knownHosts = join(bed.root, 'known_hosts');
    const keyFile = join(bed.root, 'guest_key');
    await writeFile(knownHosts, `${vm?.address} ${vm?.hostKey}\n`);
    await writeFile(keyFile, guest.privateKey, { mode: 0o600 });
    const { stdout } = await run('ip', ['netns', 'exec', bed.virt.netns, 'ssh', '-F', '/dev/null', '-i', keyFile, '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, `root@${vm?.address}`, 'cat /etc/orion-lab /etc/motd; hostname -F /etc/hostname; hostname']);
    expect(stdout).toContain('lab=booted');
    expect(stdout).toContain('machine=vm-0');
    expect(stdout).toContain('configured by orion');

    // The user data as the guest received it: the NoCloud seed on its CD-ROM (label cidata), what cloud-init reads.
    // (This test image has no cloud-init to run it; the bytes it would read are checked.)
    const seed = await run('ip', ['netns', 'exec', bed.virt.netns, 'ssh', '-F', '/dev/null', '-i', keyFile, '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, `root@${vm?.address}`,
      'mkdir -p /mnt/seed && (mountpoint -q /mnt/seed || mount -o ro /dev/sr0 /mnt/seed) && cat /mnt/seed/user-data'], { encoding: 'utf8' });
    expect(seed.stdout).toBe(userData);
  });

  it('does not run the playbook again when nothing changed', async () => {
    const before = bed.lab('booted')?.status?.lastAnsibleRun?.startedAt;
    const spawned = { ...bed.runner.spawned };
    bed.manager.controller('lab')?.enqueue('Lab/default/booted');
    await new Promise((r) => setTimeout(r, 3000));
    expect(bed.lab('booted')?.status?.lastAnsibleRun?.startedAt).toBe(before);
    expect(bed.runner.spawned).toEqual(spawned);
  });

  it('runs it again when its inputs change', { timeout: BOOT_WAIT_MS }, async () => {
    const before = bed.lab('booted')?.status?.lastAnsibleRun?.startedAt;
    await bed.write('lab.yaml', [bed.labManifest('booted', { ...labSpec, ansible: { ...labSpec.ansible, vars: { motd: 'second run' } } })]);
    await waitFor('a second playbook run', () => {
      const lab = bed.lab('booted');
      return lab?.status?.lastAnsibleRun?.startedAt !== before && ready();
    }, BOOT_WAIT_MS);
    expect(bed.runner.spawned.apply).toBe(1);
  });

  it('destroys the guest when the Lab is deleted', { timeout: BOOT_WAIT_MS }, async () => {
    await bed.remove('lab.yaml');
    await waitFor('Lab gone', () => bed.lab('booted') === undefined, BOOT_WAIT_MS);
    expect([...(await bed.domains()).keys()].filter((d) => d.startsWith('default.booted.'))).toEqual([]);
    expect((await bed.volumes()).filter((v) => v.startsWith('default.booted.'))).toEqual([]);
  });
});
