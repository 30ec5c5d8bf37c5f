// Lab controller: the machine pipeline (machine/pipeline.ts) for a Lab's machines, with what is the Lab's own: their
// power, its drift checks and its readiness. Level-based, in this order:
//
//   class (MachineClass, Hypervisor: view.ts)           → refused: Ready=False ClassRefused, no finalizer, nothing run;
//                                                         once provisioned: ClassTerms=False, the machines kept, nothing applied
//   prepare (limits, names, images, playbook, secrets)  → a status error and nothing run when something is wrong
//   finalizer                                           → before any external effect
//   render, converge (apply; a drift check when due)     → status.machines, Provisioned
//   power (virsh / Proxmox API)                          → Running/Stopped, restart on the orion.lab/restartedAt annotation
//   configure (Ansible, when its inputs changed)         → Configured
//   readiness                                           → phase, Ready, readyAt: one status write from the apply to here
//   deletion                                            → destroy, then release the finalizer
import { join } from 'node:path';
import { parseRefKey } from '../../src/api/refs.js';
import type { LabResource } from '../../src/api/types.js';
import type { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import type { ReconcileRequest, ReconcileResult } from '../../src/runtime/controller.js';
import type { ControllerSetup } from '../../src/runtime/manager.js';
import { StatusDraft } from '../../src/store/status-writer.js';
import { FINALIZER, type Store } from '../../src/store/store.js';
import { provisionSeconds } from '../../src/telemetry/metrics.js';
import { driftCheckOf, untilDriftCheck } from '../machine/drift.js';
import { MachinePipeline, type MachinePipelineOptions, type Rendered } from '../machine/pipeline.js';
import { PowerKeeper, type PowerOutcome } from '../machine/power-keeper.js';
import { powerDriverFor, type PowerDriver } from '../machine/power.js';
import type { MachineSecrets } from '../machine/secrets.js';
import { readiness } from './readiness.js';
import { labClassAffected, labTermsChange } from './class.js';
import { labTerms, labView, storeClasses, type LabClasses } from './view.js';

/** Set to any new value (a timestamp) to restart every machine of the Lab, as `kubectl rollout restart` does. */
export { RESTARTED_AT_ANNOTATION } from '../machine/power-keeper.js';

export interface LabControllerOptions extends Omit<MachinePipelineOptions, 'machineModule'> {
  ansible: AnsibleRunner;
  /** Time a guest gets to shut down on ACPI before it is powered off (default 60 s). */
  shutdownGraceMs?: number;
  concurrency?: number;
  /** Replaces the virsh/Proxmox drivers (tests, other hypervisors). */
  powerDriver?: (lab: LabResource, secrets: MachineSecrets, logDir: string) => PowerDriver;
  /** The namespace of a Secret a Hypervisor names without one (default "default"). */
  secretNamespace?: string;
}

export function labController(store: Store, options: LabControllerOptions): ControllerSetup {
  const steps = new LabSteps(store, options);
  return {
    name: 'lab',
    kind: 'Lab',
    concurrency: options.concurrency ?? 4,
    reconcile: (request) => steps.reconcile(request),
    // Its own writes (status, finalizer) do not wake it up again: a failure waits for the queue's backoff.
    reconcileOnOwnWrites: false,
    onSecret: (namespace, name) => steps.pipeline.readersOf('Lab', namespace, name),
    // A Lab's class and hypervisor are level-based: a change re-evaluates the Labs concerned.
    watches: [
      { kind: 'MachineClass', map: (event) => labClassAffected(store, steps.classes, event) },
      { kind: 'Hypervisor', map: (event) => labClassAffected(store, steps.classes, event) },
    ],
  };
}

class LabSteps {
  readonly pipeline: MachinePipeline<LabResource>;
  readonly classes: LabClasses;
  private readonly power: PowerKeeper;

  constructor(
    private readonly store: Store,
    private readonly options: LabControllerOptions,
  ) {
    this.classes = storeClasses(store, options.secretNamespace ?? 'default');
    this.pipeline = new MachinePipeline(store, labView(this.classes), options);
    this.power = new PowerKeeper(options.shutdownGraceMs ?? 60_000);
  }

  async reconcile({ key, signal, log }: ReconcileRequest): Promise<ReconcileResult | void> {
    const lab = this.store.get<LabResource>(parseRefKey(key));
    if (!lab) return this.power.forget(key);
    if (lab.metadata.deletionTimestamp) {
      this.power.forget(key);
      return this.pipeline.finalize(lab, signal, log);
    }
    const terms = labTerms(lab, this.classes);
    const classChange = labTermsChange(lab, terms);
    // A class change never destroys a Lab's machines: one its class now refuses keeps them, and nothing more is applied.
    if (classChange.kept) return classChange.kept(this.store);
    const prepared = await this.pipeline.prepare(lab);
    const owned = await this.store.addFinalizer(lab, FINALIZER);
    const machines = await this.pipeline.render(owned, prepared);
    return StatusDraft.around(this.store, owned, async (draft) => {
      await classChange.record(draft);
      await this.pipeline.converge(draft, machines, signal, driftCheckOf(draft.obj));
      const power = await this.power.reconcile(key, draft.obj, this.driver(draft.obj, machines), signal);
      draft.set({ fields: { machines: power.machines, ...(power.restartedAt ? { restartedAt: power.restartedAt } : {}) } });
      const configured = power.settled ? await this.pipeline.configure(draft, machines, signal) : {};
      this.summarize(draft, power);
      return this.next(draft.obj, power.settled ? configured.waitMs : this.pipeline.pollMs);
    });
  }

  private driver(lab: LabResource, m: Rendered): PowerDriver {
    if (this.options.powerDriver) return this.options.powerDriver(lab, m.secrets, m.ws.logDir);
    return powerDriverFor(m.spec.provider, m.secrets, { logFile: join(m.ws.logDir, 'power.txt'), virsh: this.options.virsh });
  }

  /** Phase, Ready and readyAt; the time to Ready goes to the provisioning histogram once. */
  private summarize(draft: StatusDraft<LabResource>, power: PowerOutcome): void {
    const change = readiness(draft.obj, power);
    const readyAt = change.fields?.readyAt;
    if (readyAt) provisionSeconds.observe({ kind: 'Lab' }, (Date.parse(readyAt) - Date.parse(draft.obj.metadata.creationTimestamp)) / 1000);
    draft.set(change);
  }

  private next(lab: LabResource, waitMs: number | undefined): ReconcileResult | void {
    const delays = [waitMs, untilDriftCheck(lab)].filter((d): d is number => d !== undefined);
    if (delays.length > 0) return { requeueAfterMs: Math.min(...delays) };
  }
}
