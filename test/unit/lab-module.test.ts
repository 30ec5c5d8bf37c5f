// The Lab's root module (pure rendering), its validation, and the parsers of the power drivers.
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalCmdline,
  machinesFromOutputs,
  PROXMOX_PROVIDER,
  renderLabModule,
  type LabModuleInput,
} from '../../controllers/machine/module.js';
import { parseDomifaddr, parseVirshList, parseVncDisplay } from '../../controllers/machine/power.js';
import { pickHostKey } from '../../controllers/machine/hostkeys.js';
import { orphanedDomains } from '../../controllers/machine/orphans.js';
import { checkLabSpec, LabSpecError, resolveImages, DEFAULT_LAB_LIMITS } from '../../controllers/machine/validate.js';
import type { MachineSpec } from '../../controllers/machine/spec.js';
import { moduleJson } from '../../src/exec/terraform/workspace.js';

const libvirtSpec = (machines: MachineSpec['machines'], extra: Partial<MachineSpec> = {}): MachineSpec =>
  ({
    provider: { type: 'libvirt', libvirt: { uri: 'qemu:///system', pool: 'images', network: 'labnet', domainType: 'qemu' } },
    machines,
    powerState: 'Running',
    driftDetection: { intervalSeconds: 600, autoRepair: false },
    ...extra,
  }) as MachineSpec;

const machine = (name: string, extra: Record<string, unknown> = {}): MachineSpec['machines'][number] =>
  ({ name, count: 1, cpu: 1, memoryMiB: 512, diskGiB: 4, ...extra }) as MachineSpec['machines'][number];

const input = (spec: MachineSpec, extra: Partial<LabModuleInput> = {}): LabModuleInput => ({ namespace: 'team-a', name: 'web', spec, ...extra });

describe('renderLabModule (libvirt)', () => {
  const spec = libvirtSpec([machine('app', { count: 2, cpu: 2, memoryMiB: 2048, diskGiB: 20 }), machine('db')]);
  const module = renderLabModule(input(spec, { moduleHash: 'sha256:abc', images: { app: { volume: 'debian-12.qcow2' } } }));

  it('pins the provider and configures it from the spec', () => {
    expect(module.terraform).toEqual({ required_version: '>= 1.6', required_providers: { libvirt: { source: 'dmacvicar/libvirt', version: '~> 0.8.3' } } });
    expect(module.provider).toEqual({ libvirt: { uri: 'qemu:///system' } });
  });

  it('calls the libvirt-vm module once per machine group, with sizes, pool, network and image', () => {
    const modules = module.module as Record<string, Record<string, unknown>>;
    expect(Object.keys(modules)).toEqual(['machine-app', 'machine-db']);
    expect(modules['machine-app']).toMatchObject({
      source: './modules/libvirt-vm',
      name_prefix: 'team-a.web',
      machine: 'app',
      instances: 2,
      vcpu: 2,
      memory_mib: 2048,
      disk_gib: 20,
      pool: 'images',
      network: 'labnet',
      domain_type: 'qemu',
      base_volume_name: 'debian-12.qcow2',
      base_image_path: '',
      wait_for_lease: false,
    });
    expect(modules['machine-db']).toMatchObject({ base_volume_name: '', base_image_path: '', instances: 1 });
  });

  it('lists every machine in one output', () => {
    expect(module.output).toEqual({ machines: { value: '${concat(module.machine-app.machines, module.machine-db.machines)}' } });
  });

  it('never makes Terraform wait for DHCP leases, even when Ansible needs addresses', () => {
    const withAnsible = renderLabModule(input({ ...spec, ansible: { playbook: 'base', user: 'root' } } as MachineSpec));
    const modules = withAnsible.module as Record<string, Record<string, unknown>>;
    expect(modules['machine-app']?.wait_for_lease).toBe(false);
  });

  it('is deterministic, and the module version is part of it', () => {
    const again = renderLabModule(input(spec, { moduleHash: 'sha256:abc', images: { app: { volume: 'debian-12.qcow2' } } }));
    expect(moduleJson(again)).toBe(moduleJson(module));
    const newer = renderLabModule(input(spec, { moduleHash: 'sha256:def', images: { app: { volume: 'debian-12.qcow2' } } }));
    expect(moduleJson(newer)).not.toBe(moduleJson(module));
  });

  it('passes a file image as a path and a kernel command line in canonical form', () => {
    const boot = libvirtSpec([machine('vm', { image: '/pool/base.qcow2', kernel: '/pool/vmlinuz', initrd: '/pool/initrd', cmdline: 'root=/dev/vda rw console=ttyS0' })]);
    const modules = renderLabModule(input(boot, { images: { vm: { path: '/pool/base.qcow2' } } })).module as Record<string, Record<string, unknown>>;
    expect(modules['machine-vm']).toMatchObject({
      base_image_path: '/pool/base.qcow2',
      kernel: '/pool/vmlinuz',
      initrd: '/pool/initrd',
      cmdline: [{ console: 'ttyS0', root: '/dev/vda' }, { _: 'rw' }],
    });
  });

  it('never contains a secret: the module is JSON built from the spec only', () => {
    const text = moduleJson(module);
    expect(text).not.toMatch(/PRIVATE KEY|token/i);
  });
});

