// Drift detection of a Lab: a `plan -detailed-exitcode` every driftDetection.intervalSeconds (0: never), told by the
// Drifted condition. When it is due and what the check found.
import type { ConditionInput } from '../../src/api/conditions.js';
import type { Condition, LabResource } from '../../src/api/types.js';
import type { TerraformStep } from './terraform.js';

export interface DriftCheck {
  /** A check is due now. */
  due: boolean;
  /** Apply the very plan that found drift. */
  repair: boolean;
}

const DEFAULT_INTERVAL_SECONDS = 600;

function intervalMs(lab: LabResource): number {
  return (lab.spec.driftDetection?.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS) * 1000;
}

export function driftCheckOf(lab: LabResource, now = Date.now()): DriftCheck {
  const interval = intervalMs(lab);
  const last = Date.parse(lab.status?.lastDriftCheck ?? '');
  const due = interval > 0 && (Number.isNaN(last) || now - last >= interval);
  return { due, repair: lab.spec.driftDetection?.autoRepair ?? false };
}

/** Milliseconds until the next check is due (at least 1 s); undefined when checks are off. */
export function untilDriftCheck(lab: LabResource, now = Date.now()): number | undefined {
  const interval = intervalMs(lab);
  if (interval <= 0) return undefined;
  const last = Date.parse(lab.status?.lastDriftCheck ?? '') || now;
  return Math.max(1000, last + interval - now);
}

/** Drifted after a drift check (True when the plan had changes that were not repaired); False after an apply. */
export function driftConditions(current: readonly Condition[] | undefined, step: TerraformStep): ConditionInput[] {
  if (step.drifted === undefined) {
    const known = current?.some((c) => c.type === 'Drifted');
    return known ? [{ type: 'Drifted', status: 'False', reason: 'Applied', message: 'the Lab was applied' }] : [];
  }
  if (!step.drifted) return [{ type: 'Drifted', status: 'False', reason: 'NoChanges', message: 'plan found no changes' }];
  if (step.applied) return [{ type: 'Drifted', status: 'False', reason: 'Repaired', message: 'drift was found and re-applied' }];
  return [{ type: 'Drifted', status: 'True', reason: 'PlanHasChanges', message: 'the machines differ from the Lab (plan exit code 2)' }];
}
