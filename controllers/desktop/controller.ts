// Desktop controller: an ephemeral remote desktop is a one-machine Lab from a template (the machine pipeline,
// machine/pipeline.ts), configured by ansible/desktop.yml (XFCE + XRDP, optional AD join and pam_mount), that
// publishes its RDP endpoint and goes away at its TTL or after a time without sessions. What is its own: lifetime,
// idleness, quota, sessions, the RDP endpoint. Level-based, in this order:
//
//   class (MachineClass, Hypervisor)          → refused before it has a machine: Ready=False ClassRefused, Stalled,
//                                               no finalizer, nothing run; once it has one: ClassTerms=False, the
//                                               machine kept as it is (its lifetime still applies), nothing applied
//   lifetime (TTL, idle)                      → Warning event warningSeconds before, then destroy: Expired. First,
//                                               like deletion: an end of life needs no valid spec, and it destroys
//                                               only what the saved state records (nothing before the finalizer)
//   prepare (sizes, image, playbook, secrets) → a status error and nothing created when something is wrong
//   finalizer                                 → before any external effect
//   quota (per user, overall)                 → Pending/QuotaExceeded and nothing created when full
//   render, converge, configure               → the machine pipeline; desktop.yml only when its inputs changed
//   Ready: status.rdp = machine address, 3389, user
//   sessions, over SSH, once per idle-check interval → idleSince / lastActivityAt
//   deletion                                  → destroy, then release the finalizer
//
// Every wait is a requeueAfter to the next deadline or check; no reconcile sleeps.
import { isConditionTrue } from '../../src/api/conditions.js';
import { parseRefKey, refKey, refOf } from '../../src/api/refs.js';
import type { DesktopResource } from '../../src/api/types.js';
import type { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import type { ReconcileRequest, ReconcileResult } from '../../src/runtime/controller.js';
import { RetryLater } from '../../src/runtime/errors.js';
import type { ControllerSetup } from '../../src/runtime/manager.js';
import { GeneratedSecretConflict, type GeneratedPassword, type PasswordReference } from '../../src/store/generated-passwords.js';
import { StatusDraft } from '../../src/store/status-writer.js';
import { FINALIZER, type Store } from '../../src/store/store.js';
import type { Logger } from '../../src/telemetry/logger.js';
import { provisionSeconds } from '../../src/telemetry/metrics.js';
import { MachinePipeline, type MachinePipelineOptions, type Prepared } from '../machine/pipeline.js';
import { DesktopAdmission } from './admission.js';
import { DesktopExpiry, lifetimeState } from './expiry.js';
import { expiryOf, lifetimeOf, lifetimeStep, type Lifetime } from './lifetime.js';
import { classAffected, classTermsChange, storeClasses, type MachineClasses } from '../machine/classes.js';
import { desktopTerms, desktopView } from './machine.js';
import type { QuotaLimits } from './quota.js';
import { SessionCheck } from './session-check.js';

export interface DesktopControllerOptions extends MachinePipelineOptions, QuotaLimits {
  ansible: AnsibleRunner;
  /** The namespace of a Secret a MachineClass or Hypervisor names without one (default "default"). */
  secretNamespace?: string;
  /** The machine's administrative login, for Ansible and the session check (default root). */
  adminUser?: string;
  /** Time between two looks at a desktop's sessions (default 60 s). */
  idleCheckMs?: number;
  /** Multiplies the spec's durations (default 1). Tests only: lets the schema's 60 s minimum last seconds. */
  timeScale?: number;
  sshTimeoutMs?: number;
  concurrency?: number;
}

const RDP_PASSWORD = 'rdp';
const DEFAULT_IDLE_CHECK_MS = 60_000;
const MIN_REQUEUE_MS = 50;
const MAX_REQUEUE_MS = 24 * 3600_000;

export function desktopController(store: Store, options: DesktopControllerOptions): ControllerSetup {
  const steps = new DesktopSteps(store, options);
  return {
    name: 'desktop',
    kind: 'Desktop',
    concurrency: options.concurrency ?? 4,
    reconcile: (request) => steps.reconcile(request),
    // Its own writes (status, finalizer) do not wake it up again: a failure waits for the queue's backoff.
    reconcileOnOwnWrites: false,
    // A slot frees up when a desktop is gone or has expired: look at the waiting ones again. A Desktop's class and
    // hypervisor are level-based: a change re-evaluates the Desktops concerned.
    watches: [
      { kind: 'Desktop', map: (event) => steps.admission.waitingAfter(event) },
      { kind: 'MachineClass', map: (event) => classAffected(store.list<DesktopResource>('Desktop'), steps.classes, event) },
      { kind: 'Hypervisor', map: (event) => classAffected(store.list<DesktopResource>('Desktop'), steps.classes, event) },
    ],
    onSecret: (namespace, name) => steps.pipeline.readersOf('Desktop', namespace, name),
    stop: () => steps.stop(),
  };
}

class DesktopSteps {
  readonly pipeline: MachinePipeline<DesktopResource>;
  readonly admission: DesktopAdmission;
  readonly classes: MachineClasses;
  private readonly expiry: DesktopExpiry;
  private readonly sessions: SessionCheck;

  constructor(
    private readonly store: Store,
    private readonly options: DesktopControllerOptions,
  ) {
    const adminUser = options.adminUser ?? 'root';
    this.classes = storeClasses(store, options.secretNamespace ?? 'default');
    this.pipeline = new MachinePipeline(store, desktopView(adminUser, this.classes), options);
    this.admission = new DesktopAdmission(store, options);
    this.expiry = new DesktopExpiry(store, this.pipeline, (key) => this.forget(key));
    this.sessions = new SessionCheck({ adminUser, intervalMs: options.idleCheckMs ?? DEFAULT_IDLE_CHECK_MS, sshTimeoutMs: options.sshTimeoutMs });
  }

  async reconcile({ key, signal, log }: ReconcileRequest): Promise<ReconcileResult | void> {
    let desktop = this.store.get<DesktopResource>(parseRefKey(key));
    if (!desktop) return this.forget(key);
    if (desktop.metadata.deletionTimestamp) return this.pipeline.finalize(desktop, signal, log, () => this.release(desktop as DesktopResource));
    if (desktop.status?.phase === 'Expired') return this.forget(key);
    // Refused before it has a machine: nothing runs (a TerminalError, no finalizer). Once it has one, a class
    // change keeps it as it is and its lifetime still applies.
    const classChange = classTermsChange(desktop, 'Desktop', desktopTerms(desktop, this.classes));

    const lifetime = lifetimeOf(desktop.spec, this.options.timeScale);
    const ending = new StatusDraft(this.store, desktop);
    const expired = await ending.run(async () => {
      ending.set({ fields: { expiresAt: new Date(expiryOf(desktop?.metadata.creationTimestamp ?? '', lifetime)).toISOString() } });
      return this.expiry.check(ending, lifetime, signal, log);
    });
    if (expired) return;
    if (classChange.kept) return this.keep(key, classChange.kept, ending.obj, lifetime, { signal, log });

    const prepared = await this.pipeline.prepare(ending.obj);
    desktop = await this.store.addFinalizer(ending.obj, FINALIZER);
    const draft = new StatusDraft(this.store, desktop);
    return draft.run(async () => {
      await classChange.record(draft);
      return this.provide(draft, prepared, lifetime, signal, log);
    });
  }

  /**
   * A Desktop whose class now refuses it keeps its machine as it is (ClassTerms=False) and nothing is applied; its
   * sessions are still looked at and its lifetime (TTL, idle) still applies.
   */
  private async keep(key: string, kept: (store: Store) => Promise<void>, desktop: DesktopResource, lifetime: Lifetime, { signal, log }: { signal: AbortSignal; log: Logger }): Promise<ReconcileResult | void> {
    await kept(this.store);
    const draft = new StatusDraft(this.store, this.store.get<DesktopResource>(parseRefKey(key)) ?? desktop);
    return draft.run(async () => {
      if (draft.obj.status?.phase === 'Ready') await this.sessions.check(draft, (await this.pipeline.loginKey(draft.obj)) ?? '', log);
      if (await this.expiry.check(draft, lifetime, signal, log)) return;
      return this.requeue(draft.obj, lifetime);
    });
  }

  /** Quota, then the machine pipeline, the RDP endpoint, the sessions, and the lifetime again. */
  private async provide(draft: StatusDraft<DesktopResource>, prepared: Prepared, lifetime: Lifetime, signal: AbortSignal, log: Logger): Promise<ReconcileResult | void> {
    if (!(await this.admission.admit(draft))) return this.requeue(draft.obj, lifetime);
    const generated = await this.generatedPassword(draft.obj, prepared);
    const machines = await this.pipeline.render(draft.obj, prepared);
    await this.pipeline.converge(draft, machines, signal);
    await this.pipeline.leaseAddresses(draft, machines, signal);
    const configured = await this.pipeline.configure(draft, machines, signal);
    await this.publish(draft, generated?.reference);
    await this.sessions.check(draft, prepared.secrets.privateKey ?? '', log);
    if (await this.expiry.check(draft, lifetime, signal, log)) return;
    return this.requeue(draft.obj, lifetime, configured.waitMs);
  }

  /** Without a password of its own (and without AD, which authenticates), the Desktop gets a generated one. */
  private async generatedPassword(desktop: DesktopResource, prepared: Prepared): Promise<GeneratedPassword | undefined> {
    if (prepared.secrets.rdpPassword || prepared.secrets.adCredentials || !this.options.passwords) return undefined;
    const generated = await this.options.passwords.ensure(desktop, RDP_PASSWORD).catch((err: unknown) => {
      // Its place is taken by a Secret Orion did not make: neither used nor replaced, and the Desktop says so.
      throw err instanceof GeneratedSecretConflict ? new RetryLater('SecretConflict', err.message, { phase: 'Failed' }) : err;
    });
    prepared.secrets.rdpPassword = generated.password;
    return generated;
  }

  /** Ready once provisioned and configured: the RDP endpoint is the machine's address (and where a generated password is). */
  private async publish(draft: StatusDraft<DesktopResource>, passwordRef: PasswordReference | undefined): Promise<void> {
    const status = draft.obj.status;
    if (!isConditionTrue(status?.conditions, 'Provisioned') || !isConditionTrue(status?.conditions, 'Configured') || !status?.rdp) return;
    const rdp = { ...status.rdp, ...passwordRef };
    const readyAt = status.readyAt ?? new Date().toISOString();
    const message = `RDP on ${rdp.host}:${rdp.port} as ${rdp.user}`;
    if (!status.readyAt) {
      provisionSeconds.observe({ kind: 'Desktop' }, (Date.parse(readyAt) - Date.parse(draft.obj.metadata.creationTimestamp)) / 1000);
      await this.store.recordEvent(draft.obj, { type: 'Normal', reason: 'Ready', message });
    }
    draft.set({ phase: 'Ready', conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message }], fields: { readyAt, rdp } });
  }

  /** Back at the next deadline, warning, session check or poll, whichever comes first. */
  private requeue(desktop: DesktopResource, lifetime: Lifetime, waitMs?: number): ReconcileResult {
    const now = Date.now();
    const step = lifetimeStep(lifetimeState(desktop.status ?? {}, now), lifetime);
    const delays = [waitMs, step.nextAt !== undefined ? step.nextAt - now : undefined];
    if (desktop.status?.phase === 'Ready') delays.push(this.sessions.dueInMs(desktop, now));
    const due = delays.filter((d): d is number => d !== undefined);
    return { requeueAfterMs: Math.max(MIN_REQUEUE_MS, Math.min(...due, MAX_REQUEUE_MS)) };
  }

  /** Once its machine is destroyed, before the finalizer goes: the generated password goes too. */
  private async release(desktop: DesktopResource): Promise<void> {
    await this.options.passwords?.discard(desktop, RDP_PASSWORD);
    this.forget(refKey(refOf(desktop)));
  }

  private forget(key: string): void {
    this.admission.forget(key);
    this.sessions.forget(key);
  }

  stop(): void {
    this.sessions.closeAll();
  }
}