describe('renderLabModule (proxmox)', () => {
  const spec = {
    provider: {
      type: 'proxmox',
      proxmox: { endpoint: 'https://pve.example:8006/', node: 'pve1', tokenSecretRef: { name: 'pve' }, tlsInsecure: true, storage: 'fast', bridge: 'vmbr1' },
    },
    machines: [machine('app', { template: 'debian-12-ci', count: 3 })],
    ansible: { playbook: 'base', user: 'debian' },
  } as MachineSpec;
  const module = renderLabModule(input(spec, { sshPublicKey: 'ssh-ed25519 AAAA test' }));

  it('configures the provider without credentials (they go through the environment)', () => {
    expect(module.provider).toEqual({ proxmox: { pm_api_url: 'https://pve.example:8006/api2/json', pm_tls_insecure: true } });
    expect(moduleJson(module)).not.toMatch(/tokenSecret|PM_API_TOKEN/);
  });

  it('clones the template with the sizes, storage, bridge and cloud-init user', () => {
    const modules = module.module as Record<string, Record<string, unknown>>;
    expect(modules['machine-app']).toMatchObject({
      source: './modules/proxmox-vm',
      name_prefix: 'team-a-web',
      instances: 3,
      target_node: 'pve1',
      template: 'debian-12-ci',
      storage: 'fast',
      bridge: 'vmbr1',
      ci_user: 'debian',
      ssh_public_key: 'ssh-ed25519 AAAA test',
    });
  });
});

describe('the Proxmox provider constraint (every 3.x release of Telmate/proxmox is a pre-release)', () => {
  const spec = {
    provider: { type: 'proxmox', proxmox: { endpoint: 'https://pve.example:8006', node: 'pve1', tokenSecretRef: { name: 'pve' } } },
    machines: [machine('app', { template: 'debian-12-ci' })],
  } as MachineSpec;
  const rendered = (renderLabModule(input(spec)).terraform as { required_providers: Record<string, { source: string; version: string }> }).required_providers;
  // A pre-release is selected only by an exact constraint ("3.0.2-rc10" or "= 3.0.2-rc10"): never by >=, ~> or a range.
  const EXACT_RELEASE = /^(= ?)?\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/;

  it('names one exact release of Telmate/proxmox, so that init can select it', () => {
    expect(rendered.proxmox).toEqual(PROXMOX_PROVIDER);
    expect(rendered.proxmox?.source).toBe('Telmate/proxmox');
    expect(rendered.proxmox?.version).toMatch(EXACT_RELEASE);
    expect(rendered.proxmox?.version).not.toMatch(/[<>~,]/);
  });

  it('is the release terraform/proxmox-vm pins: a root module and its module must agree, or no version satisfies both', async () => {
    const tf = await readFile(new URL('../../terraform/proxmox-vm/main.tf', import.meta.url), 'utf8');
    const pinned = /proxmox\s*=\s*\{[^}]*version\s*=\s*"([^"]+)"/.exec(tf)?.[1];
    expect(pinned).toBe(rendered.proxmox?.version);
  });

  it('keeps the module on current arguments: power_state (vm_state is deprecated), ignored after creation', async () => {
    const tf = await readFile(new URL('../../terraform/proxmox-vm/main.tf', import.meta.url), 'utf8');
    const code = tf.split('\n').filter((l) => !l.trim().startsWith('#')).join('\n');
    expect(code).toMatch(/^\s*power_state\s*=\s*"running"$/m);
    expect(code).toMatch(/ignore_changes\s*=\s*\[power_state\]/);
    expect(code).not.toMatch(/vm_state/);
  });
});

