// Desktop controller: an ephemeral remote desktop is a one-machine Lab from a template (the Lab's module
// rendering and Terraform steps), configured by ansible/desktop.yml (XFCE + XRDP, optional AD join and pam_mount),
// that publishes its RDP endpoint and goes away at its TTL or after a time without sessions. Level-based:
//
//   finalizer                                      → before any external effect
//   lifetime (TTL, idle)                           → Warning event warningSeconds before, then destroy: Expired
//   validate (sizes, image) → quota (per user, overall) → Pending/QuotaExceeded and nothing created when full
//   render main.tf.json; hash == appliedHash?      → no Terraform process; else init → plan → apply → output
//   pin the host key, run desktop.yml only when its inputs changed (configuredHash)
//   Ready: status.rdp = machine address, 3389, user
//   sessions, over SSH, once per idle-check interval → idleSince / lastActivityAt
//   deletion                                       → destroy, then release the finalizer
//
// Every wait is a requeueAfter to the next deadline or check; no reconcile sleeps. Secrets (SSH key, RDP and AD
// passwords, Proxmox token) go to Terraform's environment, Ansible's private run directory or ssh2's memory only.
//
// Longer than 300 lines for now: the machine steps it shares with the Lab (inputs, apply, host key, playbook,
// destroy) are still written out here and in lab/controller.ts; they are to become one pipeline in machine/.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { isConditionTrue, type ConditionInput } from '../../src/api/conditions.js';
import type { DesktopResource, DesktopStatus } from '../../src/api/types.js';
import { parseRefKey, refKey, refOf, workspaceRef } from '../../src/api/refs.js';
import type { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import { InvalidPlaybookError, InvalidRunRequestError, type AnsibleHost, type AnsibleRunRequest, type AnsibleRunResult } from '../../src/exec/ansible/types.js';
import { runSshCommand } from '../../src/exec/ssh-command.js';
import type { TerraformRunner, Workspace } from '../../src/exec/terraform/runner.js';
import { writeFileAtomic } from '../../src/base/atomic-file.js';
import { sha256 } from '../../src/base/hash.js';
import { moduleJson } from '../../src/exec/terraform/workspace.js';
import type { ReconcileRequest, ReconcileResult } from '../../src/runtime/controller.js';
import { TerminalError } from '../../src/runtime/errors.js';
import type { ControllerSetup } from '../../src/runtime/manager.js';
import { GeneratedSecretConflict, type GeneratedPassword, type GeneratedPasswords, type PasswordReference } from '../../src/store/generated-passwords.js';
import { FINALIZER, type Store, type WatchEvent } from '../../src/store/store.js';
import type { Logger } from '../../src/telemetry/logger.js';
import { provisionSeconds } from '../../src/telemetry/metrics.js';
import {
  DESKTOP_PLAYBOOK, SecretProblem, applyDesktop, desktopLabSpec, desktopPlaybookVars, desktopSecretNames,
  readDesktopSecrets, renderDesktopModule, type DesktopApply, type DesktopMachine, type DesktopSecrets, type RenderModule,
} from './lab.js';
import { afterIdleCheck, expiryOf, lifetimeOf, lifetimeStep, type ExpiryReason, type Lifetime, type Warning } from './lifetime.js';
import { ADMITTED, quotaVerdict, waitingForQuota, type QuotaLimits } from './quota.js';
import { SESSIONS_COMMAND, describeSessions, parseSessions } from './sessions.js';
import { desktopStatus, failedStatus, type DesktopPhase, type StatusPatch } from './status.js';
import { scanHostKey } from '../machine/hostkeys.js';
import { LIBVIRT_MODULE, PROXMOX_MODULE } from '../machine/module.js';
import { defaultModulesDir, destroyLab, discardState, hasRootModule, installModule, savedStateHasResources } from '../machine/terraform.js';
import { DEFAULT_LAB_LIMITS, LabSpecError, validateLab, type LabLimits, type LabPolicy } from '../machine/validate.js';
import { ansibleRunSummary, describeAnsibleRun } from '../run-summary.js';
import { LazyTerraformRunner, providerEnv, type RunnerSource } from '../machine/terraform-access.js';

export interface DesktopControllerOptions extends QuotaLimits {
  /** The runner, or how to make it (resolved on first use: a missing binary is a status error, not a crash). */
  terraform: RunnerSource;
  ansible: AnsibleRunner;
  /** Where libvirt-vm/ and proxmox-vm/ are (default: the package's terraform/ folder). */
  modulesDir?: string;
  /** Replaces the machine module: its folder's name under modulesDir, and the root module around it (tests). */
  machineModule?: { name: string; render: RenderModule };
  /** Directories a libvirt desktop may boot its template image from. */
  imageDirs?: string[];
  limits?: Partial<LabLimits>;
  /** The playbook that configures a desktop (default: desktop, i.e. ansible/desktop.yml). */
  playbook?: string;
  /** The machine's administrative login, for Ansible and the session check (default root). */
  adminUser?: string;
  /** Time between two looks at a desktop's sessions (default 60 s). */
  idleCheckMs?: number;
  /** Multiplies the spec's durations (default 1). Tests only: lets the schema's 60 s minimum last seconds. */
  timeScale?: number;
  /** Delay between two looks while a machine has no address or SSH yet (default 3 s). */
  pollMs?: number;
  sshKeyscan?: string;
  sshTimeoutMs?: number;
  concurrency?: number;
  /**
   * Where the RDP password of a Desktop that names none (no spec.passwordSecretRef, no AD) is generated and kept:
   * a Secret owned by the Desktop, or a 0600 file. Without it such a Desktop gets no local password.
   */
  passwords?: GeneratedPasswords;
}

const PROXMOX_CA_FILE = 'proxmox-ca.pem';
const RDP_PASSWORD = 'rdp';
const DEFAULT_IDLE_CHECK_MS = 60_000;
const MIN_REQUEUE_MS = 50;

const WARNING_TEXT: Record<Warning, string> = {
  ExpiringSoon: 'its time to live ends',
  IdleSoon: 'nobody has used it for too long',
};
const EXPIRY_TEXT: Record<ExpiryReason, string> = {
  TTLExpired: 'its time to live has ended',
  IdleTimeout: 'it had no session for its idle timeout',
};

export function desktopController(store: Store, options: DesktopControllerOptions): ControllerSetup {
  const steps = new DesktopSteps(store, options);
  return {
    name: 'desktop',
    kind: 'Desktop',
    concurrency: options.concurrency ?? 4,
    reconcile: (request) => steps.reconcile(request),
    // A slot frees up when a desktop is gone or has expired: look at the waiting ones again.
    watches: [{ kind: 'Desktop', map: (event) => steps.waitingAfter(event) }],
    onSecret: (namespace, name) =>
      store
        .list<DesktopResource>('Desktop', namespace)
        .filter((d) => desktopSecretNames(d).includes(name))
        .map((d) => refKey(refOf(d))),
  };
}

interface Inputs {
  secrets: DesktopSecrets;
  env: Record<string, string>;
  module: Record<string, unknown>;
  hash: string;
  ws: Workspace;
  /** Where the generated RDP password is, when Orion made it. */
  passwordRef?: PasswordReference;
}

type Step = { desktop: DesktopResource; waitMs?: number };

class DesktopSteps {
  private readonly terraform: LazyTerraformRunner;
  private readonly policy: LabPolicy;
  private readonly admitted = new Set<string>();
  private admission: Promise<unknown> = Promise.resolve();
  private readonly lastSessionCheck = new Map<string, number>();
  private readonly idleCheckMs: number;
  private readonly pollMs: number;
  private readonly adminUser: string;

  constructor(
    private readonly store: Store,
    private readonly options: DesktopControllerOptions,
  ) {
    this.policy = { limits: { ...DEFAULT_LAB_LIMITS, ...options.limits }, imageDirs: options.imageDirs ?? [] };
    this.idleCheckMs = options.idleCheckMs ?? DEFAULT_IDLE_CHECK_MS;
    this.pollMs = options.pollMs ?? 3000;
    this.adminUser = options.adminUser ?? 'root';

    this.terraform = new LazyTerraformRunner(options.terraform);
  }

  async reconcile({ key, signal, log }: ReconcileRequest): Promise<ReconcileResult | void> {
    let desktop = this.store.get<DesktopResource>(parseRefKey(key));
    if (!desktop) return this.forget(key);
    if (desktop.metadata.deletionTimestamp) return this.finalize(desktop, signal, log);
    desktop = await this.store.addFinalizer(desktop, FINALIZER);
    if (desktop.status?.phase === 'Expired') return this.forget(key);

    const lifetime = lifetimeOf(desktop.spec, this.options.timeScale);
    desktop = await this.write(desktop, desktopStatus(desktop, undefined, [], { expiresAt: new Date(expiryOf(desktop.metadata.creationTimestamp, lifetime)).toISOString() }));
    const early = await this.lifetime(desktop, lifetime, signal, log);
    if (early.expired) return;
    desktop = early.desktop;

    await this.validate(desktop);
    const admitted = await this.admit(desktop);
    if (!admitted.ok) return this.requeue(admitted.desktop, lifetime, undefined);
    desktop = admitted.desktop;

    const inputs = await this.inputs(desktop);
    if (!inputs.ok) return this.requeue(inputs.desktop, lifetime, undefined);
    desktop = await this.provision(inputs.desktop, inputs.inputs, signal);
    const configured = await this.configure(desktop, inputs.inputs, signal);
    desktop = await this.publish(configured.desktop, inputs.inputs.passwordRef);
    desktop = await this.checkSessions(desktop, inputs.inputs.secrets, log);

    const late = await this.lifetime(desktop, lifetime, signal, log);
    if (late.expired) return;
    return this.requeue(late.desktop, lifetime, configured.waitMs);
  }

  /** A slot may have freed up: the desktops waiting for one (the changed desktop's own key comes anyway). */
  waitingAfter(event: WatchEvent): string[] {
    const gone = event.type === 'DELETED' || (event.object as DesktopResource).status?.phase === 'Expired';
    if (!gone) return [];
    this.admitted.delete(refKey(refOf(event.object)));
    return waitingForQuota(this.store.list<DesktopResource>('Desktop'), this.admitted).map((d) => refKey(refOf(d)));
  }

  private forget(key: string): void {
    this.admitted.delete(key);
    this.lastSessionCheck.delete(key);
  }

  private async write(desktop: DesktopResource, status: DesktopStatus): Promise<DesktopResource> {
    return isDeepStrictEqual(status, desktop.status) ? desktop : this.store.updateStatus(desktop, status);
  }

  // ---- lifetime -------------------------------------------------------------------------------------------------

  /** Records the warnings that are due and destroys the desktop when its TTL or idle timeout has passed. */
  private async lifetime(desktop: DesktopResource, lifetime: Lifetime, signal: AbortSignal, log: Logger): Promise<{ desktop: DesktopResource; expired: boolean }> {
    const status = desktop.status ?? {};
    const step = lifetimeStep(lifetimeState(status), lifetime);
    for (const warning of step.warnings) desktop = await this.warn(desktop, warning, warning === 'ExpiringSoon' ? Date.parse(status.expiresAt ?? '') : step.idleDeadline);
    if (!step.expire) return { desktop, expired: false };
    await this.expire(desktop, step.expire, signal, log);
    return { desktop, expired: true };
  }

  private async warn(desktop: DesktopResource, warning: Warning, deadline: number | undefined): Promise<DesktopResource> {
    const at = deadline !== undefined && !Number.isNaN(deadline) ? new Date(deadline).toISOString() : 'now';
    await this.store.recordEvent(desktop, { type: 'Warning', reason: warning, message: `the desktop will be destroyed at ${at}: ${WARNING_TEXT[warning]}` });
    const now = new Date().toISOString();
    const patch: StatusPatch = warning === 'ExpiringSoon' ? { warnedAt: now, expiryWarnedAt: now } : { warnedAt: now, idleWarnedAt: now };
    return this.write(desktop, desktopStatus(desktop, undefined, [], patch));
  }

  private async expire(desktop: DesktopResource, reason: ExpiryReason, signal: AbortSignal, log: Logger): Promise<void> {
    const message = `destroyed: ${EXPIRY_TEXT[reason]}`;
    desktop = await this.write(desktop, desktopStatus(desktop, 'Expiring', [{ type: 'Ready', status: 'False', reason, message: `destroying: ${EXPIRY_TEXT[reason]}` }]));
    const destroyed = await this.destroy(desktop, signal);
    if (!destroyed.ok) return;
    desktop = destroyed.desktop;
    await this.write(desktop, desktopStatus(desktop, 'Expired', [
      { type: 'Ready', status: 'False', reason, message },
      { type: ADMITTED, status: 'False', reason: 'Expired', message: 'the desktop no longer holds a slot' },
    ], { expiredAt: new Date().toISOString(), rdp: undefined, machine: undefined, sessions: undefined }));
    await this.store.recordEvent(desktop, { type: 'Normal', reason: 'Expired', message: `the desktop was ${message}` });
    log.info({ reason }, 'desktop expired and destroyed');
    this.forget(refKey(refOf(desktop)));
  }

  private requeue(desktop: DesktopResource, lifetime: Lifetime, waitMs: number | undefined): ReconcileResult {
    const now = Date.now();
    const step = lifetimeStep(lifetimeState(desktop.status ?? {}, now), lifetime);
    const delays = [waitMs, step.nextAt !== undefined ? step.nextAt - now : undefined];
    if (desktop.status?.phase === 'Ready') {
      const last = this.lastSessionCheck.get(refKey(refOf(desktop))) ?? now;
      delays.push(last + this.idleCheckMs - now);
    }
    const due = delays.filter((d): d is number => d !== undefined);
    return { requeueAfterMs: Math.max(MIN_REQUEUE_MS, Math.min(...due, 24 * 3600_000)) };
  }

  // ---- admission ------------------------------------------------------------------------------------------------

  private async validate(desktop: DesktopResource): Promise<void> {
    try {
      await validateLab(desktopLabSpec(desktop, this.adminUser), this.policy);
      this.options.ansible.resolvePlaybook(this.options.playbook ?? DESKTOP_PLAYBOOK);
    } catch (err) {
      if (!(err instanceof LabSpecError) && !(err instanceof InvalidPlaybookError)) throw err;
      const reason = err instanceof LabSpecError ? err.reason : 'InvalidPlaybook';
      await this.write(desktop, failedStatus(desktop, 'Ready', reason, err.message));
      throw new TerminalError(err.message, reason);
    }
  }

  /** Takes a slot (once), or leaves the desktop Pending with QuotaExceeded; one decision at a time. */
  private admit(desktop: DesktopResource): Promise<{ ok: boolean; desktop: DesktopResource }> {
    const key = refKey(refOf(desktop));
    if (this.admitted.has(key) || isConditionTrue(desktop.status?.conditions, ADMITTED)) {
      this.admitted.add(key);
      return Promise.resolve({ ok: true, desktop });
    }
    const decide = async (): Promise<{ ok: boolean; desktop: DesktopResource }> => {
      const verdict = quotaVerdict(desktop, this.store.list<DesktopResource>('Desktop'), this.options, this.admitted);
      if (!verdict.admit) {
        if (desktop.status?.phase !== 'Pending') await this.store.recordEvent(desktop, { type: 'Warning', reason: 'QuotaExceeded', message: verdict.message });
        const status = desktopStatus(desktop, 'Pending', [
          { type: ADMITTED, status: 'False', reason: 'QuotaExceeded', message: verdict.message },
          { type: 'Ready', status: 'False', reason: 'QuotaExceeded', message: `waiting for a slot: ${verdict.message}` },
        ]);
        return { ok: false, desktop: await this.write(desktop, status) };
      }
      this.admitted.add(key);
      const status = desktopStatus(desktop, 'Provisioning', [
        { type: ADMITTED, status: 'True', reason: 'SlotAvailable', message: `desktop of ${desktop.spec.user}` },
        { type: 'Ready', status: 'False', reason: 'Provisioning', message: 'creating the machine' },
      ]);
      return { ok: true, desktop: await this.write(desktop, status) };
    };
    const result = this.admission.then(decide, decide);
    this.admission = result.catch(() => undefined);
    return result;
  }

  // ---- inputs ---------------------------------------------------------------------------------------------------

  private async inputs(desktop: DesktopResource): Promise<{ ok: true; desktop: DesktopResource; inputs: Inputs } | { ok: false; desktop: DesktopResource }> {
    let secrets: DesktopSecrets;
    let generated: GeneratedPassword | undefined;
    try {
      secrets = await readDesktopSecrets(this.store, desktop);
      generated = await this.generatedPassword(desktop, secrets);
    } catch (err) {
      if (!(err instanceof SecretProblem)) throw err;
      return { ok: false, desktop: await this.write(desktop, failedStatus(desktop, 'Ready', err.reason, err.message)) };
    }
    if (generated) secrets.rdpPassword = generated.password;
    const runner = await this.runner(desktop);
    const ws = await runner.workspace(workspaceRef(refOf(desktop)));
    const libvirt = desktop.spec.provider.type === 'libvirt';
    const moduleName = this.options.machineModule?.name ?? (libvirt ? LIBVIRT_MODULE : PROXMOX_MODULE);
    const moduleHash = await installModule(ws, this.options.modulesDir ?? defaultModulesDir(), moduleName);
    if (secrets.ca) await writeFileAtomic(join(ws.dir, PROXMOX_CA_FILE), secrets.ca);
    const spec = desktopLabSpec(desktop, this.adminUser, secrets.sshPublicKey);
    const images = libvirt ? await validateLab(spec, this.policy) : {};
    const render = this.options.machineModule?.render ?? renderDesktopModule;
    const module = render({
      namespace: desktop.metadata.namespace,
      name: desktop.metadata.name,
      spec,
      moduleHash,
      images,
      ...(secrets.sshPublicKey ? { sshPublicKey: secrets.sshPublicKey } : {}),
    });
    const inputs = {
      secrets,
      env: providerEnv(secrets, join(ws.dir, PROXMOX_CA_FILE)),
      module,
      hash: sha256(moduleJson(module)),
      ws,
      passwordRef: generated?.reference,
    };
    return { ok: true, desktop, inputs };
  }

  /** Without a password of its own (and without AD, which authenticates), the Desktop gets a generated one. */
  private async generatedPassword(desktop: DesktopResource, secrets: DesktopSecrets): Promise<GeneratedPassword | undefined> {
    if (secrets.rdpPassword || desktop.spec.adJoin || !this.options.passwords) return undefined;
    return this.options.passwords.ensure(desktop, RDP_PASSWORD).catch((err: unknown) => {
      // Its place is taken by a Secret Orion did not make: neither used nor replaced, and the Desktop says so.
      throw err instanceof GeneratedSecretConflict ? new SecretProblem(err.message, 'SecretConflict') : err;
    });
  }

  private runner(desktop: DesktopResource): Promise<TerraformRunner> {
    return this.terraform.get((message) => this.write(desktop, failedStatus(desktop, 'Ready', 'TerraformUnavailable', message)));
  }


  // ---- Terraform ------------------------------------------------------------------------------------------------

  /** Applies when the rendered module changed (or never applied); otherwise runs nothing. */
  private async provision(desktop: DesktopResource, inputs: Inputs, signal: AbortSignal): Promise<DesktopResource> {
    if (desktop.status?.appliedHash === inputs.hash && isConditionTrue(desktop.status?.conditions, 'Provisioned')) return desktop;
    desktop = await this.write(desktop, desktopStatus(desktop, 'Provisioning', [
      { type: 'Provisioned', status: 'False', reason: 'Applying', message: 'running init, plan and apply' },
      { type: 'Ready', status: 'False', reason: 'Provisioning', message: 'creating the machine' },
    ]));
    const runner = await this.runner(desktop);
    const step: DesktopApply = await applyDesktop(runner, inputs.ws, inputs.module, { signal, env: inputs.env });
    const summary = step.summary ? { lastTerraformRun: step.summary } : {};
    if (!step.ok || !step.machine) {
      const { reason, message } = describeApplyFailure(step);
      await this.write(desktop, failedStatus(desktop, 'Provisioned', reason, message, summary));
      throw new Error(message);
    }
    const m = step.machine;
    return this.write(desktop, desktopStatus(desktop, 'Configuring', [
      { type: 'Provisioned', status: 'True', reason: 'Applied', message: `machine ${m.id || m.name}` },
    ], {
      ...summary,
      machine: machineStatus(desktop.status?.machine, m),
      appliedHash: inputs.hash,
      rdp: m.address ? { host: m.address, port: m.rdpPort, user: desktop.spec.user } : undefined,
    }));
  }

  // ---- Ansible --------------------------------------------------------------------------------------------------

  /** Pins the host key on first contact, then runs desktop.yml when what it depends on changed. */
  private async configure(desktop: DesktopResource, inputs: Inputs, signal: AbortSignal): Promise<Step> {
    const machine = desktop.status?.machine;
    const waiting = async (reason: string, message: string): Promise<Step> => ({
      desktop: await this.write(desktop, desktopStatus(desktop, 'Configuring', [{ type: 'Configured', status: 'False', reason, message }])),
      waitMs: this.pollMs,
    });
    if (!machine?.address) return waiting('WaitingForAddress', 'the machine has no address yet');
    const port = machine.sshPort ?? 22;
    const playbook = this.options.playbook ?? DESKTOP_PLAYBOOK;
    const vars = desktopPlaybookVars(desktop, inputs.secrets);
    const hash = configureHash(playbook, this.adminUser, vars, machine, inputs.secrets.privateKey);
    if (desktop.status?.configuredHash === hash && isConditionTrue(desktop.status.conditions, 'Configured')) return { desktop };

    let hostKey = machine.hostKey;
    if (!hostKey) {
      hostKey = await scanHostKey(machine.address, port, { sshKeyscan: this.options.sshKeyscan, logDir: inputs.ws.logDir, signal });
      if (!hostKey) return waiting('WaitingForSSH', `SSH does not answer yet on ${machine.address}:${port}`);
    }
    desktop = await this.write(desktop, desktopStatus(desktop, 'Configuring', [
      { type: 'Configured', status: 'False', reason: 'Running', message: `running playbook ${playbook}` },
    ], { machine: { ...machine, hostKey } }));
    const host: AnsibleHost = { name: 'desktop', address: machine.address, port, user: this.adminUser, hostKey };
    const result = await this.runPlaybook(desktop, { playbook, hosts: [host], privateKey: inputs.secrets.privateKey, extraVars: vars, signal });
    const summary = ansibleRunSummary(result);
    if (result.result !== 'success') {
      const message = describeAnsibleRun(result);
      await this.write(desktop, failedStatus(desktop, 'Configured', 'PlaybookFailed', message, { lastAnsibleRun: summary }));
      throw new Error(`${result.playbook}: ${message}`);
    }
    desktop = await this.write(desktop, desktopStatus(desktop, 'Configuring', [
      { type: 'Configured', status: 'True', reason: 'PlaybookSucceeded', message: `${result.playbook} ran` },
    ], { configuredHash: hash, lastAnsibleRun: summary }));
    return { desktop };
  }

  private async runPlaybook(desktop: DesktopResource, request: Omit<AnsibleRunRequest, 'resource'>): Promise<AnsibleRunResult> {
    try {
      return await this.options.ansible.run({ ...request, resource: refOf(desktop) });
    } catch (err) {
      if (!(err instanceof InvalidRunRequestError)) throw err;
      await this.write(desktop, failedStatus(desktop, 'Configured', 'InvalidRunRequest', err.message));
      throw new TerminalError(err.message, 'InvalidRunRequest');
    }
  }

  /** Ready once provisioned and configured: the RDP endpoint is the machine's address (and where a generated password is). */
  private async publish(desktop: DesktopResource, passwordRef: PasswordReference | undefined): Promise<DesktopResource> {
    const conditions = desktop.status?.conditions;
    if (!isConditionTrue(conditions, 'Provisioned') || !isConditionTrue(conditions, 'Configured') || !desktop.status?.rdp) return desktop;
    const rdp = { ...desktop.status.rdp, ...passwordRef };
    const readyAt = desktop.status.readyAt ?? new Date().toISOString();
    if (!desktop.status.readyAt) {
      provisionSeconds.observe({ kind: 'Desktop' }, (Date.parse(readyAt) - Date.parse(desktop.metadata.creationTimestamp)) / 1000);
      await this.store.recordEvent(desktop, { type: 'Normal', reason: 'Ready', message: `RDP on ${rdp.host}:${rdp.port} as ${rdp.user}` });
    }
    return this.write(desktop, desktopStatus(desktop, 'Ready', [
      { type: 'Ready', status: 'True', reason: 'Ready', message: `RDP on ${rdp.host}:${rdp.port} as ${rdp.user}` },
    ], { readyAt, rdp }));
  }

  // ---- sessions -------------------------------------------------------------------------------------------------

  /** Once per interval on a Ready desktop: who is logged in or connected over RDP, as the machine sees it. */
  private async checkSessions(desktop: DesktopResource, secrets: DesktopSecrets, log: Logger): Promise<DesktopResource> {
    const key = refKey(refOf(desktop));
    const machine = desktop.status?.machine;
    if (desktop.status?.phase !== 'Ready' || !machine?.address || !machine.hostKey) return desktop;
    const last = this.lastSessionCheck.get(key);
    if (last !== undefined && Date.now() - last < this.idleCheckMs) return desktop;
    this.lastSessionCheck.set(key, Date.now());
    let sessions;
    try {
      const run = await runSshCommand({
        address: machine.address,
        port: machine.sshPort ?? 22,
        user: this.adminUser,
        privateKey: secrets.privateKey,
        pinnedHostKey: machine.hostKey,
        timeoutMs: this.options.sshTimeoutMs ?? 10_000,
      }, SESSIONS_COMMAND);
      if (run.exitCode !== 0) throw new Error(`the session check exited with code ${run.exitCode}: ${run.stderr.trim().slice(0, 200)}`);
      sessions = parseSessions(run.stdout);
    } catch (err) {
      const message = `cannot check the sessions: ${(err as Error).message}`;
      log.warn({ err: (err as Error).message }, 'session check failed');
      return this.write(desktop, desktopStatus(desktop, undefined, [{ type: 'InUse', status: 'Unknown', reason: 'CheckFailed', message }]));
    }
    const now = new Date();
    const idle = afterIdleCheck(desktop.status ?? {}, sessions.count, now);
    const condition: ConditionInput = sessions.count > 0
      ? { type: 'InUse', status: 'True', reason: 'SessionActive', message: describeSessions(sessions) }
      : { type: 'InUse', status: 'False', reason: 'NoSession', message: `no session since ${idle.idleSince}` };
    return this.write(desktop, desktopStatus(desktop, undefined, [condition], {
      idleSince: idle.idleSince,
      idleWarnedAt: idle.idleWarnedAt,
      lastActivityAt: idle.lastActivityAt,
      sessions: idle.sessions,
    }));
  }

  // ---- destroy --------------------------------------------------------------------------------------------------

  /** terraform destroy when the workspace still has resources; a failure is a status error and a retry. */
  private async destroy(desktop: DesktopResource, signal: AbortSignal): Promise<{ ok: boolean; desktop: DesktopResource }> {
    const runner = await this.runner(desktop);
    const ws = await runner.workspace(workspaceRef(refOf(desktop)));
    if (!(await savedStateHasResources(runner, ws))) return { ok: true, desktop };
    if (!hasRootModule(ws)) {
      // The state came from the backend into a fresh workspace (a restarted pod): destroy needs the module too.
      const inputs = await this.inputs(desktop);
      if (!inputs.ok) return { ok: false, desktop: inputs.desktop };
      await runner.render(ws, inputs.inputs.module);
    }
    let secrets: DesktopSecrets | undefined;
    try {
      secrets = await readDesktopSecrets(this.store, desktop);
    } catch (err) {
      // Only Proxmox needs a secret to destroy; libvirt goes on without.
      if (!(err instanceof SecretProblem)) throw err;
      if (desktop.spec.provider.type === 'proxmox') {
        await this.write(desktop, failedStatus(desktop, 'Ready', err.reason, `cannot destroy: ${err.message}`));
        return { ok: false, desktop };
      }
    }
    const step = await destroyLab(runner, ws, { signal, env: secrets ? providerEnv(secrets, join(ws.dir, PROXMOX_CA_FILE)) : {} });
    const summary = step.summary ? { lastTerraformRun: step.summary } : {};
    if (!step.ok) {
      const message = `terraform ${step.run?.op ?? 'destroy'}: ${step.run?.error ?? 'failed'}`;
      await this.write(desktop, failedStatus(desktop, 'Ready', 'DestroyFailed', message, summary));
      throw new Error(message);
    }
    return { ok: true, desktop: await this.write(desktop, desktopStatus(desktop, undefined, [
      { type: 'Provisioned', status: 'False', reason: 'Destroyed', message: 'the machine was destroyed' },
    ], { ...summary, appliedHash: undefined, configuredHash: undefined })) };
  }

  private async finalize(desktop: DesktopResource, signal: AbortSignal, log: Logger): Promise<void> {
    const key = refKey(refOf(desktop));
    if (!desktop.metadata.finalizers?.includes(FINALIZER)) return this.forget(key);
    const phase: DesktopPhase = 'Deleting';
    desktop = await this.write(desktop, desktopStatus(desktop, phase, [{ type: 'Ready', status: 'False', reason: 'Deleting', message: 'destroying the machine' }]));
    const destroyed = await this.destroy(desktop, signal);
    if (!destroyed.ok) return;
    log.info('desktop destroyed');
    const runner = await this.runner(desktop);
    await discardState(runner, await runner.workspace(workspaceRef(refOf(desktop))));
    await this.options.passwords?.discard(desktop, RDP_PASSWORD);
    this.forget(key);
    const latest = this.store.get<DesktopResource>(refOf(desktop)) ?? destroyed.desktop;
    await this.store.removeFinalizer(latest, FINALIZER);
  }
}

function describeApplyFailure(step: DesktopApply): { reason: string; message: string } {
  const run = step.run;
  if (step.ok) return { reason: 'NoMachine', message: 'the module published no machine' };
  const reason = run?.lockHeld ? 'StateLocked' : run?.result === 'cancelled' ? 'Cancelled' : 'TerraformFailed';
  return { reason, message: `terraform ${run?.op ?? ''}: ${run?.error ?? run?.result ?? 'failed'}` };
}

/** The machine from the outputs, keeping its pinned host key while it is still the same machine. */
function machineStatus(previous: DesktopStatus['machine'], m: DesktopMachine): NonNullable<DesktopStatus['machine']> {
  const same = previous?.id === m.id && previous.address === m.address && previous.sshPort === m.sshPort;
  return {
    ...(same ? previous : {}),
    name: m.name,
    id: m.id,
    ...(m.mac ? { mac: m.mac } : {}),
    ...(m.address ? { address: m.address } : {}),
    sshPort: m.sshPort,
  };
}

/**
 * The lifetime inputs from the status. While the last session check failed (InUse Unknown), nobody knows whether
 * the desktop is used: the idle clock is suspended (never destroy a desktop in use on a guess); the TTL still runs.
 */
function lifetimeState(status: DesktopStatus, now = Date.now()) {
  const time = (iso: string | undefined): number | undefined => (iso ? Date.parse(iso) : undefined);
  const inUseUnknown = status.conditions?.some((c) => c.type === 'InUse' && c.status === 'Unknown') ?? false;
  return {
    now,
    expiresAt: time(status.expiresAt) ?? Number.POSITIVE_INFINITY,
    ...(status.idleSince && !inUseUnknown ? { idleSince: Date.parse(status.idleSince) } : {}),
    ...(status.expiryWarnedAt ? { expiryWarnedAt: Date.parse(status.expiryWarnedAt) } : {}),
    ...(status.idleWarnedAt ? { idleWarnedAt: Date.parse(status.idleWarnedAt) } : {}),
  };
}

/** What a playbook run depends on; secrets only as a digest. */
function configureHash(playbook: string, user: string, vars: Record<string, unknown>, machine: { id?: string; address?: string; sshPort?: number }, privateKey: string): string {
  const inputs = { playbook, user, vars, host: [machine.id, machine.address, machine.sshPort], key: privateKey };
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 16);
}

