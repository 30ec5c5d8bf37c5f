// A test bed for Labs: a private libvirt daemon (harness/libvirt.ts), OpenTofu with the libvirt provider from
// .tools/ (harness/tofu.ts), a folder of manifests and the Lab controller running in-process on a FolderStore.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabControllerOptions } from '../../controllers/lab/controller.js';
import type { LabResource } from '../../src/api/types.js';
import { stateLayout } from '../../src/cli/paths.js';
import { assembleFolderOrion } from '../../src/cli/run.js';
import { findOnPath } from '../../src/exec/terraform/binary.js';
import { TerraformRunner } from '../../src/exec/terraform/runner.js';
import type { FolderStore } from '../../src/folder/store.js';
import type { Manager } from '../../src/runtime/manager.js';
import { startLibvirt, type LibvirtEnv } from './libvirt.js';
import { ensureTofu, type TofuTools } from './tofu.js';
import { hypervisorManifest, machineClassManifest, removeManifestFile, writeManifestFile } from './manifest-files.js';

export interface LabBedOptions {
  controller?: Partial<LabControllerOptions>;
  playbookDirs?: string[];
  /**
   * Run ansible-playbook and ssh-keyscan inside the libvirt network namespace, where the guests' addresses are
   * (through small wrapper scripts: `ip netns exec <ns> ansible-playbook ...`).
   */
  sshInNetns?: boolean;
  /** More directories machines may boot from (beside the pool and the bed's images/). */
  imageDirs?: string[];
  /** The default MachineClass "bed" the bed declares (classes.yaml): its images, limits, playbooks (default: one unused volume image). */
  classSpec?: Record<string, unknown>;
}

/** The bed's Hypervisor and its default MachineClass. */
export const BED_HYPERVISOR = 'bed';
export const BED_CLASS = 'bed';

const which = (name: string): Promise<string | undefined> => findOnPath(name, `${process.env.PATH ?? ''}:/usr/sbin:/sbin`);

export class LabBed {
  readonly manifests: string;
  readonly images: string;
  store!: FolderStore;
  manager!: Manager;
  runner!: TerraformRunner;
  virt!: LibvirtEnv;
  tools!: TofuTools;

  private constructor(
    readonly root: string,
    private readonly options: LabBedOptions,
  ) {
    this.manifests = join(root, 'manifests');
    this.images = join(root, 'images');
  }

  static async create(options: LabBedOptions = {}): Promise<LabBed> {
    const bed = new LabBed(await mkdtemp(join(tmpdir(), 'orion-labbed-')), options);
    try {
      await bed.setUp();
    } catch (err) {
      await bed.destroy();
      throw err;
    }
    return bed;
  }

  private async setUp(): Promise<void> {
    await mkdir(this.manifests, { recursive: true });
    await mkdir(this.images, { recursive: true });
    [this.tools, this.virt] = await Promise.all([ensureTofu('all'), startLibvirt()]);
    await this.writeClasses(this.options.classSpec ?? { images: [{ name: 'base', volume: 'base.qcow2' }] });
    this.runner = await TerraformRunner.create({ stateRoot: stateLayout(this.state).terraform, binary: this.tools.tofu, env: this.tools.env });
    await this.startOrion();
  }

  get state(): string {
    return join(this.root, 'state');
  }

  /**
   * Starts folder mode's Lab controller on a fresh FolderStore over the same manifests and state (as a restarted
   * Orion would), with this bed's Terraform runner so that tests can count its processes.
   */
  async startOrion(): Promise<void> {
    const wrappers = this.options.sshInNetns ? await this.netnsWrappers() : undefined;
    ({ store: this.store, manager: this.manager } = assembleFolderOrion(
      {
        dir: this.manifests,
        state: this.state,
        terraformRunner: this.runner,
        playbookDirs: this.options.playbookDirs,
        ...(wrappers ? { ansiblePlaybook: wrappers.ansiblePlaybook } : {}),
        imageDirs: [this.virt.poolDir, this.images, ...(this.options.imageDirs ?? [])],
        lab: {
          ...(wrappers ? { sshKeyscan: wrappers.sshKeyscan } : {}),
          shutdownGraceMs: 1500,
          pollMs: 500,
          ...this.options.controller,
        },
      },
      { only: ['lab'] },
    ));
    await this.manager.start();
  }

