// The Terraform steps of the machine pipeline, on top of the TerraformRunner: the module copied into the workspace,
// apply (the runner's converge), the periodic drift check (plan -detailed-exitcode, then apply of that saved plan
// when the Lab asks for repair), destroy, and how a run is told in a status (a summary, a failure's reason).
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LabStatus } from '../../src/api/types.js';
import type { RootModule, TerraformRunner, TerraformRunResult, Workspace } from '../../src/exec/terraform/runner.js';
import { pullState, STATE_FILE, stateResourceAddresses } from '../../src/exec/terraform/state.js';
import { writeFileAtomic } from '../../src/base/atomic-file.js';
import { readFileIfExists } from '../../src/base/files.js';
import { machinesFromOutputs, type MachineOutput } from './module.js';
import { readModuleFolder } from './render.js';

export type RunSummary = NonNullable<LabStatus['lastTerraformRun']>;

/**
 * Copies terraform/<name>/*.tf into the workspace as modules/<name>/ (files rewritten only when they differ), so
 * the workspace is self-contained, and returns the content hash of the module: part of the rendered root module,
 * so that a new version of the module is a change to apply.
 */
export async function installModule(ws: Workspace, modulesDir: string, name: string): Promise<string> {
  const folder = await readModuleFolder(modulesDir, name);
  const target = join(ws.dir, 'modules', name);
  await mkdir(target, { recursive: true, mode: 0o700 });
  for (const { name: file, content } of folder.files) {
    const current = await readFileIfExists(join(target, file));
    // A copy, made again on every reconcile: whole (the rename), not worth an fsync.
    if (!current?.equals(content)) await writeFileAtomic(join(target, file), content, 0o600, false);
  }
  return folder.hash;
}

/** Whether the workspace's state still records resources (nothing to destroy otherwise). */
export async function hasResources(ws: Workspace): Promise<boolean> {
  const state = await readFileIfExists(join(ws.dir, STATE_FILE));
  if (!state || state.length === 0) return false;
  try {
    return stateResourceAddresses(state).some((a) => !a.startsWith('data.') && !a.includes('.data.'));
  } catch {
    return true;
  }
}

/**
 * Whether the resource's saved state records resources, after bringing it into the workspace: in Kubernetes mode
 * the workspace is scratch (a restarted pod starts empty) and the state Secret is what counts.
 */
export async function savedStateHasResources(runner: TerraformRunner, ws: Workspace): Promise<boolean> {
  await pullState(ws, runner.stateBackend(ws));
  return hasResources(ws);
}

/** Forgets the state once everything it recorded is destroyed (Kubernetes mode: deletes its Secrets). */
export async function discardState(runner: TerraformRunner, ws: Workspace): Promise<void> {
  await runner.stateBackend(ws).discard?.();
}

export function hasRootModule(ws: Workspace): boolean {
  return existsSync(join(ws.dir, 'main.tf.json'));
}

export function summarize(run: TerraformRunResult, startedAt: Date): RunSummary {
  return {
    op: run.op,
    result: run.result,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(run.durationMs),
    ...(run.error ? { message: run.error.slice(0, 2000) } : {}),
    ...(run.logFile ? { logFile: run.logFile } : {}),
  };
}

export interface TerraformStep {
  ok: boolean;
  /** The last run (the failed one when !ok); undefined when nothing ran. */
  run?: TerraformRunResult;
  summary?: RunSummary;
  machines?: MachineOutput[];
  /** Drift check: the plan found changes. */
  drifted?: boolean;
  /** An apply ran. */
  applied?: boolean;
}

export interface StepOptions {
  signal: AbortSignal;
  env: Record<string, string>;
}

/** The runner's converge: init (when needed) → apply; the machines from the outputs in the state. */
export async function applyModule(runner: TerraformRunner, ws: Workspace, module: RootModule, opts: StepOptions): Promise<TerraformStep> {
  const startedAt = new Date();
  const result = await runner.converge(ws, module, { force: true, signal: opts.signal, env: opts.env });
  const last = result.failure ?? result.runs.find((r) => r.op === 'apply') ?? result.runs.at(-1);
  const summary = last ? summarize(last, startedAt) : undefined;
  if (result.result !== 'success') return { ok: false, run: last, summary };
  return { ok: true, run: last, summary, machines: machinesFromOutputs(result.outputs), applied: result.applied };
}

/**
 * plan -detailed-exitcode; with `repair`, the plan is saved and that very plan is applied when it found drift, then
 * the machines are read from the outputs in the state. Without `repair` no plan file is written.
 */
export async function checkDrift(runner: TerraformRunner, ws: Workspace, repair: boolean, opts: StepOptions): Promise<TerraformStep> {
  const startedAt = new Date();
  const init = await runner.init(ws, opts);
  if (init.result !== 'success') return { ok: false, run: init, summary: summarize(init, startedAt) };
  const plan = await runner.plan(ws, { ...opts, save: repair });
  if (plan.result !== 'success') return { ok: false, run: plan, summary: summarize(plan, startedAt) };
  if (!plan.changes || !repair) return { ok: true, run: plan, summary: summarize(plan, startedAt), drifted: Boolean(plan.changes) };
  const apply = await runner.apply(ws, opts);
  if (apply.result !== 'success') return { ok: false, run: apply, summary: summarize(apply, startedAt), drifted: true };
  let outputs;
  try {
    outputs = await runner.outputs(ws);
  } catch (err) {
    const failed = { ...apply, result: 'failed' as const, error: (err as Error).message };
    return { ok: false, run: failed, summary: summarize(failed, startedAt), drifted: true };
  }
  return { ok: true, run: apply, summary: summarize(apply, startedAt), drifted: true, applied: true, machines: machinesFromOutputs(outputs) };
}

/** init (when needed) → destroy, against the last rendered root module and the state. */
export async function destroyModule(runner: TerraformRunner, ws: Workspace, opts: StepOptions): Promise<TerraformStep> {
  const startedAt = new Date();
  const init = await runner.init(ws, opts);
  if (init.result !== 'success') return { ok: false, run: init, summary: summarize(init, startedAt) };
  const destroy = await runner.destroy(ws, opts);
  return { ok: destroy.result === 'success', run: destroy, summary: summarize(destroy, startedAt) };
}

/** A failed step as a status tells it: the reason (StateLocked, Cancelled, TerraformFailed) and one line. */
export function describeFailure(step: TerraformStep): { reason: string; message: string } {
  const run = step.run;
  const reason = run?.lockHeld ? 'StateLocked' : run?.result === 'cancelled' ? 'Cancelled' : 'TerraformFailed';
  return { reason, message: `terraform ${run?.op ?? ''}: ${run?.error ?? run?.result ?? 'failed'}` };
}
