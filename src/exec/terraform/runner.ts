// Runs OpenTofu/Terraform for one resource's workspace, spawning only what a change needs (ADR 10): init only
// when the binary, providers, module sources or backend changed, and a new workspace gets a copy of an identical
// earlier init instead (init-copies.ts; providers from a plugin cache shared under the
// state root); a module not yet applied is one `apply -auto-approve`; a re-check of the module already applied is
// `plan -detailed-exitcode`, then the apply of that saved plan only when it has changes; outputs are read from the
// state the apply wrote, never by another process; destroy. Every run goes through runProcess (argument array,
// own process group, timeout, cancellation, per-run log file), is counted in the metrics and in `spawned`, and
// comes back as a structured result carrying Terraform's own error message when it failed. State lives behind a
// StateBackend; a stale lock left by a dead Terraform is released before a run, a live one is reported with its
// holder.
//
// Longer than 300 lines on purpose: one runner whose operations share the same run, lock, state and log handling;
// the pieces that stand alone are already beside it (binary, diagnostics, lock, state, workspace).
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runProcess, type ProcessResult } from '../process.js';
import { recordRunEnd, recordRunStart, removeRunLog, runLogName } from '../run-logs.js';
import { findTerraformBinary, parseVersionOutput, pluginCacheIsConcurrencySafe, type TerraformFlavor } from './binary.js';
import { extractTerraformError, tailOf } from './diagnostics.js';
import { InitCopies, initRequired } from './init-copies.js';
import { inspectLock, locateHolder, parseLockError, releaseStaleLock, type LockHolder } from './lock.js';
import {
  DEFAULT_STATE_VERSIONS,
  FolderStateBackend,
  pullState,
  pushState,
  STATE_FILE,
  stateOutputs,
  type StateBackend,
  type StateOutput,
} from './state.js';
import {
  clearMarker,
  openWorkspace,
  readMarker,
  renderRootModule,
  ROOT_MODULE_FILE,
  RootModule,
  writeMarker,
  type RenderResult,
  type Workspace,
} from './workspace.js';
import type { PathRef } from '../../api/refs.js';
import { readFileIfExists } from '../../base/files.js';
import { sha256 } from '../../base/hash.js';
import { logger as rootLogger, type Logger } from '../../telemetry/logger.js';
import { terraformRunSeconds, terraformRunsTotal } from '../../telemetry/metrics.js';

export type { LockHolder, RenderResult, StateBackend, Workspace };
export { inspectLock, releaseStaleLock, renderRootModule, RootModule };

export type TerraformOp = 'init' | 'plan' | 'apply' | 'destroy';
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
  /** init: skipped because an earlier init with the same inputs was copied in (init-copies.ts). */
  copied?: boolean;
}

