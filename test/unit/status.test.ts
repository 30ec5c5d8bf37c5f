// The one status builder (src/api/status.ts): phase, fields patched (undefined removes), conditions with their
// generation, Reconciling/Stalled following Ready, observedGeneration moving only with Ready, and what the one
// status writer ignores when it compares (run timing).
import { describe, expect, it } from 'vitest';
import { buildStatus, failureChange, reaffirmed, withoutRunTiming, type CommonStatus, type StatusChange } from '../../src/api/status.js';

interface TestStatus extends CommonStatus {
  appliedHash?: string;
  note?: string;
  lastTerraformRun?: { op?: string; result?: string; startedAt?: string; durationMs?: number; logFile?: string; message?: string };
}

const T0 = new Date('2025-01-01T00:00:00Z');
const T1 = new Date('2025-01-01T00:01:00Z');

function owner(generation: number, status?: TestStatus) {
  return { metadata: { generation }, ...(status ? { status } : {}) };
}

const types = (s: CommonStatus) => (s.conditions ?? []).map((c) => `${c.type}=${c.status}:${c.reason}`);

describe('buildStatus', () => {
  it('sets the phase and fields; undefined removes a field', () => {
    const s = buildStatus<TestStatus>(owner(1, { phase: 'Pending', appliedHash: 'a', note: 'n' }), { phase: 'Provisioning', fields: { appliedHash: 'b', note: undefined } }, T0);
    expect(s).toEqual({ phase: 'Provisioning', appliedHash: 'b', observedGeneration: 0 });
  });

  it('Ready=False while working: Reconciling=True with its reason; observedGeneration is the generation', () => {
    const s = buildStatus<TestStatus>(owner(3), { conditions: [{ type: 'Ready', status: 'False', reason: 'Provisioning', message: 'creating' }] }, T0);
    expect(types(s)).toEqual(['Ready=False:Provisioning', 'Reconciling=True:Provisioning']);
    expect(s.observedGeneration).toBe(3);
    expect(s.conditions?.every((c) => c.observedGeneration === 3 && c.lastTransitionTime === T0.toISOString())).toBe(true);
  });

  it('a terminal failure: Stalled=True instead of Reconciling', () => {
    const working = buildStatus<TestStatus>(owner(1), { conditions: [{ type: 'Ready', status: 'False', reason: 'Provisioning' }] }, T0);
    const s = buildStatus<TestStatus>(owner(1, working), failureChange({ reason: 'LimitExceeded', message: 'cpu 9', phase: 'Failed' }, true), T1);
    expect(types(s)).toEqual(['Ready=False:LimitExceeded', 'Stalled=True:LimitExceeded']);
    expect(s.phase).toBe('Failed');
    expect(s.conditions?.find((c) => c.type === 'Stalled')?.message).toBe('cpu 9');
  });

  it('Ready=True removes Reconciling and Stalled', () => {
    const stalled = buildStatus<TestStatus>(owner(1), failureChange({ reason: 'Bad', message: 'x' }, true), T0);
    const s = buildStatus<TestStatus>(owner(2, stalled), { phase: 'Ready', conditions: [{ type: 'Ready', status: 'True', reason: 'Ready' }] }, T1);
    expect(types(s)).toEqual(['Ready=True:Ready']);
    expect(s.observedGeneration).toBe(2);
  });

  it('a failure of a step sets its condition and Ready with one reason; run summaries go into the fields', () => {
    const run = { op: 'apply', result: 'failed', message: 'boom' };
    const s = buildStatus<TestStatus>(owner(1), failureChange({ reason: 'TerraformFailed', message: 'boom', condition: 'Provisioned', fields: { lastTerraformRun: run } }, false), T0);
    expect(types(s)).toEqual(['Provisioned=False:TerraformFailed', 'Ready=False:TerraformFailed', 'Reconciling=True:TerraformFailed']);
    expect(s.lastTerraformRun).toEqual(run);
  });

  it('observedGeneration moves only when Ready is set: other writes do not claim the generation was looked at', () => {
    const ready = buildStatus<TestStatus>(owner(1), { conditions: [{ type: 'Ready', status: 'True', reason: 'Ready' }] }, T0);
    const later = buildStatus<TestStatus>(owner(2, ready), { fields: { note: 'a session count' }, conditions: [{ type: 'InUse', status: 'True', reason: 'SessionActive' }] }, T1);
    expect(later.observedGeneration).toBe(1);
    expect(buildStatus<TestStatus>(owner(1), { fields: { note: 'first write' } }, T0).observedGeneration).toBe(0);
  });

  it('keeps lastTransitionTime while a condition keeps its status', () => {
    const first = buildStatus<TestStatus>(owner(1), { conditions: [{ type: 'Ready', status: 'False', reason: 'A' }] }, T0);
    const second = buildStatus<TestStatus>(owner(1, first), { conditions: [{ type: 'Ready', status: 'False', reason: 'B' }] }, T1);
    expect(second.conditions?.map((c) => c.lastTransitionTime)).toEqual([T0.toISOString(), T0.toISOString()]);
  });
});

describe('reaffirmed', () => {
  it('says Ready again for a new generation (Stalled kept), and nothing when the generation was observed', () => {
    const stalled = buildStatus<TestStatus>(owner(1), failureChange({ reason: 'Bad', message: 'x' }, true), T0);
    const change = reaffirmed(owner(2, stalled)) as StatusChange<TestStatus>;
    expect(change.stalled).toBe(true);
    const s = buildStatus<TestStatus>(owner(2, stalled), change, T1);
    expect(s.observedGeneration).toBe(2);
    expect(types(s)).toEqual(types(stalled));
    expect(reaffirmed(owner(1, stalled))).toBeUndefined();
    expect(reaffirmed(owner(2, { phase: 'Pending' }))).toBeUndefined();
  });
});

describe('withoutRunTiming', () => {
  it('drops when a run started, how long it took and its log from run summaries only', () => {
    const a = { phase: 'Failed', lastTerraformRun: { op: 'apply', result: 'failed', message: 'm', startedAt: 'a', durationMs: 1, logFile: '/x' }, lastDriftCheck: 't1' };
    const b = { phase: 'Failed', lastTerraformRun: { op: 'apply', result: 'failed', message: 'm', startedAt: 'b', durationMs: 2, logFile: '/y' }, lastDriftCheck: 't1' };
    expect(withoutRunTiming(a)).toEqual(withoutRunTiming(b));
    expect(withoutRunTiming({ ...a, lastDriftCheck: 't2' })).not.toEqual(withoutRunTiming(b));
    expect(withoutRunTiming({ ...a, lastTerraformRun: { ...a.lastTerraformRun, message: 'other' } })).not.toEqual(withoutRunTiming(b));
  });
});
