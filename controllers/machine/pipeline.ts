// The machine pipeline that Labs and Desktops share. A controller calls its steps in this order, and keeps to
// itself only what is its own (a Lab: power and readiness; a Desktop: lifetime, quota, sessions, its RDP endpoint):
//
//   prepare    validate the spec and the playbook (TerminalError), read the Secrets (RetryLater) — nothing external,
//              so it comes before the finalizer, and a wrong Lab never gets one
//   render     the workspace, the Terraform module copied into it, the root module and its hash (render.ts)
//   converge   hash == appliedHash and Provisioned: nothing runs, unless a drift check is due; else init → apply,
//              then record: the machines, appliedHash, Provisioned (one status change, written with the next ones)
//   configure  host keys pinned, the playbook run when its inputs changed (configure.ts)
//   destroy    on deletion (finalize) or a Desktop's expiry: destroy what the saved state records, then discard it
//
// A failed step throws; the controller loop records it in the status (src/runtime/errors.ts). A resource that names
// no SSH key of its own gets a generated one in prepare (generated-key.ts), discarded in finalize. Somewhat over 300
// lines: the steps are one sequence both kinds call, and splitting it would scatter the order they depend on.
import { join } from 'node:path';
import { isConditionTrue } from '../../src/api/conditions.js';
import { keyOf, refOf, workspaceRef } from '../../src/api/refs.js';
import type { StatusChange } from '../../src/api/status.js';
import type { MachineSpec } from './spec.js';
import { writeFileAtomic } from '../../src/base/atomic-file.js';
import type { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import { InvalidPlaybookError } from '../../src/exec/ansible/types.js';
import type { TerraformRunner, Workspace } from '../../src/exec/terraform/runner.js';
import { RetryLater, TerminalError } from '../../src/runtime/errors.js';
import { StatusDraft, type StatusOf } from '../../src/store/status-writer.js';
import { FINALIZER, type Store } from '../../src/store/store.js';
import type { GeneratedPasswords } from '../../src/store/generated-passwords.js';
import type { Logger } from '../../src/telemetry/logger.js';
import { configureMachines } from './configure.js';
import { driftConditions, type DriftCheck } from './drift.js';
import { discardGeneratedKey, generatedKey } from './generated-key.js';
import { mergeMachines } from './machines.js';
import type { ImageSource } from './module.js';
import { orphanedDomains } from './orphans.js';
import { VirshPower } from './power.js';
import { defaultModulesDir, moduleFolderOf, renderMachineModule, type ModuleRenderer, type RenderedModule } from './render.js';
import { needNamespace, providerEnv, providerSecretNeeds, readSecrets, type MachineSecrets } from './secrets.js';
import { applyModule, checkDrift, describeFailure, destroyModule, discardState, hasRootModule, installModule, savedStateHasResources, type TerraformStep } from './terraform.js';
import { LazyTerraformRunner, type RunnerSource } from './terraform-access.js';
import { DEFAULT_LAB_LIMITS, LabSpecError, validateLab, type LabLimits, type LabPolicy } from './validate.js';
import { machineChange, type MachineResource, type MachineView } from './view.js';

export interface MachinePipelineOptions {
  /** The runner, or how to make it (resolved on first use: a missing binary is a status error, not a crash). */
  terraform: RunnerSource;
  ansible: AnsibleRunner;
  /** Where libvirt-vm/ and proxmox-vm/ are (default: the package's terraform/ folder). */
  modulesDir?: string;
  /** Replaces the machine module: its folder's name under modulesDir, and the root module around it (tests). */
  machineModule?: { name: string; render: ModuleRenderer };
  /** Directories a libvirt machine may boot files (image, kernel, initrd) from. */
  imageDirs?: string[];
  limits?: Partial<LabLimits>;
  virsh?: string;
  sshKeyscan?: string;
  /** Delay between two looks while machines have no address or SSH yet (default 3 s). */
  pollMs?: number;
  /**
   * Where generated credentials are kept (a Secret owned by the resource, or a 0600 file): the key pair of a
   * resource whose view generates one (generated-key.ts), and a Desktop's RDP password.
   */
  passwords?: GeneratedPasswords;
}

/** A resource checked and its Secrets read. */
export interface Prepared {
  /** The Lab spec its machines are made from (with the public key where cloud-init takes it). */
  spec: MachineSpec;
  images: Record<string, ImageSource>;
  secrets: MachineSecrets;
}

/** A resource rendered into its workspace. */
export interface Rendered extends Prepared {
  runner: TerraformRunner;
  ws: Workspace;
  module: RenderedModule;
  /** The environment of its Terraform runs (provider credentials). */
  env: Record<string, string>;
}

const PROXMOX_CA_FILE = 'proxmox-ca.pem';

export class MachinePipeline<R extends MachineResource> {
  private readonly terraform: LazyTerraformRunner;
  private readonly policy: LabPolicy;
  readonly pollMs: number;

  constructor(
    private readonly store: Store,
    private readonly view: MachineView<R>,
    private readonly options: MachinePipelineOptions,
  ) {
    this.terraform = new LazyTerraformRunner(options.terraform);
    this.policy = { limits: { ...DEFAULT_LAB_LIMITS, ...options.limits }, imageDirs: options.imageDirs ?? [] };
    this.pollMs = options.pollMs ?? 3000;
  }

  /** The keys of the resources of `kind` that read the Secret (in their namespace, or the one a need names): a change of it reconciles them. */
  readersOf(kind: R['kind'], namespace: string, secret: string): string[] {
    return this.store
      .list<R>(kind)
      .filter((obj) => this.view.secretNeeds(obj).some((need) => need.name === secret && needNamespace(need, obj.metadata.namespace) === namespace))
      .map((obj) => keyOf(obj));
  }

  // ---- prepare, render --------------------------------------------------------------------------------------------

  async prepare(obj: R): Promise<Prepared> {
    const passwords = this.generatesKey(obj) ? this.options.passwords : undefined;
    const images = await this.validate(this.view.machineSpec(obj), passwords !== undefined);
    const secrets = await readSecrets(this.store, obj.metadata.namespace, this.view.secretNeeds(obj));
    if (passwords) Object.assign(secrets, await generatedKey(passwords, obj));
    return { spec: this.view.machineSpec(obj, secrets.sshPublicKey), images, secrets };
  }

  /**
   * The key its machines are logged in with (its Secret, or the generated one), without resolving its spec: for a
   * resource whose class now refuses it but whose machines are kept (a Desktop's session check goes on).
   */
  async loginKey(obj: R): Promise<string | undefined> {
    const passwords = this.generatesKey(obj) ? this.options.passwords : undefined;
    if (passwords) return (await generatedKey(passwords, obj)).privateKey;
    return (await readSecrets(this.store, obj.metadata.namespace, this.view.secretNeeds(obj))).privateKey;
  }

  private generatesKey(obj: R): boolean {
    return this.view.generatesKey?.(obj) === true && this.options.passwords !== undefined;
  }

  /** Limits, names, images, the playbook: a TerminalError when something is wrong; the images for the module. */
  private async validate(spec: MachineSpec, keyGenerated: boolean): Promise<Record<string, ImageSource>> {
    try {
      const images = await validateLab(spec, this.policy);
      if (spec.ansible) this.options.ansible.resolvePlaybook(spec.ansible.playbook);
      if (spec.ansible && !spec.sshKeySecretRef && !keyGenerated) throw new LabSpecError('ansible needs sshKeySecretRef: the key Ansible logs in with');
      return images;
    } catch (err) {
      if (err instanceof LabSpecError) throw new TerminalError(err.message, err.reason, { phase: 'Failed' });
      if (err instanceof InvalidPlaybookError) throw new TerminalError(err.message, 'InvalidPlaybook', { phase: 'Failed' });
      throw err;
    }
  }

  async render(obj: R, prepared: Prepared): Promise<Rendered> {
    const runner = await this.terraform.get();
    const ws = await runner.workspace(workspaceRef(refOf(obj)));
    const custom = this.options.machineModule;
    const moduleHash = await installModule(ws, this.options.modulesDir ?? defaultModulesDir(), custom?.name ?? moduleFolderOf(prepared.spec));
    const module = renderMachineModule({
      namespace: obj.metadata.namespace,
      name: obj.metadata.name,
      spec: prepared.spec,
      images: prepared.images,
      moduleHash,
      ...(prepared.secrets.sshPublicKey ? { sshPublicKey: prepared.secrets.sshPublicKey } : {}),
    }, custom?.render);
    return { ...prepared, runner, ws, module, env: await this.providerEnv(ws, prepared.secrets) };
  }

  /** The provider's credentials for Terraform's environment (the CA as a file in the workspace). */
  private async providerEnv(ws: Workspace, secrets: MachineSecrets): Promise<Record<string, string>> {
    const caFile = join(ws.dir, PROXMOX_CA_FILE);
    if (secrets.ca) await writeFileAtomic(caFile, secrets.ca);
    return providerEnv(secrets, caFile);
  }

  // ---- converge ---------------------------------------------------------------------------------------------------

  /** Applies when the module changed (or was never applied), checks drift when it is due; otherwise runs nothing. */
  async converge(draft: StatusDraft<R>, m: Rendered, signal: AbortSignal, drift?: DriftCheck): Promise<void> {
    const status = draft.obj.status;
    const opts = { signal, env: m.env };
    if (status?.appliedHash !== m.module.hash || !isConditionTrue(status?.conditions, 'Provisioned')) {
      // After a failure the status keeps telling it until an apply succeeds.
      if (status?.phase !== 'Failed') {
        await draft.write(machineChange({ phase: 'Provisioning', conditions: [
          { type: 'Provisioned', status: 'False', reason: 'Applying', message: 'running init and apply' },
          { type: 'Ready', status: 'False', reason: 'Provisioning', message: 'creating the machines' },
        ] }));
      }
      let step = await applyModule(m.runner, m.ws, m.module.module, opts);
      if (!step.ok && (await this.removeOrphans(draft.obj, m, step, signal))) step = await applyModule(m.runner, m.ws, m.module.module, opts);
      return this.record(draft, step, m.module.hash, drift);
    }
    if (!drift?.due) return;
    await m.runner.render(m.ws, m.module.module); // a fresh workspace (a restarted pod) has no main.tf.json yet
    return this.record(draft, await checkDrift(m.runner, m.ws, drift.repair, opts), m.module.hash, drift);
  }

  /** What a Terraform step changes in the status; a failed step is a RetryLater. */
  private record(draft: StatusDraft<R>, step: TerraformStep, hash: string, drift: DriftCheck | undefined): void {
    const summary = step.summary ? { lastTerraformRun: step.summary } : {};
    if (!step.ok) {
      const { reason, message } = describeFailure(step);
      throw new RetryLater(reason, message, { phase: 'Failed', condition: 'Provisioned', fields: summary });
    }
    if (step.machines?.length === 0) {
      throw new RetryLater('NoMachine', 'the module published no machine', { phase: 'Failed', condition: 'Provisioned', fields: summary });
    }
    const obj = draft.obj;
    const conditions = drift ? driftConditions(obj.status?.conditions, step) : [];
    const fields: Record<string, unknown> = { ...summary, ...(drift ? { lastDriftCheck: new Date().toISOString() } : {}) };
    if (step.machines) {
      Object.assign(fields, this.view.recordMachines(obj, mergeMachines(this.view.machines(obj), step.machines), step.machines), { appliedHash: hash });
      conditions.push({ type: 'Provisioned', status: 'True', reason: 'Applied', message: `${step.machines.length} machine(s)` });
    }
    draft.set(machineChange({ conditions, fields }));
  }

  /** Undefines this resource's domains that an interrupted apply left out of the state; whether there were any. */
  private async removeOrphans(obj: R, m: Rendered, step: TerraformStep, signal: AbortSignal): Promise<boolean> {
    if (m.spec.provider.type !== 'libvirt' || step.run?.op !== 'apply') return false;
    const orphans = orphanedDomains(step.run.error, obj.metadata.namespace, obj.metadata.name);
    if (orphans.length === 0) return false;
    const virsh = this.virsh(m);
    for (const domain of orphans) await virsh.remove(domain, signal);
    await this.store.recordEvent(obj, {
      type: 'Warning',
      reason: 'OrphansRemoved',
      message: `undefined ${orphans.join(', ')}: left by an interrupted apply, unknown to the Terraform state`,
    });
    return true;
  }

  /**
   * A libvirt module publishes no address (Terraform does not wait for a DHCP lease: a slow boot would time the apply
   * out). A kind without power steps (a Desktop; a Lab's power keeper does the same) reads its machines' addresses
   * from the network's leases here, until each has one.
   */
  async leaseAddresses(draft: StatusDraft<R>, m: Rendered, signal: AbortSignal): Promise<void> {
    if (m.spec.provider.type !== 'libvirt') return;
    const machines = this.view.machines(draft.obj);
    const ids = machines.filter((machine) => !machine.address && machine.id).map((machine) => machine.id as string);
    if (ids.length === 0) return;
    const seen = await this.virsh(m).observe(ids, signal);
    const next = machines.map((machine) => {
      const address = machine.id && !machine.address ? seen.get(machine.id)?.address : undefined;
      return address ? { ...machine, address } : machine;
    });
    if (next.every((machine, i) => machine === machines[i])) return;
    const fields: Record<string, unknown> = this.view.recordMachines(draft.obj, next);
    draft.set(machineChange({ fields }));
  }

  private virsh(m: Rendered): VirshPower {
    return new VirshPower({ uri: m.spec.provider.libvirt?.uri ?? 'qemu:///system', virsh: this.options.virsh, logFile: join(m.ws.logDir, 'power.txt') });
  }

  // ---- configure --------------------------------------------------------------------------------------------------

  /** Runs the resource's playbook when it is due; how long to wait before looking again, if the machines are not reachable yet. */
  async configure(draft: StatusDraft<R>, m: Rendered, signal: AbortSignal): Promise<{ waitMs?: number }> {
    const run = this.view.playbook(draft.obj, m.spec, m.secrets);
    if (!run || m.spec.powerState === 'Stopped') return {};
    return configureMachines(draft, this.view, run, {
      ansible: this.options.ansible,
      privateKey: m.secrets.privateKey ?? '',
      logDir: m.ws.logDir,
      sshKeyscan: this.options.sshKeyscan,
      pollMs: this.pollMs,
      signal,
    });
  }

  // ---- destroy ----------------------------------------------------------------------------------------------------

  /**
   * Destroys what the resource's saved state records; `announce` is written first, only when there is something to
   * destroy. Whether anything was destroyed; a failed destroy is a RetryLater.
   */
  async destroy(draft: StatusDraft<R>, signal: AbortSignal, announce: StatusChange<StatusOf<R>>): Promise<boolean> {
    const obj = draft.obj;
    const runner = await this.terraform.get();
    const ws = await runner.workspace(workspaceRef(refOf(obj)));
    if (!(await savedStateHasResources(runner, ws))) return false;
    const spec = this.view.destroySpec ? this.view.destroySpec(obj) : this.view.machineSpec(obj);
    if (!hasRootModule(ws)) {
      // The state came from the backend into a fresh workspace (a restarted pod): destroy needs the module too.
      await runner.render(ws, (await this.render(obj, await this.prepareDestroy(obj, spec))).module.module);
    }
    const env = await this.providerEnv(ws, await this.destroySecrets(obj, spec));
    await draft.write(announce);
    const step = await destroyModule(runner, ws, { signal, env });
    const summary = step.summary ? { lastTerraformRun: step.summary } : {};
    if (!step.ok) throw new RetryLater('DestroyFailed', `terraform ${step.run?.op ?? 'destroy'}: ${step.run?.error ?? 'failed'}`, { phase: 'Failed', fields: summary });
    draft.set(machineChange({
      conditions: [{ type: 'Provisioned', status: 'False', reason: 'Destroyed', message: 'the machines were destroyed' }],
      fields: { ...summary, appliedHash: undefined, configuredHash: undefined },
    }));
    return true;
  }

  /** The resource as prepare() would have it, for a destroy: its images if they still resolve (a destroy needs none). */
  private async prepareDestroy(obj: R, spec: MachineSpec): Promise<Prepared> {
    const images = await validateLab(spec, this.policy).catch(() => ({}));
    return { spec, images, secrets: await this.destroySecrets(obj, spec) };
  }

  /** Only the provider's Secrets: a machine can be destroyed without the key that configured it. */
  private async destroySecrets(obj: R, spec: MachineSpec): Promise<MachineSecrets> {
    try {
      return await readSecrets(this.store, obj.metadata.namespace, providerSecretNeeds(spec.provider));
    } catch (err) {
      if (err instanceof RetryLater) throw new RetryLater(err.reason, `cannot destroy: ${err.message}`, err.status);
      throw err;
    }
  }

  /** On deletion: destroy, forget the state, then let the object go (after `released`, the kind's own clean-up). */
  async finalize(obj: R, signal: AbortSignal, log: Logger, released?: () => Promise<void>): Promise<void> {
    if (!obj.metadata.finalizers?.includes(FINALIZER)) return;
    const deleting = machineChange<R>({ phase: 'Deleting', conditions: [{ type: 'Ready', status: 'False', reason: 'Deleting', message: 'destroying the machines' }] });
    const destroyed = await StatusDraft.around(this.store, obj, (draft) => this.destroy(draft, signal, deleting));
    if (destroyed) log.info('machines destroyed');
    const runner = await this.terraform.get();
    await discardState(runner, await runner.workspace(workspaceRef(refOf(obj))));
    // Whether or not it still names no key of its own: one generated earlier goes with it.
    if (this.view.generatesKey && this.options.passwords) await discardGeneratedKey(this.options.passwords, obj);
    await released?.();
    const latest = this.store.get<R>(refOf(obj)) ?? obj;
    await this.store.removeFinalizer(latest, FINALIZER);
  }
}
