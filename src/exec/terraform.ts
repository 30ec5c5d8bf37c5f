// Runs OpenTofu/Terraform for one resource's workspace: init (only when the module or provider set changed),
// plan -out -detailed-exitcode, apply of that plan, output -json, destroy. Every run goes through runProcess
// (argument array, own process group, timeout, cancellation, per-run log file), is counted in the metrics and in
// `spawned`, and comes back as a structured result carrying Terraform's own error message when it failed.
// State lives behind a StateBackend; a stale lock left by a dead Terraform is released before a run, a live
// one is reported with its holder.
import { appendFile, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runProcess, type ProcessResult } from './process.js';
import { recordRunEnd, recordRunStart, removeRunLog, runLogName } from './run-logs.js';
import { findTerraformBinary } from './terraform-binary.js';
import { extractTerraformError, tailOf } from './terraform-diagnostics.js';
import { inspectLock, locateHolder, parseLockError, releaseStaleLock, type LockHolder } from './terraform-lock.js';
import { DEFAULT_STATE_VERSIONS, FolderStateBackend, pullState, pushState, type StateBackend } from './terraform-state.js';
import {
  clearMarker,
  openWorkspace,
  readMarker,
  renderRootModule,
  ROOT_MODULE_FILE,
  sha256,
  writeMarker,
  type RenderResult,
  type Workspace,
  type WorkspaceRef,
} from './workspace.js';
import { logger as rootLogger, type Logger } from '../telemetry/logger.js';
import { terraformRunSeconds, terraformRunsTotal } from '../telemetry/metrics.js';

export type { LockHolder, RenderResult, StateBackend, Workspace, WorkspaceRef };
export { inspectLock, releaseStaleLock, renderRootModule };

export type TerraformOp = 'init' | 'plan' | 'apply' | 'output' | 'destroy';
export type TerraformRunOutcome = 'success' | 'failed' | 'timeout' | 'cancelled';

export interface TerraformRunResult {
  op: TerraformOp;
  result: TerraformRunOutcome;
  exitCode: number | null;
  durationMs: number;
  logFile: string;
  /** plan: whether the plan has changes (exit code 2). */
  changes?: boolean;
  /** Terraform's own message (the `Error: ...` blocks), trimmed. */
  error?: string;
  /** The run failed because another run holds the state lock. */
  lockHeld?: boolean;
  holder?: LockHolder;
  /** init: nothing changed since the last successful init, so no process ran. */
  skipped?: boolean;
}

export interface TerraformOutput {
  value: unknown;
  type: unknown;
  sensitive: boolean;
}

export interface OutputResult extends TerraformRunResult {
  outputs?: Record<string, TerraformOutput>;
}

