// Whether a Lab is what it declares, from its conditions and its machines' power: the phase, the Ready condition
// and readyAt, as one status change at the end of each reconcile (written only when it differs).
import { isConditionTrue, type ConditionInput } from '../../src/api/conditions.js';
import type { StatusChange } from '../../src/api/status.js';
import type { LabResource, LabStatus } from '../../src/api/types.js';

export type LabPhase = NonNullable<LabStatus['phase']>;

interface Progress {
  provisioned: boolean;
  configured: boolean;
  settled: boolean;
  stopped: boolean;
}

/** Ready, phase and readyAt from the conditions and the machines' power. */
export function readiness(lab: LabResource, power: { settled: boolean; missing: string[] }): StatusChange<LabStatus> {
  const conditions = lab.status?.conditions;
  const stopped = (lab.spec.powerState ?? 'Running') === 'Stopped';
  const s: Progress = {
    provisioned: isConditionTrue(conditions, 'Provisioned'),
    configured: stopped || !lab.spec.ansible || isConditionTrue(conditions, 'Configured'),
    settled: power.settled,
    stopped,
  };
  const ready = s.provisioned && s.configured && s.settled && power.missing.length === 0;
  const phase = phaseOf(lab, s);
  const readyAt = ready && !lab.status?.readyAt ? new Date().toISOString() : undefined;
  return { phase, conditions: [readyCondition(lab, ready, phase, power.missing)], ...(readyAt ? { fields: { readyAt } } : {}) };
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

function phaseOf(lab: LabResource, s: Progress): LabPhase {
  const failed = lab.status?.phase === 'Failed';
  if (!s.provisioned) return failed ? 'Failed' : 'Provisioning';
  if (!s.settled) return s.stopped ? 'Stopped' : 'Provisioning';
  if (s.stopped) return 'Stopped';
  if (s.configured) return 'Ready';
  return failed ? 'Failed' : 'Configuring';
}
