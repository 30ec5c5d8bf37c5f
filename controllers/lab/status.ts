// How a Lab's status reads at each step. Each function returns a new status; the controller writes it only when
// it differs from the current one, so a steady Lab costs no writes.
import { isDeepStrictEqual } from 'node:util';
import { setCondition, type ConditionInput } from '../../src/api/conditions.js';
import type { LabResource, LabStatus } from '../../src/api/types.js';
import type { Store } from '../../src/store/store.js';

export type LabPhase = NonNullable<LabStatus['phase']>;
export type MachineStatus = NonNullable<LabStatus['machines']>[number];

export function withConditions(lab: LabResource, status: LabStatus, conditions: ConditionInput[]): LabStatus {
  let list = status.conditions ?? lab.status?.conditions;
  for (const c of conditions) list = setCondition(list, c, lab.metadata.generation);
  return { ...status, observedGeneration: lab.metadata.generation, conditions: list };
}

/** The current status with a phase, conditions and fields changed. */
export function labStatus(lab: LabResource, phase: LabPhase, conditions: ConditionInput[], extra: Partial<LabStatus> = {}): LabStatus {
  return withConditions(lab, { ...lab.status, ...extra, phase }, conditions);
}

/** A failure that stops the Lab before or during a step: Ready=False with the same reason. */
export function failedStatus(lab: LabResource, type: string, reason: string, message: string, extra: Partial<LabStatus> = {}): LabStatus {
  const conditions: ConditionInput[] = [{ type, status: 'False', reason, message }];
  if (type !== 'Ready') conditions.push({ type: 'Ready', status: 'False', reason, message });
  return labStatus(lab, 'Failed', conditions, extra);
}

/** Machines from the Terraform outputs, keeping what is known of the ones that are still the same machine. */
export function mergeMachines(previous: MachineStatus[] | undefined, outputs: Array<{ name: string; id: string; mac: string; address: string }>): MachineStatus[] {
  return outputs.map((out) => {
    const before = previous?.find((m) => m.name === out.name && m.id === out.id && (m.mac ?? '') === out.mac);
    const machine: MachineStatus = { ...(before ?? {}), name: out.name, id: out.id };
    if (out.mac) machine.mac = out.mac;
    if (out.address) machine.address = out.address;
    if (!before) delete machine.hostKey;
    return machine;
  });
}

/** The status without what changes on every run (run times, log files, drift check time). */
function withoutRunTiming(status: LabStatus | undefined): unknown {
  if (!status) return status;
  const strip = (run: LabStatus['lastTerraformRun']) => {
    if (!run) return run;
    const { startedAt: _s, durationMs: _d, logFile: _l, ...rest } = run;
    return rest;
  };
  const { lastDriftCheck: _c, ...rest } = status;
  return { ...rest, lastTerraformRun: strip(status.lastTerraformRun), lastAnsibleRun: strip(status.lastAnsibleRun) };
}

/**
 * Writes a failure unless the status already tells the same failure (only run times differ). A status write is a
 * watch event that reconciles the Lab again at once: skipping it lets the queue's backoff pace the retries.
 */
export async function writeFailure(store: Store, lab: LabResource, status: LabStatus): Promise<LabResource> {
  if (isDeepStrictEqual(withoutRunTiming(status), withoutRunTiming(lab.status))) return lab;
  return store.updateStatus(lab, status);
}
