// PlaybookRun controller: runs the named recipe once on the named Nodes and writes the run's life into the status —
// Pending, Running (startedAt), Succeeded or Failed (endedAt, per-host results, the run log) — then deletes the
// object ttlSecondsAfterFinished later. Deleting a running PlaybookRun cancels its ansible-playbook (the whole
// process group) before the finalizer goes. A PlaybookRun found Running at a reconcile was interrupted (a key never
// runs twice at once, so no run of this process holds it): it is Failed, never silently started again.
import { reaffirmed, type StatusChange } from '../../src/api/status.js';
import type { PlaybookRunResource, PlaybookRunStatus } from '../../src/api/types.js';
import { parseRefKey, refKey, refOf } from '../../src/api/refs.js';
import { playbookBaseName } from '../../src/exec/ansible/playbooks.js';
import type { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import { InvalidPlaybookError, InvalidRunRequestError, type AnsibleRunResult } from '../../src/exec/ansible/types.js';
import type { ReconcileRequest, ReconcileResult } from '../../src/runtime/controller.js';
import { TerminalError } from '../../src/runtime/errors.js';
import type { ControllerSetup } from '../../src/runtime/manager.js';
import { NotFoundError, NotWritableError } from '../../src/store/errors.js';
import { writeStatus } from '../../src/store/status-writer.js';
import { FINALIZER, type Store } from '../../src/store/store.js';
import { ansibleRunSummary, describeAnsibleRun } from '../run-summary.js';
import { resolveTargets } from './targets.js';

export interface PlaybookRunControllerOptions {
  runner: AnsibleRunner;
  /** Recipes a PlaybookRun may name (bare playbook names); default: base. */
  recipes?: readonly string[];
  concurrency?: number;
}

export const DEFAULT_RECIPES = ['base'] as const;

type Phase = NonNullable<PlaybookRunStatus['phase']>;

export function playbookRunController(store: Store, options: PlaybookRunControllerOptions): ControllerSetup {
  const steps = new PlaybookRunSteps(store, options);
  store.watch('PlaybookRun', (event) => {
    if (event.type === 'DELETED' || event.object.metadata.deletionTimestamp) steps.cancel(refKey(refOf(event.object)));
  });
  return {
    name: 'playbookrun',
    kind: 'PlaybookRun',
    concurrency: options.concurrency ?? 4,
    reconcile: (request) => steps.reconcile(request),
  };
}

class PlaybookRunSteps {
  private readonly running = new Map<string, AbortController>();
  private readonly recipes: ReadonlySet<string>;

  constructor(
    private readonly store: Store,
    private readonly options: PlaybookRunControllerOptions,
  ) {
    this.recipes = new Set(options.recipes ?? DEFAULT_RECIPES);
  }

  cancel(key: string): void {
    this.running.get(key)?.abort();
  }

  async reconcile({ key, signal }: ReconcileRequest): Promise<ReconcileResult | void> {
    const run = this.store.get<PlaybookRunResource>(parseRefKey(key));
    if (!run) return;
    if (run.metadata.deletionTimestamp) {
      if (run.metadata.finalizers?.includes(FINALIZER)) await this.store.removeFinalizer(run, FINALIZER);
      return;
    }
    const phase = run.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      // A finished run never runs again; a spec edited since is still said to be looked at (observedGeneration).
      const again = reaffirmed(run);
      return this.expireLater(again ? await writeStatus(this.store, run, again) : run);
    }
    if (phase === 'Running') {
      return this.finish(run, 'Failed', { reason: 'Interrupted', message: 'Orion stopped while the run was in progress; it was not started again' });
    }
    if (!run.metadata.finalizers?.includes(FINALIZER)) {
      await this.store.addFinalizer(run, FINALIZER); // its watch event brings the run back
      return;
    }
    await this.start(run, key, signal);
  }

  private async start(run: PlaybookRunResource, key: string, signal: AbortSignal): Promise<ReconcileResult | void> {
    const refused = this.refusal(run);
    if (refused) return this.finish(run, 'Failed', { reason: 'RecipeNotAllowed', message: refused });
    const targets = await resolveTargets(this.store, run);
    if ('problem' in targets) return this.finish(run, 'Failed', { reason: targets.reason, message: targets.problem });
    const started = await writeStatus(this.store, run, outcomeChange('Running', { reason: 'Running', message: `${run.spec.playbook} on ${targets.hosts.length} node(s)` }, { startedAt: new Date().toISOString() }));
    const abort = new AbortController();
    const onStop = () => abort.abort();
    signal.addEventListener('abort', onStop, { once: true });
    this.running.set(key, abort);
    try {
      const result = await this.options.runner.run({
        playbook: run.spec.playbook,
        hosts: targets.hosts,
        privateKey: targets.privateKey,
        extraVars: {},
        resource: refOf(run),
        timeoutMs: run.spec.timeoutSeconds * 1000,
        signal: abort.signal,
      });
      if (signal.aborted) return; // Orion is stopping: the next start finds it Running and says so
      return await this.finishWith(started, result);
    } catch (err) {
      if (!(err instanceof InvalidRunRequestError || err instanceof InvalidPlaybookError)) throw err;
      return this.finish(started, 'Failed', { reason: 'InvalidRequest', message: err.message });
    } finally {
      this.running.delete(key);
      signal.removeEventListener('abort', onStop);
    }
  }

  /** Why the recipe may not run: not a bare name, not allowed, or not found among the playbooks. */
  private refusal(run: PlaybookRunResource): string | undefined {
    try {
      const name = playbookBaseName(run.spec.playbook);
      if (!this.recipes.has(name)) return `recipe "${name}" is not allowed (allowed: ${[...this.recipes].sort().join(', ')})`;
      this.options.runner.resolvePlaybook(name);
      return undefined;
    } catch (err) {
      if (err instanceof InvalidPlaybookError) return err.message;
      throw err;
    }
  }

  private async finishWith(run: PlaybookRunResource, result: AnsibleRunResult): Promise<ReconcileResult | void> {
    const latest = this.store.get<PlaybookRunResource>(refOf(run));
    if (!latest || latest.metadata.deletionTimestamp) return; // deleted while running: cancelled
    const hosts = Object.entries(result.hosts).map(([node, h]) => ({ node, ...h, ...(h.message ? { message: h.message.slice(0, 500) } : {}) }));
    const extra = { hosts, lastRun: ansibleRunSummary(result) };
    if (result.result === 'success') {
      return this.finish(latest, 'Succeeded', { reason: 'Succeeded', message: `${result.playbook} succeeded on ${hosts.length} node(s)` }, extra);
    }
    return this.finish(latest, 'Failed', { reason: 'PlaybookFailed', message: describeAnsibleRun(result) }, extra);
  }

  private async finish(run: PlaybookRunResource, phase: Phase, outcome: { reason: string; message: string }, extra: Partial<PlaybookRunStatus> = {}): Promise<ReconcileResult | void> {
    const ended = await writeStatus(this.store, run, outcomeChange(phase, outcome, { ...extra, endedAt: new Date().toISOString() }));
    await this.store.recordEvent(ended, { type: phase === 'Succeeded' ? 'Normal' : 'Warning', reason: outcome.reason, message: outcome.message });
    return this.expireLater(ended);
  }

  /** Deletes the finished run once its TTL has passed; until then, a requeue at that time. */
  private async expireLater(run: PlaybookRunResource): Promise<ReconcileResult | void> {
    const endedAt = Date.parse(run.status?.endedAt ?? '') || Date.now();
    const due = endedAt + run.spec.ttlSecondsAfterFinished * 1000 - Date.now();
    if (due > 0) return { requeueAfterMs: due };
    try {
      await this.store.delete(refOf(run), { uid: run.metadata.uid });
    } catch (err) {
      if (err instanceof NotFoundError) return;
      if (err instanceof NotWritableError) throw new TerminalError(`its TTL has passed but ${err.message}`, 'NotDeletable');
      throw err;
    }
  }
}

/** A run's phase as a status change: Ready once it succeeded; a failed run is Stalled, as it never runs again. */
function outcomeChange(phase: Phase, outcome: { reason: string; message: string }, fields: Partial<PlaybookRunStatus> = {}): StatusChange<PlaybookRunStatus> {
  return {
    phase,
    conditions: [{ type: 'Ready', status: phase === 'Succeeded' ? 'True' : 'False', ...outcome }],
    fields,
    stalled: phase === 'Failed',
  };
}