describe('canonicalCmdline (the libvirt provider reads the command line back in this form)', () => {
  it.each([
    ['', []],
    ['console=ttyS0', [{ console: 'ttyS0' }]],
    ['quiet root=/dev/vda ro console=ttyS0', [{ console: 'ttyS0', root: '/dev/vda' }, { _: 'quiet ro' }]],
    ['console=tty0 console=ttyS0', [{ console: 'tty0' }, { console: 'ttyS0' }]],
    ['a=1=2', [{ a: '1=2' }]],
  ])('%j', (cmdline, expected) => {
    expect(canonicalCmdline(cmdline)).toEqual(expected);
  });
});

describe('machinesFromOutputs', () => {
  it('reads the machines output and tolerates what it does not know', () => {
    const outputs = {
      machines: {
        value: [
          { name: 'web-0', id: 'ns.lab.web-0', mac: '52:54:00:AA:BB:CC', address: '10.0.0.5', vnc_port: null },
          { name: 'web-1', id: 101, mac: null, address: null },
          { nope: true },
        ],
      },
    };
    expect(machinesFromOutputs(outputs)).toEqual([
      { name: 'web-0', id: 'ns.lab.web-0', mac: '52:54:00:aa:bb:cc', address: '10.0.0.5' },
      { name: 'web-1', id: '101', mac: '', address: '' },
    ]);
    expect(machinesFromOutputs(undefined)).toEqual([]);
    expect(machinesFromOutputs({ machines: { value: 'x' } })).toEqual([]);
  });
});

describe('checkLabSpec', () => {
  it('accepts a Lab within the limits', () => {
    expect(() => checkLabSpec(libvirtSpec([machine('a', { count: 20, cpu: 8, memoryMiB: 16384, diskGiB: 500 })]))).not.toThrow();
  });

  it.each([
    [{ cpu: 9 }, /cpu 9 is above the limit of 8/],
    [{ memoryMiB: 20000 }, /memoryMiB 20000 MiB is above the limit of 16384 MiB/],
    [{ diskGiB: 501 }, /diskGiB 501 GiB is above the limit of 500 GiB/],
    [{ count: 21 }, /count 21 is above the limit of 20/],
    [{ count: 0 }, /count must be a positive integer/],
    [{ name: 'bad_name' }, /must be a DNS label/],
    [{ name: 'Upper' }, /must be a DNS label/],
    [{ template: 'tpl' }, /template is a Proxmox field/],
    [{ cmdline: 'quiet' }, /need kernel/],
  ])('refuses %j', (override, message) => {
    expect(() => checkLabSpec(libvirtSpec([machine('a', override)]))).toThrow(message);
  });

  it('refuses duplicate names and too many machines in total', () => {
    expect(() => checkLabSpec(libvirtSpec([machine('a'), machine('a')]))).toThrow(/used twice/);
    const many = Array.from({ length: 3 }, (_, i) => machine(`m${i}`, { count: 20 }));
    expect(() => checkLabSpec(libvirtSpec(many))).toThrow(/60 machines, above the limit of 50/);
  });

  it('applies lower configured limits', () => {
    expect(() => checkLabSpec(libvirtSpec([machine('a', { cpu: 4 })]), { ...DEFAULT_LAB_LIMITS, cpu: 2 })).toThrow(LabSpecError);
  });

  it('requires a template on Proxmox', () => {
    const spec = { provider: { type: 'proxmox', proxmox: { endpoint: 'https://x', node: 'n', tokenSecretRef: { name: 't' } } }, machines: [machine('a')] } as MachineSpec;
    expect(() => checkLabSpec(spec)).toThrow(/needs a template/);
  });
});