export interface TerraformRunnerOptions {
  /** The state directory: workspaces and logs live under it. */
  stateRoot: string;
  /** A path or a name on PATH; default: `tofu`, else `terraform`, on PATH. */
  binary?: string;
  /** Added to every run's environment (e.g. TF_CLI_CONFIG_FILE). */
  env?: Record<string, string>;
  timeoutsMs?: Partial<Record<TerraformOp, number>>;
  /** Run logs kept per workspace (default 20). */
  keepLogs?: number;
  /** State versions kept by the default folder backend (default 10). */
  keepStateVersions?: number;
  /** The state backend of a workspace (default: FolderStateBackend). */
  stateBackend?: (ws: Workspace) => StateBackend;
  killGraceMs?: number;
  logger?: Logger;
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Added to this run's environment (e.g. TF_VAR_token from a Secret). */
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface ConvergeResult {
  result: TerraformRunOutcome;
  /** Nothing ran: the module is the one last applied (and `force` was not given). */
  skipped: boolean;
  /** An apply ran. */
  applied: boolean;
  runs: TerraformRunResult[];
  outputs?: Record<string, TerraformOutput>;
  /** The failed run, when one failed. */
  failure?: TerraformRunResult;
  /**
   * A previous apply or destroy in this workspace never finished (its Terraform or Orion was killed). The local
   * backend persists intermediate state only every 20 s, so what it created in its last seconds may be missing
   * from the state: resources with deterministic names are created again in place (or fail as already
   * existing, to be imported), never silently doubled when their names are fixed.
   */
  interrupted?: InterruptedRun;
}

export interface InterruptedRun {
  op: 'apply' | 'destroy';
  startedAt: string;
  /** The Orion process that started it. */
  pid: number;
}

const DEFAULT_TIMEOUTS_MS: Record<TerraformOp, number> = {
  init: 10 * 60_000,
  plan: 30 * 60_000,
  apply: 60 * 60_000,
  output: 2 * 60_000,
  destroy: 60 * 60_000,
};
const DEFAULT_KEEP_LOGS = 20;
const PLAN_FILE = 'plan.bin';
const INIT_MARKER = '.orion-init';
const APPLIED_MARKER = '.orion-applied';
const RUNNING_MARKER = '.orion-running';
const BASE_ENV = { TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1' };

/** Providers a root module needs: required_providers, provider blocks and the prefixes of resource types. */
function providerSet(module: Record<string, unknown>): string[] {
  const names = new Set<string>();
  const terraform = (module.terraform ?? {}) as { required_providers?: Record<string, unknown> };
  for (const name of Object.keys(terraform.required_providers ?? {})) names.add(name);
  for (const name of Object.keys((module.provider ?? {}) as object)) names.add(name);
  for (const block of [module.resource, module.data]) {
    for (const type of Object.keys((block ?? {}) as object)) names.add(type.split('_')[0] ?? type);
  }
  return [...names].sort();
}

/** What `init` depends on: the binary, providers and their constraints, module sources, the backend. */
export function initKey(binary: string, moduleText: string): string {
  const module = JSON.parse(moduleText) as Record<string, unknown>;
  const terraform = (module.terraform ?? {}) as Record<string, unknown>;
  const modules = Object.entries((module.module ?? {}) as Record<string, { source?: unknown; version?: unknown }>)
    .map(([name, m]) => [name, m.source, m.version])
    .sort();
  return sha256(
    JSON.stringify({
      binary,
      providers: providerSet(module),
      required: terraform.required_providers ?? null,
      backend: terraform.backend ?? null,
      modules,
    }),
  );
}

function outcomeOf(run: ProcessResult, okCodes: number[]): TerraformRunOutcome {
  if (run.cancelled) return 'cancelled';
  if (run.timedOut) return 'timeout';
  return run.exitCode !== null && okCodes.includes(run.exitCode) ? 'success' : 'failed';
}

export class TerraformRunner {
  /** Terraform processes spawned by this runner, by operation. */
  readonly spawned: Record<TerraformOp, number> = { init: 0, plan: 0, apply: 0, output: 0, destroy: 0 };
  private readonly log: Logger;

  private constructor(
    readonly binary: string,
    private readonly options: TerraformRunnerOptions,
  ) {
    this.log = (options.logger ?? rootLogger).child({ component: 'terraform' });
  }

  /** Resolves the binary (configured, else tofu, else terraform on PATH) and returns a runner. */
  static async create(options: TerraformRunnerOptions): Promise<TerraformRunner> {
    const pathEnv = options.env?.PATH ?? process.env.PATH ?? '';
    return new TerraformRunner(await findTerraformBinary(options.binary, pathEnv), options);
  }

  /** The workspace of a resource (created if needed; names validated, confined to the state root). */
  workspace(ref: WorkspaceRef): Promise<Workspace> {
    return openWorkspace(this.options.stateRoot, ref);
  }

  stateBackend(ws: Workspace): StateBackend {
    return this.options.stateBackend?.(ws) ?? new FolderStateBackend(ws, this.options.keepStateVersions ?? DEFAULT_STATE_VERSIONS);
  }

  render(ws: Workspace, module: object): Promise<RenderResult> {
    return renderRootModule(ws, module);
  }

  /** `init`, only when the binary, the provider set, module sources or the backend changed since the last one. */
  async init(ws: Workspace, opts: RunOptions = {}): Promise<TerraformRunResult> {
    const moduleText = await readFile(join(ws.dir, ROOT_MODULE_FILE), 'utf8');
    const key = initKey(this.binary, moduleText);
    if ((await readMarker(ws, INIT_MARKER)) === key && (await this.hasInitDir(ws))) {
      return { op: 'init', result: 'success', exitCode: null, durationMs: 0, logFile: '', skipped: true };
    }
    await clearMarker(ws, INIT_MARKER);
    const result = await this.run(ws, 'init', ['init', '-input=false', '-no-color'], opts);
    if (result.result === 'success') await writeMarker(ws, INIT_MARKER, key);
    return result;
  }

  /** `plan -out=plan.bin -detailed-exitcode`: success with `changes` (exit 2) or without (exit 0). */
  async plan(ws: Workspace, opts: RunOptions = {}): Promise<TerraformRunResult> {
    await rm(join(ws.dir, PLAN_FILE), { force: true });
    await this.prepareState(ws);
    const args = ['plan', '-input=false', '-no-color', '-lock-timeout=0s', `-out=${PLAN_FILE}`, '-detailed-exitcode'];
    const result = await this.run(ws, 'plan', args, opts, [0, 2]);
    if (result.result === 'success') result.changes = result.exitCode === 2;
    if (!result.changes) await rm(join(ws.dir, PLAN_FILE), { force: true });
    return result;
  }

  /** Applies the plan saved by the last `plan`; the state is checkpointed before and saved after. */
  async apply(ws: Workspace, opts: RunOptions = {}): Promise<TerraformRunResult> {
    await this.prepareState(ws, true);
    const args = ['apply', '-input=false', '-no-color', '-lock-timeout=0s', '-auto-approve', PLAN_FILE];
    const result = await this.runTracked(ws, 'apply', args, opts);
    await rm(join(ws.dir, PLAN_FILE), { force: true });
    await pushState(ws, this.stateBackend(ws));
    return result;
  }

  /** `destroy -auto-approve`; the state is checkpointed before and saved after. */
  async destroy(ws: Workspace, opts: RunOptions = {}): Promise<TerraformRunResult> {
    await clearMarker(ws, APPLIED_MARKER);
    await this.prepareState(ws, true);
    const args = ['destroy', '-input=false', '-no-color', '-lock-timeout=0s', '-auto-approve'];
    const result = await this.runTracked(ws, 'destroy', args, opts);
    await pushState(ws, this.stateBackend(ws));
    return result;
  }

  /**
   * `output -json`, parsed. Output values may be secrets: the process output goes to no log, and the run's log
   * file records only the names of the outputs.
   */
  async output(ws: Workspace, opts: RunOptions = {}): Promise<OutputResult> {
    await this.prepareState(ws);
    const run = await this.exec(ws, 'output', ['output', '-no-color', '-json'], opts, { quiet: true });
    const result: OutputResult = run.result;
    if (result.result !== 'success') return result;
    try {
      result.outputs = JSON.parse(run.stdout || '{}') as Record<string, TerraformOutput>;
    } catch (err) {
      result.result = 'failed';
      result.error = `cannot parse output -json: ${(err as Error).message}`;
    }
    const names = Object.keys(result.outputs ?? {}).join(', ');
    await appendFile(result.logFile, `# outputs: ${names || '(none)'} (values are not logged)\n`, { mode: 0o600 });
    return result;
  }

  /**
   * The whole pipeline for a desired module: render; when it is the module last applied and `force` is not
   * set, nothing runs. Otherwise init (if needed), plan, apply only when the plan has changes, then outputs.
   */
  async converge(ws: Workspace, module: object, opts: RunOptions & { force?: boolean } = {}): Promise<ConvergeResult> {
    const rendered = await this.render(ws, module);
    if (!opts.force && (await readMarker(ws, APPLIED_MARKER)) === rendered.hash) {
      return { result: 'success', skipped: true, applied: false, runs: [] };
    }
    const interrupted = await this.interruptedRun(ws);
    if (interrupted) this.log.warn({ workspace: ws.dir, interrupted }, 'resuming after an interrupted Terraform run');
    const runs: TerraformRunResult[] = [];
    const failed = (run: TerraformRunResult): ConvergeResult => ({ result: run.result, skipped: false, applied: false, runs, failure: run, interrupted });
    const init = await this.init(ws, opts);
    if (!init.skipped) runs.push(init);
    if (init.result !== 'success') return failed(init);
    const plan = await this.plan(ws, opts);
    runs.push(plan);
    if (plan.result !== 'success') return failed(plan);
    if (plan.changes) {
      await clearMarker(ws, APPLIED_MARKER);
      const apply = await this.apply(ws, opts);
      runs.push(apply);
      if (apply.result !== 'success') return failed(apply);
    }
    const output = await this.output(ws, opts);
    runs.push(output);
    if (output.result !== 'success') return failed(output);
    await writeMarker(ws, APPLIED_MARKER, rendered.hash);
    return { result: 'success', skipped: false, applied: Boolean(plan.changes), runs, outputs: output.outputs, interrupted };
  }

  /** The apply or destroy that was started in this workspace and never finished, if any. */
  async interruptedRun(ws: Workspace): Promise<InterruptedRun | undefined> {
    const marker = await readMarker(ws, RUNNING_MARKER);
    if (!marker) return undefined;
    try {
      return JSON.parse(marker) as InterruptedRun;
    } catch {
      return { op: 'apply', startedAt: '', pid: 0 };
    }
  }

  /**
   * An apply or destroy, with a marker that stays behind when it does not finish by itself: the process was
   * killed (no exit code) or Orion died meanwhile. A run that exits, even with an error or after SIGTERM
   * (Terraform then persists its state), clears it.
   */
  private async runTracked(ws: Workspace, op: 'apply' | 'destroy', args: string[], opts: RunOptions): Promise<TerraformRunResult> {
    const marker: InterruptedRun = { op, startedAt: new Date().toISOString(), pid: process.pid };
    await writeMarker(ws, RUNNING_MARKER, JSON.stringify(marker));
    const result = await this.run(ws, op, args, opts);
    if (result.exitCode !== null) await clearMarker(ws, RUNNING_MARKER);
    return result;
  }

  private async hasInitDir(ws: Workspace): Promise<boolean> {
    try {
      return (await readdir(join(ws.dir, '.terraform'))).length > 0;
    } catch {
      return false;
    }
  }

  /**
   * Brings the backend's state into the workspace, releases a lock left by a dead Terraform (never a live one),
   * and with `checkpoint` saves the current state as a version before it changes.
   */
  private async prepareState(ws: Workspace, checkpoint = false): Promise<void> {
    const backend = this.stateBackend(ws);
    const lock = await inspectLock(ws);
    if (lock?.alive === false && lock.ID) {
      const release = await releaseStaleLock(ws, lock.ID);
      this.log.warn({ workspace: ws.dir, holder: lock, release }, 'stale Terraform state lock found');
    }
    const state = await pullState(ws, backend);
    if (checkpoint && state !== undefined && state.length > 0) await backend.save(state);
  }

  private async run(ws: Workspace, op: TerraformOp, args: string[], opts: RunOptions, okCodes = [0]): Promise<TerraformRunResult> {
    return (await this.exec(ws, op, args, opts, { okCodes })).result;
  }

  /** One Terraform process. `quiet`: its output is neither logged nor written to the run's log file. */
  private async exec(
    ws: Workspace,
    op: TerraformOp,
    args: string[],
    opts: RunOptions,
    { okCodes = [0], quiet = false }: { okCodes?: number[]; quiet?: boolean },
  ): Promise<{ result: TerraformRunResult; stdout: string }> {
    const startedAt = new Date();
    const logFile = join(ws.logDir, runLogName(startedAt, op));
    const log = this.log.child({ workspace: `${ws.kind}/${ws.namespace}/${ws.name}`, op });
    this.spawned[op] += 1;
    if (!quiet) await recordRunStart(logFile, startedAt);
    const run = await runProcess(this.binary, args, {
      cwd: ws.dir,
      env: { ...BASE_ENV, ...this.options.env, ...opts.env },
      timeoutMs: opts.timeoutMs ?? this.options.timeoutsMs?.[op] ?? DEFAULT_TIMEOUTS_MS[op],
      signal: opts.signal,
      logFile: quiet ? '/dev/null' : logFile,
      logger: quiet ? log.child({}, { level: 'silent' }) : log,
      killGraceMs: this.options.killGraceMs,
      // Terraform writes its log itself, so a run outlives a killed Orion and finishes (holding its lock)
      // instead of dying mid-apply of SIGPIPE. `output -json` (quiet) keeps pipes: its stdout is parsed.
      outputToLogFile: !quiet,
    });
    const result = await this.describe(ws, op, run, okCodes, logFile);
    if (!quiet) await recordRunEnd(logFile, { ok: result.result === 'success', result: result.result, ...(result.error ? { message: result.error } : {}) });
    terraformRunsTotal.inc({ op, result: result.result });
    terraformRunSeconds.observe({ op }, run.durationMs / 1000);
    log.info({ result: result.result, exitCode: run.exitCode, durationMs: run.durationMs, logFile }, `terraform ${op}`);
    await this.pruneLogs(ws);
    return { result, stdout: run.stdout };
  }

  private async describe(
    ws: Workspace,
    op: TerraformOp,
    run: ProcessResult,
    okCodes: number[],
    logFile: string,
  ): Promise<TerraformRunResult> {
    const result: TerraformRunResult = { op, result: outcomeOf(run, okCodes), exitCode: run.exitCode, durationMs: run.durationMs, logFile };
    if (result.result === 'success') return result;
    if (result.result !== 'failed') {
      result.error = `terraform ${op} ${result.result === 'timeout' ? 'timed out' : 'was cancelled'} after ${run.durationMs} ms`;
      return result;
    }
    result.error = extractTerraformError(run.stderr, run.stdout) ?? (tailOf(run.stderr) || `terraform ${op} exited with ${run.exitCode}`);
    const holder = parseLockError(run.stderr + '\n' + run.stdout);
    if (holder) {
      result.lockHeld = true;
      result.holder = await locateHolder(ws, holder);
    }
    return result;
  }

  /** Keeps the newest `keepLogs` run logs of a workspace (names start with an ISO time, so they sort). */
  private async pruneLogs(ws: Workspace): Promise<void> {
    const keep = this.options.keepLogs ?? DEFAULT_KEEP_LOGS;
    const logs = (await readdir(ws.logDir)).filter((n) => n.endsWith('.log')).sort();
    for (const old of logs.slice(0, Math.max(logs.length - keep, 0))) await removeRunLog(join(ws.logDir, old));
  }
}