  /** Stops the controller: running reconciles are cancelled (their Terraform runs get SIGTERM). */
  async stopOrion(): Promise<void> {
    await this.manager?.stop();
  }

  /** Scripts that run a tool inside the libvirt network namespace (where the guests are reachable). */
  private async netnsWrappers(): Promise<{ ansiblePlaybook: string; sshKeyscan: string }> {
    const bin = join(this.root, 'bin');
    await mkdir(bin, { recursive: true });
    const ip = (await which('ip')) ?? 'ip';
    const wrap = async (name: string): Promise<string> => {
      const tool = (await which(name)) ?? name;
      const path = join(bin, name);
      await writeFile(path, `#!/bin/sh\nexec ${ip} netns exec ${this.virt.netns} ${tool} "$@"\n`, { mode: 0o755 });
      return path;
    };
    return { ansiblePlaybook: await wrap('ansible-playbook'), sshKeyscan: await wrap('ssh-keyscan') };
  }

  /** The bed's libvirt daemon as an admin's Hypervisor (TCG guests). */
  hypervisorManifest(name = BED_HYPERVISOR): object {
    return hypervisorManifest(name, { type: 'libvirt', libvirt: { uri: this.virt.uri, pool: this.virt.pool, network: this.virt.network, domainType: 'qemu' } });
  }

  /** A MachineClass on the bed's Hypervisor. */
  classManifest(name: string, spec: Record<string, unknown>, isDefault = false): object {
    return machineClassManifest(name, BED_HYPERVISOR, spec, isDefault);
  }

  /** (Re)writes classes.yaml: the bed's Hypervisor and its default MachineClass "bed" with this spec. */
  async writeClasses(spec: Record<string, unknown>): Promise<void> {
    await this.write('classes.yaml', [this.hypervisorManifest(), this.classManifest(BED_CLASS, spec, true)]);
  }

  /** A Lab (of the default class unless the spec names one), with the given machines and extra spec fields. */
  labManifest(name: string, spec: Record<string, unknown>, annotations?: Record<string, string>): object {
    return {
      apiVersion: 'orion.lab/v1alpha1',
      kind: 'Lab',
      metadata: { name, ...(annotations ? { annotations } : {}) },
      spec,
    };
  }

  async write(file: string, docs: object[]): Promise<void> {
    await writeManifestFile(this.manifests, file, docs);
  }

  async remove(file: string): Promise<void> {
    await removeManifestFile(this.manifests, file);
  }

  lab(name: string): LabResource | undefined {
    return this.store.get<LabResource>({ kind: 'Lab', namespace: 'default', name });
  }

  /** `virsh list --all`: domain name → state. */
  async domains(): Promise<Map<string, { id?: string; state: string }>> {
    const out = await this.virt.virsh('list', '--all');
    const rows = new Map<string, { id?: string; state: string }>();
    for (const line of out.split('\n')) {
      const m = /^\s*(\d+|-)\s+(\S+)\s+(.+?)\s*$/.exec(line);
      if (m) rows.set(m[2] as string, { ...(m[1] !== '-' ? { id: m[1] } : {}), state: m[3] as string });
    }
    return rows;
  }

  async volumes(): Promise<string[]> {
    const out = await this.virt.virsh('vol-list', this.virt.pool);
    return out.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter(Boolean);
  }

  async destroy(): Promise<void> {
    await this.manager?.stop().catch(() => undefined);
    await this.virt?.stop().catch(() => undefined);
    await rm(this.root, { recursive: true, force: true });
  }
}