describe('resolveImages', () => {
  let root: string;
  let pool: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'orion-images-'));
    pool = join(root, 'pool');
    await mkdir(pool);
    await writeFile(join(pool, 'base.qcow2'), 'x');
    await writeFile(join(root, 'outside.qcow2'), 'x');
    await symlink(join(root, 'outside.qcow2'), join(pool, 'escape.qcow2'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const resolve = (image: string, extra: Record<string, unknown> = {}) =>
    resolveImages(libvirtSpec([machine('a', { image, ...extra })]), { limits: DEFAULT_LAB_LIMITS, imageDirs: [pool] });

  it('takes a bare name as a pool volume and an allowed file as a path', async () => {
    expect(await resolve('debian-12.qcow2')).toEqual({ a: { volume: 'debian-12.qcow2' } });
    expect(await resolve(join(pool, 'base.qcow2'))).toEqual({ a: { path: join(pool, 'base.qcow2') } });
  });

  it.each([
    ['a file outside the allowed directories', () => join(root, 'outside.qcow2'), /outside the allowed image directories/],
    ['a symlink escaping them', () => join(pool, 'escape.qcow2'), /resolves outside/],
    ['a path with ..', () => `${pool}/../outside.qcow2`, /absolute, normalized path/],
    ['a relative path', () => 'pool/base.qcow2', /absolute, normalized path/],
    ['a missing file', () => join(pool, 'missing.qcow2'), /does not exist/],
    ['a strange volume name', () => '..', /neither a volume name nor an absolute path/],
  ])('refuses %s', async (_what, image, message) => {
    await expect(resolve(image())).rejects.toThrow(message);
  });

  it('checks kernel and initrd the same way', async () => {
    await expect(resolve('v.qcow2', { kernel: '/boot/vmlinuz' })).rejects.toThrow(/kernel .* outside/);
  });
});

describe('virsh and ssh-keyscan parsers', () => {
  it('parses virsh list --all', () => {
    const rows = parseVirshList(' 3    ns.lab.web-0   running\n -    ns.lab.web-1   shut off\n');
    expect(rows.get('ns.lab.web-0')).toEqual({ id: '3', state: 'running' });
    expect(rows.get('ns.lab.web-1')).toEqual({ state: 'shut off' });
  });

  it('parses domifaddr and domdisplay', () => {
    expect(parseDomifaddr(' vnet0      52:54:00:7a:b3:8b    ipv4         10.77.0.23/24\n')).toBe('10.77.0.23');
    expect(parseDomifaddr('')).toBeUndefined();
    expect(parseVncDisplay('vnc://127.0.0.1:1')).toBe(5901);
    expect(parseVncDisplay('spice://127.0.0.1:5930')).toBeUndefined();
  });

  it('prefers an ed25519 host key', () => {
    const out = '10.0.0.5 ssh-rsa AAAAB3Nza\n# comment\n10.0.0.5 ssh-ed25519 AAAAC3NzaC1\n';
    expect(pickHostKey(out)).toBe('ssh-ed25519 AAAAC3NzaC1');
    expect(pickHostKey('')).toBeUndefined();
  });
});

describe('orphanedDomains', () => {
  const error = [
    "Error: error defining libvirt domain: operation failed: domain 'team-a.web.app-1' already exists with uuid 7237079d-2222-4be7-baf5-b152ae96969e",
    "Error: error defining libvirt domain: operation failed: domain 'team-a.web.app-0' already exists with uuid 2b256006-92bc-4091-8a64-fd1ba58b6531",
    "Error: error defining libvirt domain: operation failed: domain 'team-a.other.app-0' already exists with uuid 2b256006-92bc-4091-8a64-fd1ba58b6532",
    "Error: error defining libvirt domain: operation failed: domain 'team-a.web.app-1' already exists with uuid 7237079d-2222-4be7-baf5-b152ae96969e",
  ].join('\n\n');

  it("lists only this Lab's domains, once each", () => {
    expect(orphanedDomains(error, 'team-a', 'web')).toEqual(['team-a.web.app-0', 'team-a.web.app-1']);
    expect(orphanedDomains(error, 'team-b', 'web')).toEqual([]);
    expect(orphanedDomains('Error: something else', 'team-a', 'web')).toEqual([]);
    expect(orphanedDomains(undefined, 'team-a', 'web')).toEqual([]);
  });
});
