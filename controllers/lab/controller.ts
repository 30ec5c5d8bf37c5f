// Lab controller: renders a Lab's root module, applies it with OpenTofu/Terraform, reads the machines from the
// outputs, configures them with Ansible, and keeps their power as the Lab asks — all level-based:
//
//   validate (limits, names, images, secrets)  → a status error and nothing run when something is wrong
//   finalizer                                   → before any external effect
//   render main.tf.json; hash == appliedHash?   → no Terraform process at all, unless a drift check is due
//   init (when needed) → plan → apply → output  → status.machines, Provisioned
//   power (virsh / Proxmox API)                 → Running/Stopped, restart on the orion.lab/restartedAt annotation
//   Ansible, only when hosts or playbook inputs changed (configuredHash)
//   deletion                                    → destroy, then release the finalizer
//
// Longer than 300 lines for now: the machine steps it shares with the Desktop (inputs, apply, host keys, playbook,
// destroy) are still written out here and in desktop/controller.ts; they are to become one pipeline in machine/.
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { isConditionTrue, type ConditionInput } from '../../src/api/conditions.js';
import type { LabResource, LabStatus } from '../../src/api/types.js';
import { parseRefKey, refKey, refOf, workspaceRef } from '../../src/api/refs.js';
import type { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import { InvalidPlaybookError } from '../../src/exec/ansible/types.js';
import type { TerraformRunner, Workspace } from '../../src/exec/terraform/runner.js';
import { writeFileAtomic } from '../../src/base/atomic-file.js';
import { sha256 } from '../../src/base/hash.js';
import { moduleJson } from '../../src/exec/terraform/workspace.js';
import type { ReconcileRequest, ReconcileResult } from '../../src/runtime/controller.js';
import { TerminalError } from '../../src/runtime/errors.js';
import type { ControllerSetup } from '../../src/runtime/manager.js';
import { FINALIZER, type Store } from '../../src/store/store.js';
import type { Logger } from '../../src/telemetry/logger.js';
import { provisionSeconds } from '../../src/telemetry/metrics.js';
import { configureLab, type LabSecrets } from './configure.js';
import { LIBVIRT_MODULE, PROXMOX_MODULE, renderLabModule } from '../machine/module.js';
import { orphanedDomains } from '../machine/orphans.js';
import { ProxmoxPower, VirshPower, type PowerDriver } from '../machine/power.js';
import { PowerKeeper } from './power-keeper.js';
import { failedStatus, labStatus, mergeMachines, writeFailure, type LabPhase } from './status.js';
import { applyLab, checkDrift, defaultModulesDir, destroyLab, discardState, hasRootModule, installModule, savedStateHasResources, type TerraformStep } from '../machine/terraform.js';
import { DEFAULT_LAB_LIMITS, LabSpecError, validateLab, type LabLimits, type LabPolicy } from '../machine/validate.js';
import { LazyTerraformRunner, providerEnv, type RunnerSource } from '../machine/terraform-access.js';

/** Set to any new value (a timestamp) to restart every machine of the Lab, as `kubectl rollout restart` does. */
export { RESTARTED_AT_ANNOTATION } from './power-keeper.js';

export interface LabControllerOptions {
  /** The runner, or how to make it (resolved on first use: a missing binary is a status error, not a crash). */
  terraform: RunnerSource;
  ansible: AnsibleRunner;
  /** Where libvirt-vm/ and proxmox-vm/ are (default: the package's terraform/ folder). */
  modulesDir?: string;
  /** Directories a libvirt machine may boot files (image, kernel, initrd) from. */
  imageDirs?: string[];
  limits?: Partial<LabLimits>;
  virsh?: string;
  sshKeyscan?: string;
  /** Time a guest gets to shut down on ACPI before it is powered off (default 60 s). */
  shutdownGraceMs?: number;
  /** Delay between two looks while machines change state or wait for an address (default 3 s). */
  pollMs?: number;
  concurrency?: number;
  /** Replaces the virsh/Proxmox drivers (tests, other hypervisors). */
  powerDriver?: (lab: LabResource, secrets: LabSecrets, logDir: string) => PowerDriver;
}

const PROXMOX_CA_FILE = 'proxmox-ca.pem';

interface Inputs {
  secrets: LabSecrets;
  env: Record<string, string>;
  module: Record<string, unknown>;
  hash: string;
  ws: Workspace;
}

export function labController(store: Store, options: LabControllerOptions): ControllerSetup {
  const steps = new LabSteps(store, options);
  return {
    name: 'lab',
    kind: 'Lab',
    concurrency: options.concurrency ?? 4,
    reconcile: (request) => steps.reconcile(request),
    onSecret: (namespace, name) =>
      store
        .list<LabResource>('Lab', namespace)
        .filter((lab) => secretNames(lab).includes(name))
        .map((lab) => refKey(refOf(lab))),
  };
}

function secretNames(lab: LabResource): string[] {
  const proxmox = lab.spec.provider.proxmox;
  return [lab.spec.sshKeySecretRef?.name, proxmox?.tokenSecretRef.name, proxmox?.caSecretRef?.name].filter((n): n is string => Boolean(n));
}

class LabSteps {
  private readonly terraform: LazyTerraformRunner;
  private readonly policy: LabPolicy;
  private readonly power: PowerKeeper;
  private readonly pollMs: number;

  constructor(
    private readonly store: Store,
    private readonly options: LabControllerOptions,
  ) {
    this.policy = { limits: { ...DEFAULT_LAB_LIMITS, ...options.limits }, imageDirs: options.imageDirs ?? [] };
    this.power = new PowerKeeper(options.shutdownGraceMs ?? 60_000);
    this.pollMs = options.pollMs ?? 3000;

    this.terraform = new LazyTerraformRunner(options.terraform);
  }

  async reconcile({ key, signal, log }: ReconcileRequest): Promise<ReconcileResult | void> {
    let lab = this.store.get<LabResource>(parseRefKey(key));
    if (!lab) return this.power.forget(key);
    if (lab.metadata.deletionTimestamp) return this.finalize(lab, signal, log);
    const inputs = await this.inputs(lab);
    if (!inputs) return;
    lab = await this.store.addFinalizer(lab, FINALIZER);
    lab = await this.provision(lab, inputs, signal);
    const driver = this.driver(lab, inputs);
    const power = await this.power.reconcile(key, lab, driver, signal);
    lab = await this.store.updateStatus(lab, { ...lab.status, machines: power.machines, ...(power.restartedAt ? { restartedAt: power.restartedAt } : {}) });
    const configured = power.settled ? await this.configure(lab, inputs, signal) : { lab, waitMs: undefined };
    lab = configured.lab;
    await this.summarize(lab, power);
    return this.next(lab, power.settled ? configured.waitMs : this.pollMs);
  }

  // ---- inputs ---------------------------------------------------------------------------------------------------

  /** Validation, secrets and the rendered module; undefined (status written) when the Lab cannot go on. */
  private async inputs(lab: LabResource): Promise<Inputs | undefined> {
    let images;
    try {
      images = await validateLab(lab.spec, this.policy);
      if (lab.spec.ansible) this.options.ansible.resolvePlaybook(lab.spec.ansible.playbook);
      if (lab.spec.ansible && !lab.spec.sshKeySecretRef) throw new LabSpecError('ansible needs sshKeySecretRef: the key Ansible logs in with');
    } catch (err) {
      if (!(err instanceof LabSpecError) && !(err instanceof InvalidPlaybookError)) throw err;
      const reason = err instanceof LabSpecError ? err.reason : 'InvalidPlaybook';
      await this.store.updateStatus(lab, failedStatus(lab, 'Ready', reason, err.message));
      throw new TerminalError(err.message, reason);
    }
    const secrets = await this.readSecrets(lab);
    if (!secrets) return undefined;
    const runner = await this.runner(lab);
    const ws = await runner.workspace(workspaceRef(refOf(lab)));
    const moduleName = lab.spec.provider.type === 'libvirt' ? LIBVIRT_MODULE : PROXMOX_MODULE;
    const moduleHash = await installModule(ws, this.options.modulesDir ?? defaultModulesDir(), moduleName);
    if (secrets.ca) await writeFileAtomic(join(ws.dir, PROXMOX_CA_FILE), secrets.ca);
    const module = renderLabModule({
      namespace: lab.metadata.namespace,
      name: lab.metadata.name,
      spec: lab.spec,
      moduleHash,
      images,
      ...(secrets.sshPublicKey ? { sshPublicKey: secrets.sshPublicKey } : {}),
    });
    return { secrets, env: providerEnv(secrets, join(ws.dir, PROXMOX_CA_FILE)), module, hash: sha256(moduleJson(module)), ws };
  }

  /** The Lab's secrets; a missing one is a status error (the Lab is reconciled again when it appears). */
  private async readSecrets(lab: LabResource): Promise<LabSecrets | undefined> {
    const ns = lab.metadata.namespace;
    const missing = async (name: string, key?: string): Promise<undefined> => {
      const message = key ? `secret "${name}" has no "${key}" key` : `secret "${name}" not found`;
      await this.store.updateStatus(lab, failedStatus(lab, 'Ready', key ? 'SecretInvalid' : 'SecretMissing', message));
      return undefined;
    };
    const secrets: LabSecrets = {};
    const sshRef = lab.spec.sshKeySecretRef?.name;
    if (sshRef) {
      const data = await this.store.readSecret(ns, sshRef);
      if (!data) return missing(sshRef);
      if (!data.privateKey) return missing(sshRef, 'privateKey');
      secrets.privateKey = data.privateKey;
      if (data.publicKey) secrets.sshPublicKey = data.publicKey.trim();
    }
    const proxmox = lab.spec.provider.type === 'proxmox' ? lab.spec.provider.proxmox : undefined;
    if (proxmox) {
      const token = await this.store.readSecret(ns, proxmox.tokenSecretRef.name);
      if (!token) return missing(proxmox.tokenSecretRef.name);
      if (!token.tokenId || !token.tokenSecret) return missing(proxmox.tokenSecretRef.name, token.tokenId ? 'tokenSecret' : 'tokenId');
      secrets.proxmoxToken = { id: token.tokenId, secret: token.tokenSecret };
      if (proxmox.caSecretRef) {
        const ca = await this.store.readSecret(ns, proxmox.caSecretRef.name);
        if (!ca) return missing(proxmox.caSecretRef.name);
        if (!ca['ca.crt']) return missing(proxmox.caSecretRef.name, 'ca.crt');
        secrets.ca = ca['ca.crt'];
      }
    }
    return secrets;
  }

  private runner(lab: LabResource): Promise<TerraformRunner> {
    return this.terraform.get((message) => this.store.updateStatus(lab, failedStatus(lab, 'Ready', 'TerraformUnavailable', message)));
  }


  private driver(lab: LabResource, inputs: Inputs): PowerDriver {
    const logDir = inputs.ws.logDir;
    if (this.options.powerDriver) return this.options.powerDriver(lab, inputs.secrets, logDir);
    const provider = lab.spec.provider;
    if (provider.type === 'proxmox' && provider.proxmox && inputs.secrets.proxmoxToken) {
      return new ProxmoxPower({
        endpoint: provider.proxmox.endpoint,
        node: provider.proxmox.node,
        tokenId: inputs.secrets.proxmoxToken.id,
        tokenSecret: inputs.secrets.proxmoxToken.secret,
        tlsInsecure: provider.proxmox.tlsInsecure ?? false,
        ...(inputs.secrets.ca ? { ca: inputs.secrets.ca } : {}),
      });
    }
    return new VirshPower({ uri: provider.libvirt?.uri ?? 'qemu:///system', virsh: this.options.virsh, logFile: join(logDir, 'power.txt') });
  }

  // ---- Terraform ------------------------------------------------------------------------------------------------

  /** Applies when the module changed, checks drift when it is due; otherwise runs nothing. */
  private async provision(lab: LabResource, inputs: Inputs, signal: AbortSignal): Promise<LabResource> {
    const runner = await this.runner(lab);
    const opts = { signal, env: inputs.env };
    if (lab.status?.appliedHash !== inputs.hash || !isConditionTrue(lab.status?.conditions, 'Provisioned')) {
      // After a failure the status keeps telling it until an apply succeeds (no write, no extra reconcile).
      if (lab.status?.phase !== 'Failed') {
        lab = await this.store.updateStatus(lab, labStatus(lab, 'Provisioning', [
          { type: 'Provisioned', status: 'False', reason: 'Applying', message: 'running init, plan and apply' },
          { type: 'Ready', status: 'False', reason: 'Provisioning', message: 'creating the machines' },
        ]));
      }
      let step = await applyLab(runner, inputs.ws, inputs.module, opts);
      if (!step.ok && (await this.removeOrphans(lab, inputs, step, signal))) step = await applyLab(runner, inputs.ws, inputs.module, opts);
      return this.recordTerraform(lab, step, inputs.hash);
    }
    if (!driftCheckDue(lab)) return lab;
    await runner.render(inputs.ws, inputs.module); // a fresh workspace (a restarted pod) has no main.tf.json yet
    const step = await checkDrift(runner, inputs.ws, lab.spec.driftDetection?.autoRepair ?? false, opts);
    return this.recordTerraform(lab, step, inputs.hash);
  }

  /** Undefines this Lab's domains that an interrupted apply left out of the state; whether there were any. */
  private async removeOrphans(lab: LabResource, inputs: Inputs, step: TerraformStep, signal: AbortSignal): Promise<boolean> {
    if (lab.spec.provider.type !== 'libvirt' || step.run?.op !== 'apply') return false;
    const orphans = orphanedDomains(step.run.error, lab.metadata.namespace, lab.metadata.name);
    if (orphans.length === 0) return false;
    const virsh = new VirshPower({ uri: lab.spec.provider.libvirt?.uri ?? 'qemu:///system', virsh: this.options.virsh, logFile: join(inputs.ws.logDir, 'power.txt') });
    for (const domain of orphans) await virsh.remove(domain, signal);
    await this.store.recordEvent(lab, {
      type: 'Warning',
      reason: 'OrphansRemoved',
      message: `undefined ${orphans.join(', ')}: left by an interrupted apply, unknown to the Terraform state`,
    });
    return true;
  }

  private async recordTerraform(lab: LabResource, step: TerraformStep, hash: string): Promise<LabResource> {
    const extra: Partial<LabStatus> = { lastDriftCheck: new Date().toISOString(), ...(step.summary ? { lastTerraformRun: step.summary } : {}) };
    if (!step.ok) {
      const { reason, message } = describeFailure(step);
      await writeFailure(this.store, lab, failedStatus(lab, 'Provisioned', reason, message, extra));
      throw new Error(message);
    }
    const conditions = driftConditions(lab, step);
    if (step.machines) {
      extra.machines = mergeMachines(lab.status?.machines, step.machines);
      extra.appliedHash = hash;
      conditions.push({ type: 'Provisioned', status: 'True', reason: 'Applied', message: `${step.machines.length} machine(s)` });
    }
    return this.store.updateStatus(lab, labStatus(lab, lab.status?.phase ?? 'Provisioning', conditions, extra));
  }

  // ---- Ansible --------------------------------------------------------------------------------------------------

  private async configure(lab: LabResource, inputs: Inputs, signal: AbortSignal): Promise<{ lab: LabResource; waitMs?: number }> {
    return configureLab(this.store, lab, {
      ansible: this.options.ansible,
      secrets: inputs.secrets,
      logDir: inputs.ws.logDir,
      sshKeyscan: this.options.sshKeyscan,
      pollMs: this.pollMs,
      signal,
    });
  }

  // ---- status ---------------------------------------------------------------------------------------------------

  private async summarize(lab: LabResource, power: { settled: boolean; missing: string[] }): Promise<void> {
    const status = readyStatus(lab, power);
    if (status.readyAt && !lab.status?.readyAt) {
      provisionSeconds.observe({ kind: 'Lab' }, (Date.parse(status.readyAt) - Date.parse(lab.metadata.creationTimestamp)) / 1000);
    }
    if (!isDeepStrictEqual(status, lab.status)) await this.store.updateStatus(lab, status);
  }

  private next(lab: LabResource, waitMs: number | undefined): ReconcileResult | void {
    const interval = (lab.spec.driftDetection?.intervalSeconds ?? 600) * 1000;
    const last = Date.parse(lab.status?.lastDriftCheck ?? '') || Date.now();
    const untilDrift = interval > 0 ? Math.max(1000, last + interval - Date.now()) : undefined;
    const delays = [waitMs, untilDrift].filter((d): d is number => d !== undefined);
    if (delays.length > 0) return { requeueAfterMs: Math.min(...delays) };
  }

  // ---- deletion -------------------------------------------------------------------------------------------------

  private async finalize(lab: LabResource, signal: AbortSignal, log: Logger): Promise<void> {
    this.power.forget(refKey(refOf(lab)));
    if (!lab.metadata.finalizers?.includes(FINALIZER)) return;
    const runner = await this.runner(lab);
    const ws = await runner.workspace(workspaceRef(refOf(lab)));
    if (await savedStateHasResources(runner, ws)) {
      if (!hasRootModule(ws)) {
        // The state came from the backend into a fresh workspace: destroy needs the module (providers) too.
        const inputs = await this.inputs(lab);
        if (!inputs) return;
        await runner.render(ws, inputs.module);
      }
      const secrets = await this.readSecrets(lab);
      if (!secrets) return;
      lab = await this.store.updateStatus(lab, labStatus(lab, 'Deleting', [
        { type: 'Ready', status: 'False', reason: 'Deleting', message: 'destroying the machines' },
      ]));
      const step = await destroyLab(runner, ws, { signal, env: providerEnv(secrets, join(ws.dir, PROXMOX_CA_FILE)) });
      if (!step.ok) {
        const message = `terraform ${step.run?.op ?? 'destroy'}: ${step.run?.error ?? 'failed'}`;
        await writeFailure(this.store, lab, failedStatus(lab, 'Ready', 'DestroyFailed', message, step.summary ? { lastTerraformRun: step.summary } : {}));
        throw new Error(message);
      }
      log.info({ durationMs: step.run?.durationMs }, 'lab destroyed');
    }
    await discardState(runner, ws);
    const latest = this.store.get<LabResource>(refOf(lab)) ?? lab;
    await this.store.removeFinalizer(latest, FINALIZER);
  }
}

function describeFailure(step: TerraformStep): { reason: string; message: string } {
  const run = step.run;
  const reason = run?.lockHeld ? 'StateLocked' : run?.result === 'cancelled' ? 'Cancelled' : 'TerraformFailed';
  return { reason, message: `terraform ${run?.op ?? ''}: ${run?.error ?? run?.result ?? 'failed'}` };
}

/** Drifted after a drift check (True when the plan had changes that were not repaired); False after an apply. */
function driftConditions(lab: LabResource, step: TerraformStep): ConditionInput[] {
  if (step.drifted === undefined) {
    const known = lab.status?.conditions?.some((c) => c.type === 'Drifted');
    return known ? [{ type: 'Drifted', status: 'False', reason: 'Applied', message: 'the Lab was applied' }] : [];
  }
  if (!step.drifted) return [{ type: 'Drifted', status: 'False', reason: 'NoChanges', message: 'plan found no changes' }];
  if (step.applied) return [{ type: 'Drifted', status: 'False', reason: 'Repaired', message: 'drift was found and re-applied' }];
  return [{ type: 'Drifted', status: 'True', reason: 'PlanHasChanges', message: 'the machines differ from the Lab (plan exit code 2)' }];
}

function driftCheckDue(lab: LabResource): boolean {
  const interval = lab.spec.driftDetection?.intervalSeconds ?? 600;
  if (interval <= 0) return false;
  const last = Date.parse(lab.status?.lastDriftCheck ?? '');
  return Number.isNaN(last) || Date.now() - last >= interval * 1000;
}

/** Ready, phase and readyAt from the conditions and the machines' power. */
export function readyStatus(lab: LabResource, power: { settled: boolean; missing: string[] }): LabStatus {
  const conditions = lab.status?.conditions;
  const stopped = (lab.spec.powerState ?? 'Running') === 'Stopped';
  const s = {
    provisioned: isConditionTrue(conditions, 'Provisioned'),
    configured: stopped || !lab.spec.ansible || isConditionTrue(conditions, 'Configured'),
    settled: power.settled,
    stopped,
  };
  const ready = s.provisioned && s.configured && s.settled && power.missing.length === 0;
  const phase = phaseOf(lab, s);
  const status = labStatus(lab, phase, [readyCondition(lab, ready, phase, power.missing)]);
  if (ready && !status.readyAt) status.readyAt = new Date().toISOString();
  return status;
}

function readyCondition(lab: LabResource, ready: boolean, phase: LabPhase, missing: string[]): ConditionInput {
  const stopped = lab.spec.powerState === 'Stopped';
  if (ready) {
    const count = lab.status?.machines?.length ?? 0;
    return { type: 'Ready', status: 'True', reason: stopped ? 'Stopped' : 'Ready', message: `${count} machine(s) ${stopped ? 'stopped' : 'running'}` };
  }
  if (missing.length > 0) return { type: 'Ready', status: 'False', reason: 'MachineMissing', message: `machines missing on the hypervisor: ${missing.join(', ')}` };
  const failed = lab.status?.conditions?.find((c) => c.type !== 'Ready' && c.status === 'False' && phase === 'Failed');
  return { type: 'Ready', status: 'False', reason: failed?.reason ?? phase, message: failed?.message ?? `phase ${phase}` };
}

function phaseOf(lab: LabResource, s: { provisioned: boolean; configured: boolean; settled: boolean; stopped: boolean }): LabPhase {
  const failed = lab.status?.phase === 'Failed';
  if (!s.provisioned) return failed ? 'Failed' : 'Provisioning';
  if (!s.settled) return s.stopped ? 'Stopped' : 'Provisioning';
  if (s.stopped) return 'Stopped';
  if (s.configured) return 'Ready';
  return failed ? 'Failed' : 'Configuring';
}
