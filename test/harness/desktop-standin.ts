// TEST STAND-IN FOR THE DESKTOP MACHINE ONLY.
//
// What it stands in for: the virtual machine of a Desktop — a Proxmox or libvirt guest cloned from a template,
// with XFCE, XRDP and sshd — which cannot boot here (no KVM: an XFCE guest under TCG takes far too long, and the
// guest could not download its packages). Everything around the machine is real:
//
//   - Terraform: real OpenTofu (harness/tofu.ts, `install.sh core`) runs init/plan/apply/output/destroy on the root
//     module the Desktop controller writes. Only the machine module is swapped: instead of terraform/libvirt-vm or
//     terraform/proxmox-vm, the module `desktop-standin` below creates a `local_file` — the "machine record",
//     which exists exactly as long as the machine would — and publishes the machine at the address and SSH port
//     of a real sshd worker (src/dataplane/workers.ts: sshd in its own namespaces on 127.0.0.1).
//   - SSH: the controller pins the worker's host key with ssh-keyscan, runs the real ansible/desktop.yml over
//     SSH (package tasks skipped: the worker shares this host's packages and has no mirror) and checks sessions
//     with ssh2 and the real `who` / `ss` on the worker.
//   - TTL, idle timeout, warnings, quota: the controller's real code, with short durations (timeScale).
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DesktopControllerOptions } from '../../controllers/desktop/controller.js';
import { renderLabModule, type LabModuleInput } from '../../controllers/machine/module.js';
import type { DesktopResource } from '../../src/api/types.js';
import { assembleFolderOrion } from '../../src/cli/run.js';
import { workerLayout } from '../../src/dataplane/layout.js';
import { generateClientKeyPair, SshWorker, type ClientKeyPair } from '../../src/dataplane/workers.js';
import type { FolderStore } from '../../src/folder/store.js';
import type { Manager } from '../../src/runtime/manager.js';
import { ensureTofu } from './tofu.js';
import { hypervisorManifest, machineClassManifest, removeManifestFile, writeManifestFile } from './manifest-files.js';

/** The stand-in machine module, in the form of terraform/libvirt-vm's output (`machines`). */
export const STANDIN_MODULE = 'desktop-standin';

export const STANDIN_MODULE_TF = `# TEST STAND-IN for a desktop VM (see test/harness/desktop-standin.ts): the "machine" is a record file, and its
# address and SSH port are those of a real sshd worker on loopback.
terraform {
  required_providers {
    local = { source = "hashicorp/local" }
  }
}

variable "name" { type = string }
variable "machine" { type = string }
variable "ssh_port" { type = number }
variable "records_dir" { type = string }
variable "size" { type = any }

resource "local_file" "machine" {
  filename        = "\${var.records_dir}/\${var.name}.json"
  content         = jsonencode({ name = var.name, machine = var.machine, size = var.size, ssh_port = var.ssh_port })
  file_permission = "0644"
}

output "machines" {
  value = [{
    name     = "\${var.machine}-0"
    id       = "standin-\${local_file.machine.id}"
    mac      = ""
    address  = "127.0.0.1"
    ssh_port = var.ssh_port
    rdp_port = 3389
  }]
}
`;

/**
 * What cloud-init does on a real guest: authorize the Desktop's public key (its own or the one Orion generated) for
 * root on the worker that plays it — appended to the worker's /root/.ssh/authorized_keys (its host-side directory),
 * once. Synchronous: the module is rendered before anything is applied or configured.
 */
export function authorizeOnWorker(worker: { name: string; dir: string }, publicKey: string): void {
  const ssh = join(workerLayout(worker.name, worker.dir).rootHomeDir, '.ssh');
  mkdirSync(ssh, { recursive: true, mode: 0o700 });
  const file = join(ssh, 'authorized_keys');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (!current.split('\n').includes(publicKey)) appendFileSync(file, `${publicKey}\n`, { mode: 0o600 });
}

/**
 * The root module for a Desktop on the stand-in: the Lab renderer's machine block tells the size, the stand-in
 * module replaces the VM. `portOf` says which worker plays which desktop; `authorize` stands in for cloud-init.
 */
export function standInRenderer(recordsDir: string, portOf: (desktop: string) => number, authorize?: (desktop: string, publicKey: string) => void) {
  return (input: LabModuleInput): Record<string, unknown> => {
    if (authorize && input.sshPublicKey) authorize(input.name, input.sshPublicKey);
    const real = renderLabModule(input) as { module: Record<string, Record<string, unknown>> };
    const [block, args] = Object.entries(real.module)[0] as [string, Record<string, unknown>];
    const size = { cpu: args.vcpu ?? args.cores, memory_mib: args.memory_mib, disk_gib: args.disk_gib };
    return {
      '//': `TEST STAND-IN for the machine of Desktop ${input.namespace}/${input.name}`,
      terraform: { required_providers: { local: { source: 'hashicorp/local' } } },
      module: {
        [block]: {
          source: `./modules/${STANDIN_MODULE}`,
          name: `${input.namespace}.${input.name}`,
          machine: String(args.machine),
          ssh_port: portOf(input.name),
          records_dir: recordsDir,
          size,
        },
      },
      output: { machines: { value: `\${module.${block}.machines}` } },
    };
  };
}

/** The stand-in's image name (a volume of the Hypervisor's pool, as the class says: the stand-in never reads it). */
export const STANDIN_IMAGE = 'xfce';
/** The default MachineClass of the stand-in beds. */
export const STANDIN_CLASS = 'desktops';

