// `orion render`: the root module Orion would apply for each Lab and Desktop of a folder, from the machine
// pipeline's own renderer, without Terraform, a hypervisor or a secret value.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cloudConfig } from '../../controllers/desktop/machine.js';
import { readModuleFolder, defaultModulesDir } from '../../controllers/machine/render.js';
import { renderLabModule } from '../../controllers/machine/module.js';
import { renderCommand } from '../../src/cli/render.js';
import { withVariables } from '../../controllers/machine/variables.js';

const PRIVATE_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nnever-shown-private\n-----END OPENSSH PRIVATE KEY-----';
const TOKEN_SECRET = 'never-shown-token-secret';
const AD_PASSWORD = 'never-shown-ad-password';
const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRender render@test';

const secret = (name: string, stringData: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData });
const proxmox = { type: 'proxmox', proxmox: { endpoint: 'https://pve.example.org:8006', node: 'pve', tokenSecretRef: { name: 'pve-token' } } };
/** The admin's classes among the manifests: a Proxmox class "pve" and a libvirt class "local" (the default). */
const CLASSES = [
  { apiVersion: 'orion.lab/v1alpha1', kind: 'Hypervisor', metadata: { name: 'pve' }, spec: proxmox },
  { apiVersion: 'orion.lab/v1alpha1', kind: 'Hypervisor', metadata: { name: 'local' }, spec: { type: 'libvirt' } },
  { apiVersion: 'orion.lab/v1alpha1', kind: 'MachineClass', metadata: { name: 'pve' }, spec: { hypervisor: 'pve', images: [{ name: 'debian-12', template: 'debian-12' }], playbooks: ['lab-base'] } },
  {
    apiVersion: 'orion.lab/v1alpha1', kind: 'MachineClass', metadata: { name: 'local', annotations: { 'orion.lab/default-class': 'true' } },
    spec: {
      hypervisor: 'local',
      images: [{ name: 'base', volume: 'base.qcow2' }, { name: 'host', path: '/etc/hostname' }, { name: 'xfce', volume: 'debian-12-xfce' }],
      desktop: { adJoin: { domain: 'proto.lan', credentialsSecretRef: { name: 'ad' } } },
    },
  },
];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'orion-render-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = (file: string, docs: object[]) => writeFileSync(join(dir, file), docs.map((d) => stringify(d)).join('---\n'));

