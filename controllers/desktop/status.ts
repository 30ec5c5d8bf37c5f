// How a Desktop's status reads at each step. Each function returns a new status; the controller writes it only
// when it differs from the current one, so a steady Desktop costs no writes.
import { setCondition, type ConditionInput } from '../../src/api/conditions.js';
import type { DesktopResource, DesktopStatus } from '../../src/api/types.js';

export type DesktopPhase = NonNullable<DesktopStatus['phase']>;

/** Fields to set; `undefined` removes a field. */
export type StatusPatch = { [K in keyof DesktopStatus]?: DesktopStatus[K] | undefined };

export function desktopStatus(desktop: DesktopResource, phase: DesktopPhase | undefined, conditions: ConditionInput[], patch: StatusPatch = {}): DesktopStatus {
  const status: Record<string, unknown> = { ...desktop.status, ...patch };
  if (phase) status.phase = phase;
  for (const [k, v] of Object.entries(status)) if (v === undefined) delete status[k];
  let list = (status as DesktopStatus).conditions;
  for (const c of conditions) list = setCondition(list, c, desktop.metadata.generation);
  return { ...(status as DesktopStatus), observedGeneration: desktop.metadata.generation, ...(list ? { conditions: list } : {}) };
}

/** A failure that stops the Desktop: Ready=False (and the step's condition) with the same reason. */
export function failedStatus(desktop: DesktopResource, type: string, reason: string, message: string, patch: StatusPatch = {}): DesktopStatus {
  const conditions: ConditionInput[] = [{ type, status: 'False', reason, message }];
  if (type !== 'Ready') conditions.push({ type: 'Ready', status: 'False', reason, message });
  return desktopStatus(desktop, 'Failed', conditions, patch);
}