/** The admin's Hypervisor and default MachineClass offering desktops (`desktop` extends the class's desktop section). */
export function standInClasses(desktop: Record<string, unknown> = {}, classSpec: Record<string, unknown> = {}): object[] {
  return [
    hypervisorManifest('local', { type: 'libvirt', libvirt: { uri: 'qemu:///system' } }),
    machineClassManifest(STANDIN_CLASS, 'local', { images: [{ name: STANDIN_IMAGE, volume: 'debian-12-xfce.qcow2' }], desktop, ...classSpec }, true),
  ];
}

/** A Desktop of the stand-in's default class, with the bed's key Secret (spec overrides). */
export function standInDesktop(name: string, spec: Record<string, unknown> = {}): object {
  return {
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'Desktop',
    metadata: { name },
    spec: { user: 'alice', image: STANDIN_IMAGE, sshKeySecretRef: { name: 'desktop-key' }, ...spec },
  };
}

export interface DesktopBedOptions {
  /** Desktop name → worker index. Default: every desktop on worker 0. */
  workerOf?: (desktop: string) => number;
  workers?: number;
  basePort: number;
  controller?: Partial<DesktopControllerOptions>;
}

/** Real OpenTofu, Ansible and sshd workers, with the Desktop controller in-process on a FolderStore. */
export class DesktopBed {
  readonly manifests: string;
  readonly records: string;
  readonly state: string;
  store!: FolderStore;
  manager!: Manager;
  workers: SshWorker[] = [];
  key!: ClientKeyPair;

  private constructor(
    readonly root: string,
    readonly options: DesktopBedOptions,
  ) {
    this.manifests = join(root, 'manifests');
    this.records = join(root, 'machines');
    this.state = join(root, 'state');
  }

  static async create(options: DesktopBedOptions): Promise<DesktopBed> {
    const bed = new DesktopBed(await mkdtemp(join(tmpdir(), 'orion-desktopbed-')), options);
    try {
      await bed.setUp();
    } catch (err) {
      await bed.destroy();
      throw err;
    }
    return bed;
  }

  private async setUp(): Promise<void> {
    await Promise.all([this.manifests, this.records, join(this.root, 'modules', STANDIN_MODULE), join(this.root, 'bin')].map((d) => mkdir(d, { recursive: true })));
    await writeFile(join(this.root, 'modules', STANDIN_MODULE, 'main.tf'), STANDIN_MODULE_TF);
    // The worker has no package mirror: desktop.yml runs with its package tasks (tag "packages") skipped.
    const wrapper = join(this.root, 'bin', 'ansible-playbook-standin');
    await writeFile(wrapper, '#!/bin/sh\nexec ansible-playbook --skip-tags packages "$@"\n');
    await chmod(wrapper, 0o755);

    this.key = await generateClientKeyPair(join(this.root, 'keys', 'orion'));
    const count = this.options.workers ?? 1;
    this.workers = Array.from({ length: count }, (_, i) => new SshWorker({
      name: `desktop-vm-${i}`,
      port: this.options.basePort + i,
      dir: join(this.root, 'workers', `desktop-vm-${i}`),
      authorizedKeys: [this.key.publicKey],
    }));
    const [tools] = await Promise.all([ensureTofu('core'), ...this.workers.map((w) => w.start())]);
    // A booted Debian has /run/utmp (systemd-tmpfiles); the worker's fresh /run does not until it is made.
    await Promise.all(this.workers.map((w) => w.exec(['sh', '-c', 'touch /run/utmp && chmod 664 /run/utmp'])));

    await this.write('secrets.yaml', [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'desktop-key' }, stringData: { privateKey: this.key.privateKey, publicKey: this.key.publicKey } },
    ]);
    // The admin's Hypervisor and default MachineClass with desktops; the stand-in module replaces the machine.
    await this.write('classes.yaml', standInClasses());
    const workerOf = this.options.workerOf ?? (() => 0);
    // Folder mode's Desktop controller; only the machine module is the stand-in's.
    ({ store: this.store, manager: this.manager } = assembleFolderOrion(
      {
        dir: this.manifests,
        state: this.state,
        terraform: tools.tofu,
        terraformEnv: tools.env,
        ansiblePlaybook: wrapper,
        desktop: {
          modulesDir: join(this.root, 'modules'),
          machineModule: {
            name: STANDIN_MODULE,
            render: standInRenderer(this.records, (d) => this.options.basePort + workerOf(d), (d, key) => authorizeOnWorker(this.workers[workerOf(d)] as SshWorker, key)),
          },
          pollMs: 300,
          ...this.options.controller,
        },
      },
      { only: ['desktop'] },
    ));
    await this.manager.start();
  }

  desktopManifest(name: string, spec: Record<string, unknown> = {}): object {
    return standInDesktop(name, spec);
  }

  async write(file: string, docs: object[]): Promise<void> {
    await writeManifestFile(this.manifests, file, docs);
  }

  async remove(file: string): Promise<void> {
    await removeManifestFile(this.manifests, file);
  }

  desktop(name: string): DesktopResource | undefined {
    return this.store.get<DesktopResource>({ kind: 'Desktop', namespace: 'default', name });
  }

  /** The stand-in machines that exist now (their record files). */
  async machines(): Promise<string[]> {
    return (await readdir(this.records)).sort();
  }

  async destroy(): Promise<void> {
    await this.manager?.stop().catch(() => undefined);
    await Promise.all(this.workers.map((w) => w.stop().catch(() => undefined)));
    await rm(this.root, { recursive: true, force: true });
  }
}