describe('orion render', () => {
  it('prints the root module of each Lab and Desktop, the bytes the pipeline renders, and no secret', async () => {
    write('secrets.yaml', [
      secret('key', { privateKey: PRIVATE_KEY, publicKey: PUBLIC_KEY }),
      secret('pve-token', { tokenId: 'orion@pve!t', tokenSecret: TOKEN_SECRET }),
      secret('ad', { username: 'svc', password: AD_PASSWORD }),
    ]);
    write('lab.yaml', [{
      apiVersion: 'orion.lab/v1alpha1', kind: 'Lab', metadata: { name: 'course' },
      spec: { className: 'pve', machines: [{ name: 'student', count: 2, image: 'debian-12' }], sshKeySecretRef: { name: 'key' }, ansible: { playbook: 'lab-base' } },
    }, ...CLASSES]);
    write('desktop.yaml', [{
      apiVersion: 'orion.lab/v1alpha1', kind: 'Desktop', metadata: { name: 'tom' },
      spec: { user: 'tom', image: 'xfce', sshKeySecretRef: { name: 'key' }, adJoin: true },
    }]);
    write('node.yaml', [{ apiVersion: 'orion.lab/v1alpha1', kind: 'Node', metadata: { name: 'n1' }, spec: { address: '10.0.0.1', secretRef: { name: 'key' } } }]);

    const report = await renderCommand([dir]);
    expect(report.errors).toEqual([]);
    const sections = report.text.split(/^# /m).filter(Boolean);
    expect(sections.map((s) => s.split('\n')[0])).toEqual([
      'Desktop default/tom: main.tf.json', 'Desktop default/tom: terraform.tfvars.json',
      'Lab default/course: main.tf.json', 'Lab default/course: terraform.tfvars.json',
    ]);

    const [libvirt, prox] = await Promise.all([readModuleFolder(defaultModulesDir(), 'libvirt-vm'), readModuleFolder(defaultModulesDir(), 'proxmox-vm')]);
    const desktopModule = renderLabModule({
      namespace: 'default', name: 'tom', moduleHash: libvirt.hash, images: { desktop: { volume: 'debian-12-xfce' } }, sshPublicKey: PUBLIC_KEY,
      spec: {
        provider: { type: 'libvirt' }, sshKeySecretRef: { name: 'key' }, ansible: { playbook: 'desktop', user: 'root' },
        machines: [{ name: 'desktop', count: 1, cpu: 1, memoryMiB: 1024, diskGiB: 10, image: 'debian-12-xfce', userData: cloudConfig('tom', 'root', PUBLIC_KEY) }],
      },
    } as unknown as Parameters<typeof renderLabModule>[0]);
    const desktopFiles = withVariables(desktopModule).files();
    expect(sections[0]).toBe(`Desktop default/tom: main.tf.json\n${desktopFiles['main.tf.json']}`);
    expect(sections[1]).toBe(`Desktop default/tom: terraform.tfvars.json\n${desktopFiles['terraform.tfvars.json']}`);
    expect(sections[3]).toContain(`"ssh_public_key": "${PUBLIC_KEY}"`);
    expect(sections[2]).toContain(`module proxmox-vm ${prox.hash}`);
    for (const value of [PRIVATE_KEY, 'never-shown-private', TOKEN_SECRET, AD_PASSWORD]) expect(report.text).not.toContain(value);
  });

  it('names the Secret where its public key would go when the Secret is not among the files', async () => {
    write('lab.yaml', [{
      apiVersion: 'orion.lab/v1alpha1', kind: 'Lab', metadata: { name: 'course' },
      spec: { className: 'pve', machines: [{ name: 'student', image: 'debian-12' }], sshKeySecretRef: { name: 'elsewhere' } },
    }, ...CLASSES]);
    const report = await renderCommand([join(dir, 'lab.yaml')]);
    expect(report.text).toContain('"ssh_public_key": "(publicKey of Secret elsewhere)"');
  });

  it('refuses what the controller would refuse, with the same message, and renders the rest', async () => {
    write('labs.yaml', [
      { apiVersion: 'orion.lab/v1alpha1', kind: 'Lab', metadata: { name: 'ok' }, spec: { machines: [{ name: 'm', image: 'base' }] } },
      { apiVersion: 'orion.lab/v1alpha1', kind: 'Lab', metadata: { name: 'outside' }, spec: { machines: [{ name: 'm', image: 'host' }] } },
      { apiVersion: 'orion.lab/v1alpha1', kind: 'Lab', metadata: { name: 'unoffered' }, spec: { machines: [{ name: 'm', image: 'other' }] } },
      ...CLASSES,
    ]);
    const report = await renderCommand([dir]);
    expect(report.errors).toEqual([
      'Lab default/outside: machine "m": image "/etc/hostname" is outside the allowed image directories (none configured)',
      'Lab default/unoffered: MachineClass "local" has no image "other" (machine "m"); its images: "base", "host", "xfce"',
    ]);
    expect(report.text.split('\n')[0]).toBe('# Lab default/ok: main.tf.json');
    // An allowed directory (as orion run --image-dir) makes it renderable.
    const allowed = await renderCommand([dir], { imageDirs: ['/etc'] });
    expect(allowed.errors).toHaveLength(1);
    expect(allowed.text).toContain('"base_image_path": "/etc/hostname"');
  });

  it('writes <kind>/<namespace>/<name>/main.tf.json with --output-dir', async () => {
    write('lab.yaml', [{ apiVersion: 'orion.lab/v1alpha1', kind: 'Lab', metadata: { name: 'web' }, spec: { machines: [{ name: 'm' }] } }, ...CLASSES]);
    const out = join(dir, 'out');
    const report = await renderCommand([join(dir, 'lab.yaml')], { outputDir: out });
    const file = join(out, 'lab', 'default', 'web', 'main.tf.json');
    const vars = join(out, 'lab', 'default', 'web', 'terraform.tfvars.json');
    expect(report.text).toBe(`${file}\n${vars}`);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ module: { 'machine-m': { name_prefix: '${var.machine-m.name_prefix}' } } });
    expect(JSON.parse(readFileSync(vars, 'utf8'))).toMatchObject({ 'machine-m': { name_prefix: 'default.web' } });
  });
});
