// How every kind's status is built: a phase, conditions set with observedGeneration, fields patched (`undefined`
// removes one), and the conditions GitOps tools read. One builder for all kinds, so that they all read alike:
//
//   Ready=True                    the object is what it declares          kstatus Current,    Argo CD Healthy
//   Ready≠True, Reconciling=True  Orion is working on it (or will retry)  kstatus InProgress, Argo CD Progressing
//   Ready≠True, Stalled=True      Orion has given up until it changes     kstatus Failed,     Argo CD Degraded
//
// Reconciling and Stalled follow Ready whenever a change sets Ready (removed when Ready is True), so no controller
// writes them by hand. status.observedGeneration moves only with Ready: a write that says nothing about readiness
// (a run summary, a session count) does not claim that the current generation was looked at, so kstatus keeps
// reporting "generation not yet observed" until Ready speaks for it.
import { setCondition, type ConditionInput } from './conditions.js';
import { KINDS } from './kinds.js';
import { runSummarySchema } from './schemas/common.js';
import type { Condition } from './types.js';

export const READY = 'Ready';
export const RECONCILING = 'Reconciling';
export const STALLED = 'Stalled';

/** What every kind's status has. */
export interface CommonStatus {
  observedGeneration?: number;
  phase?: string;
  conditions?: Condition[];
}

/** Fields to set; `undefined` removes a field. */
export type StatusPatch<S> = { [K in keyof S]?: S[K] | undefined };

export interface StatusChange<S extends CommonStatus = CommonStatus> {
  phase?: NonNullable<S['phase']>;
  /** Conditions to set; a Ready among them also decides Reconciling/Stalled and observedGeneration. */
  conditions?: ConditionInput[];
  fields?: StatusPatch<S>;
  /** With Ready not True: Orion will not try again until the object changes (Stalled), rather than Reconciling. */
  stalled?: boolean;
}

/** The object a status belongs to: its generation, and the status it has now. */
export interface StatusOwner<S> {
  metadata: { generation: number };
  status?: S;
}

/** The status after the change. */
export function buildStatus<S extends CommonStatus>(obj: StatusOwner<S>, change: StatusChange<S>, now: Date = new Date()): S {
  const status: Record<string, unknown> = { ...obj.status, ...change.fields };
  if (change.phase !== undefined) status.phase = change.phase;
  for (const [key, value] of Object.entries(status)) if (value === undefined) delete status[key];
  const generation = obj.metadata.generation;
  let conditions = status.conditions as Condition[] | undefined;
  for (const c of change.conditions ?? []) conditions = setCondition(conditions, c, generation, now);
  const ready = change.conditions?.find((c) => c.type === READY);
  if (ready) conditions = progressConditions(conditions ?? [], ready, change.stalled ?? false, generation, now);
  if (conditions) status.conditions = conditions;
  // Never observed until Ready speaks for a generation: 0 keeps kstatus at InProgress rather than Current.
  status.observedGeneration = ready ? generation : (obj.status?.observedGeneration ?? 0);
  return status as S;
}

/** Reconciling or Stalled as Ready says: both gone when Ready is True. */
function progressConditions(list: Condition[], ready: ConditionInput, stalled: boolean, generation: number, now: Date): Condition[] {
  if (ready.status === 'True') return list.filter((c) => c.type !== RECONCILING && c.type !== STALLED);
  const [set, drop] = stalled ? [STALLED, RECONCILING] : [RECONCILING, STALLED];
  const input: ConditionInput = { type: set, status: 'True', reason: ready.reason, ...(ready.message !== undefined ? { message: ready.message } : {}) };
  return setCondition(list.filter((c) => c.type !== drop), input, generation, now);
}

/** A failure as a status tells it: the step's condition and Ready False with one reason, a phase, run summaries. */
export interface FailureStatus {
  reason: string;
  message: string;
  phase?: string;
  /** The condition of the step that failed (Provisioned, Configured ...), set False beside Ready. */
  condition?: string;
  fields?: Record<string, unknown>;
}

export function failureChange(failure: FailureStatus, stalled: boolean): StatusChange {
  const { reason, message } = failure;
  const conditions: ConditionInput[] = [];
  if (failure.condition && failure.condition !== READY) conditions.push({ type: failure.condition, status: 'False', reason, message });
  conditions.push({ type: READY, status: 'False', reason, message });
  return { ...(failure.phase ? { phase: failure.phase } : {}), conditions, ...(failure.fields ? { fields: failure.fields } : {}), stalled };
}

/** Status fields that hold a run summary (from the schemas): their timing differs on every run. */
const RUN_SUMMARY_FIELDS: ReadonlySet<string> = new Set(
  KINDS.flatMap((k) => Object.entries((k.statusSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {}))
    .filter(([, schema]) => schema === runSummarySchema)
    .map(([name]) => name),
);
const RUN_TIMING = new Set(['startedAt', 'durationMs', 'logFile']);

/** The status without what differs from one run to the next (when a run started, how long, its log file). */
export function withoutRunTiming(status: object | undefined): unknown {
  if (!status) return status;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(status)) {
    const summary = RUN_SUMMARY_FIELDS.has(key) && value && typeof value === 'object';
    out[key] = summary ? Object.fromEntries(Object.entries(value as object).filter(([k]) => !RUN_TIMING.has(k))) : value;
  }
  return out;
}

/**
 * The object's Ready as it stands, said again for its current generation: for a reconcile that found nothing to
 * change after a spec change (observedGeneration must still move). Undefined when there is nothing to say again.
 */
export function reaffirmed<S extends CommonStatus>(obj: StatusOwner<S>): StatusChange<S> | undefined {
  const ready = obj.status?.conditions?.find((c) => c.type === READY);
  if (!ready || obj.status?.observedGeneration === obj.metadata.generation) return undefined;
  const stalled = obj.status?.conditions?.some((c) => c.type === STALLED && c.status === 'True') ?? false;
  return { conditions: [{ type: READY, status: ready.status, reason: ready.reason ?? '', message: ready.message ?? '' }], stalled };
}