/** An output of the root module (value, type, sensitive), as the state records it: its value may be a secret. */
export type TerraformOutput = StateOutput;

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
  /**
   * The provider plugin cache shared by the workspaces' inits (TF_PLUGIN_CACHE_DIR): default
   * `<stateRoot>/plugin-cache`, or the TF_PLUGIN_CACHE_DIR already set in `env` or Orion's environment; false: none.
   */
  pluginCacheDir?: string | false;
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
  /** An apply ran: the module was not the one last applied, or a re-checking plan found changes. */
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
  destroy: 60 * 60_000,
};
const VERSION_TIMEOUT_MS = 60_000;
const DEFAULT_KEEP_LOGS = 20;
const PLAN_FILE = 'plan.bin';
const INIT_MARKER = '.orion-init';
const APPLIED_MARKER = '.orion-applied';
const RUNNING_MARKER = '.orion-running';
const BASE_ENV = { TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1' };
const PLUGIN_CACHE_DIR = 'plugin-cache';
const INIT_COPIES_DIR = 'init-copies';

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
  readonly spawned: Record<TerraformOp, number> = { init: 0, plan: 0, apply: 0, destroy: 0 };
  private readonly log: Logger;
  /** `<binary> version`, asked once, the first time an init shares the plugin cache. */
  private flavor?: Promise<TerraformFlavor>;
  /** The tail of the inits run one at a time when the cache is not safe for concurrent inits. */
  private initTurn: Promise<unknown> = Promise.resolve();

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
  workspace(ref: PathRef): Promise<Workspace> {
    return openWorkspace(this.options.stateRoot, ref);
  }

  stateBackend(ws: Workspace): StateBackend {
    return this.options.stateBackend?.(ws) ?? new FolderStateBackend(ws, this.options.keepStateVersions ?? DEFAULT_STATE_VERSIONS);
  }

  render(ws: Workspace, module: object | RootModule): Promise<RenderResult> {
    return renderRootModule(ws, module);
  }

  /**
   * `init`, only when the binary, the provider set, module sources or the backend changed since the last one.
   * Providers come through the shared plugin cache; when the binary does not lock that cache, inits run one at a
   * time.
   */
  async init(ws: Workspace, opts: RunOptions = {}): Promise<TerraformRunResult> {
    const moduleText = await readFile(join(ws.dir, ROOT_MODULE_FILE), 'utf8');
    const key = initKey(this.binary, moduleText);
    if ((await readMarker(ws, INIT_MARKER)) === key && (await this.hasInitDir(ws))) {
      return { op: 'init', result: 'success', exitCode: null, durationMs: 0, logFile: '', skipped: true };
    }
    await clearMarker(ws, INIT_MARKER);
    const cache = await this.pluginCache();
    const copies = cache ? new InitCopies(join(this.options.stateRoot, INIT_COPIES_DIR)) : undefined;
    if (await copies?.copyInto(ws, key)) {
      await writeMarker(ws, INIT_MARKER, key, false);
      return { op: 'init', result: 'success', exitCode: null, durationMs: 0, logFile: '', skipped: true, copied: true };
    }
    const run = (): Promise<TerraformRunResult> =>
      this.run(ws, 'init', ['init', '-input=false', '-no-color'], { ...opts, env: { ...cache?.env, ...opts.env } });
    const result = cache && !cache.concurrent ? await this.oneAtATime(run) : await run();
    if (result.result === 'success') {
      await writeMarker(ws, INIT_MARKER, key, false);
      await copies?.keepFrom(ws, key).catch((err: Error) => this.log.warn({ err: err.message }, 'cannot keep a copy of the init'));
    }
    return result;
  }

  /**
   * After a run that failed asking for `init` (the providers or modules installed do not match the configuration):
   * forgets the init, and the copy it may have come from, so that the next init runs for real.
   */
  private async forgetInit(ws: Workspace): Promise<void> {
    const key = await readMarker(ws, INIT_MARKER);
    await clearMarker(ws, INIT_MARKER);
    if (key) await new InitCopies(join(this.options.stateRoot, INIT_COPIES_DIR)).discard(key);
  }

  /**
   * `plan -detailed-exitcode`: success with `changes` (exit 2) or without (exit 0). With `save` (the default) the
   * plan is written to plan.bin for `apply` to apply exactly it; without, nothing is written (a plan only looked at).
   */
  async plan(ws: Workspace, opts: RunOptions & { save?: boolean } = {}): Promise<TerraformRunResult> {
    const save = opts.save ?? true;
    await rm(join(ws.dir, PLAN_FILE), { force: true });
    await this.prepareState(ws);
    const args = ['plan', '-input=false', '-no-color', '-lock-timeout=0s', ...(save ? [`-out=${PLAN_FILE}`] : []), '-detailed-exitcode'];
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

  /**
   * `apply -auto-approve` of the root module as it is: one process that plans and applies (no plan file); the
   * state is checkpointed before and saved after.
   */
  async planAndApply(ws: Workspace, opts: RunOptions = {}): Promise<TerraformRunResult> {
    await rm(join(ws.dir, PLAN_FILE), { force: true });
    await this.prepareState(ws, true);
    const args = ['apply', '-input=false', '-no-color', '-lock-timeout=0s', '-auto-approve'];
    const result = await this.runTracked(ws, 'apply', args, opts);
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
   * The root module's outputs, from the state in the workspace (what the last apply wrote, or what the last plan
   * pulled from the backend): no process. Their values may be secrets and are never logged.
   */
  async outputs(ws: Workspace): Promise<Record<string, TerraformOutput>> {
    return stateOutputs(await readFileIfExists(join(ws.dir, STATE_FILE)));
  }

  /**
   * The whole pipeline for a desired module: render; when it is the module last applied and `force` is not set,
   * nothing runs. Otherwise init (if needed), then:
   *   - a module not yet applied here (new, changed, or its last apply failed): `apply -auto-approve`, one
   *     process that plans and applies;
   *   - the module already applied (`force`: a re-check) or a run to resume after an interrupted apply or destroy
   *     (ADR 9), where no change is the expected answer: `plan -detailed-exitcode`, and the apply of that very
   *     plan only when it has changes.
   * The outputs are then read from the state.
   */
  async converge(ws: Workspace, module: object | RootModule, opts: RunOptions & { force?: boolean } = {}): Promise<ConvergeResult> {
    const rendered = await this.render(ws, module);
    const lastApplied = await readMarker(ws, APPLIED_MARKER);
    if (!opts.force && lastApplied === rendered.hash) {
      return { result: 'success', skipped: true, applied: false, runs: [] };
    }
    const interrupted = await this.interruptedRun(ws);
    if (interrupted) this.log.warn({ workspace: ws.dir, interrupted }, 'resuming after an interrupted Terraform run');
    const runs: TerraformRunResult[] = [];
    const failed = (run: TerraformRunResult): ConvergeResult => ({ result: run.result, skipped: false, applied: false, runs, failure: run, interrupted });
    const init = await this.init(ws, opts);
    if (!init.skipped) runs.push(init);
    if (init.result !== 'success') return failed(init);
    let applied = false;
    if (lastApplied !== rendered.hash && !interrupted) {
      await clearMarker(ws, APPLIED_MARKER);
      const apply = await this.applyNew(ws, opts, runs);
      if (apply.result !== 'success') return failed(apply);
      applied = true;
    } else {
      const plan = await this.plan(ws, opts);
      runs.push(plan);
      if (plan.result !== 'success') return failed(plan);
      if (plan.changes) {
        await clearMarker(ws, APPLIED_MARKER);
        const apply = await this.apply(ws, opts);
        runs.push(apply);
        if (apply.result !== 'success') return failed(apply);
        applied = true;
      }
    }
    let outputs: Record<string, TerraformOutput>;
    try {
      outputs = await this.outputs(ws);
    } catch (err) {
      const last = runs.at(-1) as TerraformRunResult;
      return failed({ ...last, result: 'failed', error: (err as Error).message });
    }
    await writeMarker(ws, APPLIED_MARKER, rendered.hash, false);
    return { result: 'success', skipped: false, applied, runs, outputs, interrupted };
  }

  /**
   * `apply -auto-approve` of a module not yet applied, added to `runs`. When it asks for `init` (an init copied in
   * that does not fit after all; run() has forgotten it), init runs for real and the apply once more.
   */
  private async applyNew(ws: Workspace, opts: RunOptions, runs: TerraformRunResult[]): Promise<TerraformRunResult> {
    const apply = await this.planAndApply(ws, opts);
    runs.push(apply);
    if (apply.result === 'success' || !initRequired(apply.error)) return apply;
    const reinit = await this.init(ws, opts);
    runs.push(reinit);
    if (reinit.result !== 'success') return reinit;
    const again = await this.planAndApply(ws, opts);
    runs.push(again);
    return again;
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
    const startedAt = new Date();
    const logFile = join(ws.logDir, runLogName(startedAt, op));
    const log = this.log.child({ workspace: `${ws.kind}/${ws.namespace}/${ws.name}`, op });
    this.spawned[op] += 1;
    await recordRunStart(logFile, startedAt);
    const run = await runProcess(this.binary, args, {
      cwd: ws.dir,
      env: { ...BASE_ENV, ...this.options.env, ...opts.env },
      timeoutMs: opts.timeoutMs ?? this.options.timeoutsMs?.[op] ?? DEFAULT_TIMEOUTS_MS[op],
      signal: opts.signal,
      logFile,
      logger: log,
      killGraceMs: this.options.killGraceMs,
      // Terraform writes its log itself, so a run outlives a killed Orion and finishes (holding its lock)
      // instead of dying mid-apply of SIGPIPE (ADR 9).
      outputToLogFile: true,
    });
    const result = await this.describe(ws, op, run, okCodes, logFile);
    if (op !== 'init' && result.result === 'failed' && initRequired(result.error)) await this.forgetInit(ws);
    await recordRunEnd(logFile, { ok: result.result === 'success', result: result.result, ...(result.error ? { message: result.error } : {}) });
    terraformRunsTotal.inc({ op, result: result.result });
    terraformRunSeconds.observe({ op }, run.durationMs / 1000);
    log.info({ result: result.result, exitCode: run.exitCode, durationMs: run.durationMs, logFile }, `terraform ${op}`);
    await this.pruneLogs(ws);
    return result;
  }

  /**
   * The plugin cache the inits share, with the environment that points them at it, and whether inits may use it
   * at once. TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE lets a new workspace (no lock file yet) take a provider
   * from the cache instead of installing it again: its lock file then records this platform's checksum only,
   * which is all it needs, as a workspace never leaves this machine.
   */
  private async pluginCache(): Promise<{ env: Record<string, string>; concurrent: boolean } | undefined> {
    if (this.options.pluginCacheDir === false) return undefined;
    const given = this.options.env?.TF_PLUGIN_CACHE_DIR ?? process.env.TF_PLUGIN_CACHE_DIR;
    const dir = given ?? this.options.pluginCacheDir ?? join(this.options.stateRoot, PLUGIN_CACHE_DIR);
    if (!given) await mkdir(dir, { recursive: true, mode: 0o700 });
    this.flavor ??= this.probeFlavor();
    const concurrent = pluginCacheIsConcurrencySafe(await this.flavor);
    return { env: { TF_PLUGIN_CACHE_DIR: dir, TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE: '1' }, concurrent };
  }

  /** `<binary> version` (not a Terraform operation: not counted in `spawned`, no run log). */
  private async probeFlavor(): Promise<TerraformFlavor> {
    try {
      const run = await runProcess(this.binary, ['version'], {
        env: { ...BASE_ENV, ...this.options.env },
        timeoutMs: VERSION_TIMEOUT_MS,
        logFile: '/dev/null',
        logger: this.log.child({}, { level: 'silent' }),
      });
      const flavor = parseVersionOutput(run.stdout);
      this.log.info({ binary: this.binary, flavor, pluginCacheConcurrent: pluginCacheIsConcurrencySafe(flavor) }, 'terraform binary');
      return flavor;
    } catch (err) {
      this.log.warn({ binary: this.binary, err }, 'cannot tell the Terraform binary\'s version: inits share the plugin cache one at a time');
      return { name: 'unknown' };
    }
  }

  /** Runs `task` after every task queued before it has finished (whatever their outcome). */
  private oneAtATime<T>(task: () => Promise<T>): Promise<T> {
    const turn = this.initTurn.then(task, task);
    this.initTurn = turn.catch(() => undefined);
    return turn;
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
