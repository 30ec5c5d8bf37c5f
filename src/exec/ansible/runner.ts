// Runs an allow-listed playbook against a set of hosts and returns a structured result.
//
// Each run gets a private directory (0700) holding the inventory, a known_hosts built from the hosts' pinned keys,
// the private key (0600), the extra vars as a YAML file (every value tagged !unsafe) and Ansible's local temp; it is removed after the run,
// whatever happened. Ansible is configured only through the environment (no ansible.cfg, no user config), the
// key only ever travels as a file path, and SSH checks host keys strictly against the pinned ones.
//
// Structured results come from a small callback plugin (ansible/callback_plugins/orion_summary.py) that writes
// per-host stats and the failed task/message as JSON next to the default stdout callback. Why not the others:
// the json stdout callback prints nothing until the end, so the run log is neither readable nor streamed; and
// parsing the human output (PLAY RECAP, `fatal:` lines) breaks on multi-line messages, loops, rescued blocks and
// any display setting. The plugin sees the results themselves; the human output stays as it is for the log.
//
// The pieces of a run live beside this file: playbooks.ts (names to paths), validate.ts (what a request may
// carry), inventory.ts (the run directory, SSH options, environment), summary.ts (the outcome), coalescer.ts
// (runs sharing one process).
import { copyFile, link, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { refKey, runLogRef, type ObjectRef } from '../../api/refs.js';
import { logger as rootLogger, type Logger } from '../../telemetry/logger.js';
import { ansibleRunSeconds, ansibleRunsTotal } from '../../telemetry/metrics.js';
import { runProcess, type ProcessResult } from '../process.js';
import { pruneRunLogs, recordRunEnd, recordRunStart, resourceLogDir, runLogName } from '../run-logs.js';
import { AnsibleCoalescer, type CoalescingOptions } from './coalescer.js';
import { ansibleEnv, writeRunFiles } from './inventory.js';
import { defaultPlaybookDir, playbookBaseName, resolvePlaybookIn } from './playbooks.js';
import { hostOutcomeOf, outcomeOf, parseRunSummary, type RunOutcome, type RunSummary } from './summary.js';
import { InvalidRunRequestError, type AnsibleRunRequest, type AnsibleRunResult } from './types.js';
import { validateRunRequest } from './validate.js';

export interface AnsibleRunnerOptions {
  playbookDirs?: string[];
  runsDir: string;
  /** Run logs kept per resource (default 10). */
  keepRuns?: number;
  /** The ansible-playbook binary (default: found on PATH). */
  ansiblePlaybook?: string;
  logger?: Logger;
  /** Default 10 minutes. */
  defaultTimeoutMs?: number;
  /** How coalescable runs are grouped into ansible-playbook processes. */
  coalescing?: Partial<CoalescingOptions>;
}

const DEFAULT_KEEP_RUNS = 10;
const DEFAULT_TIMEOUT_MS = 10 * 60_000;

export class AnsibleRunner {
  private readonly playbookDirs: string[];
  private readonly runsDir: string;
  private readonly keepRuns: number;
  private readonly ansiblePlaybook: string;
  private readonly logger: Logger;
  private readonly defaultTimeoutMs: number;
  private readonly coalescer: AnsibleCoalescer;

  constructor(opts: AnsibleRunnerOptions) {
    this.playbookDirs = (opts.playbookDirs ?? [defaultPlaybookDir()]).map((d) => resolve(d));
    this.runsDir = resolve(opts.runsDir);
    this.keepRuns = opts.keepRuns ?? DEFAULT_KEEP_RUNS;
    this.ansiblePlaybook = opts.ansiblePlaybook ?? 'ansible-playbook';
    this.logger = opts.logger ?? rootLogger.child({ component: 'ansible' });
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.coalescer = new AnsibleCoalescer((members) => this.runTogether(members), opts.coalescing);
  }

  resolvePlaybook(name: string): string {
    return resolvePlaybookIn(this.playbookDirs, name);
  }

  async run(req: AnsibleRunRequest): Promise<AnsibleRunResult> {
    if (!req.coalesce) return this.runAlone(req);
    this.resolvePlaybook(req.playbook);
    validateRunRequest(req);
    if (req.hosts.length !== 1) throw new InvalidRunRequestError('a coalescable run has exactly one host');
    if (Object.keys(req.extraVars).length > 0) throw new InvalidRunRequestError('a coalescable run passes its variables as host vars');
    return this.coalescer.submit(req);
  }

  /** One ansible-playbook process for one request; the outcome is the whole run's. */
  private async runAlone(req: AnsibleRunRequest): Promise<AnsibleRunResult> {
    const playbook = playbookBaseName(req.playbook);
    const run = await this.execute(req, [req.resource]);
    const outcome = outcomeOf(run.summary, run.proc);
    ansibleRunsTotal.inc({ playbook, result: outcome.result });
    await recordOutcome(run.logFiles[0], outcome);
    return this.result(playbook, outcome, run, 0);
  }

  /**
   * One ansible-playbook process for several single-host requests, each host with its own vars. A member's
   * result is its own host's: its failure, or success when the whole run succeeded. When the run failed but not
   * on a member's host (another host's failure may have ended the play for all, a timeout), the member's answer
   * is undefined: the coalescer runs it again, alone. create_user and delete_user are idempotent.
   */
  private async runTogether(members: AnsibleRunRequest[]): Promise<Array<AnsibleRunResult | undefined>> {
    const [first] = members;
    if (!first) return [];
    if (members.length === 1) return [await this.runAlone(first)];
    const playbook = playbookBaseName(first.playbook);
    const merged: AnsibleRunRequest = {
      ...first,
      hosts: members.flatMap((m) => m.hosts),
      timeoutMs: Math.max(...members.map((m) => m.timeoutMs ?? this.defaultTimeoutMs)),
      signal: whenAllAborted(members.map((m) => m.signal)),
    };
    const run = await this.execute(merged, members.map((m) => m.resource));
    const outcomes = members.map((member) => hostOutcomeOf(run.summary, run.proc, member.hosts[0]?.name ?? ''));
    await Promise.all(outcomes.map((outcome, i) => recordOutcome(run.logFiles[i], outcome ?? RUN_AGAIN_ALONE)));
    return outcomes.map((outcome, i) => {
      if (!outcome) return undefined;
      ansibleRunsTotal.inc({ playbook, result: outcome.result });
      return this.result(playbook, outcome, run, i);
    });
  }

  private result(playbook: string, outcome: RunOutcome, run: Execution, index: number): AnsibleRunResult {
    return {
      playbook,
      ...outcome,
      exitCode: run.proc.exitCode,
      durationMs: run.proc.durationMs,
      logFile: run.logFiles[index] ?? '',
      startedAt: run.startedAt,
    };
  }

  /**
   * Runs ansible-playbook once for the request. The run log is written in the first resource's log folder
   * and linked into the others' (each `orion logs` shows the run that did its work).
   */
  private async execute(req: AnsibleRunRequest, resources: ObjectRef[]): Promise<Execution> {
    const playbookPath = this.resolvePlaybook(req.playbook);
    const playbook = playbookBaseName(req.playbook);
    validateRunRequest(req);
    const startedAt = new Date();
    const logFiles = resources.map((r) => join(resourceLogDir(this.runsDir, runLogRef(r)), runLogName(startedAt, playbook)));
    const logFile = logFiles[0] as string;
    const log = this.logger.child({
      playbook,
      resource: resources.map(refKey).join(','),
      ...(req.hosts.length > 1 ? { hosts: req.hosts.length } : {}),
    });
    const dir = await mkdtemp(join(tmpdir(), 'orion-ansible-'));
    const endTimer = ansibleRunSeconds.startTimer({ playbook });
    try {
      await openRunLogs(logFiles, startedAt);
      const files = await writeRunFiles(dir, req);
      const proc = await runProcess(
        this.ansiblePlaybook,
        ['-i', files.inventory, '-e', `@${files.extraVars}`, playbookPath],
        {
          cwd: dir,
          env: ansibleEnv(files, req.hosts.length),
          inheritEnv: false,
          timeoutMs: req.timeoutMs ?? this.defaultTimeoutMs,
          signal: req.signal,
          logFile,
          logger: log,
        },
      );
      const summary = parseRunSummary(await readFile(files.summary, 'utf8').catch(() => ''));
      log.info({ exitCode: proc.exitCode, durationMs: proc.durationMs }, 'ansible run done');
      return { proc, summary, logFiles, startedAt: startedAt.toISOString() };
    } catch (err) {
      ansibleRunsTotal.inc({ playbook, result: 'error' });
      await Promise.all(logFiles.map((f) => recordRunEnd(f, { ok: false, result: 'error', message: (err as Error).message }).catch(() => undefined)));
      throw err;
    } finally {
      endTimer();
      await rm(dir, { recursive: true, force: true });
      for (const resource of resources) {
        await pruneRunLogs(this.runsDir, runLogRef(resource), this.keepRuns).catch((err: unknown) => {
          log.warn({ err }, 'cannot prune old run logs');
        });
      }
    }
  }
}

interface Execution {
  proc: ProcessResult;
  summary: RunSummary | undefined;
  logFiles: string[];
  startedAt: string;
}

/** A signal that aborts once every member's has (a member without one keeps the run going). */
function whenAllAborted(signals: Array<AbortSignal | undefined>): AbortSignal | undefined {
  const unique = [...new Set(signals)];
  if (unique.some((s) => s === undefined)) return undefined;
  const all = unique as AbortSignal[];
  if (all.length === 1) return all[0];
  const controller = new AbortController();
  const check = () => {
    if (all.every((s) => s.aborted)) controller.abort();
  };
  for (const s of all) s.addEventListener('abort', check, { once: true });
  check();
  return controller.signal;
}

/** A shared run whose outcome for this host is unknown: the coalescer runs it again, alone (another log). */
const RUN_AGAIN_ALONE: RunOutcome = { result: 'failed', hosts: {}, changed: false, message: 'the shared run did not tell this host\'s outcome; it runs again alone' };

/**
 * Records that the run started and creates its log before the process starts, linked into every member's folder,
 * so that each resource's log can be followed live (the portal's streams).
 */
async function openRunLogs(logFiles: string[], startedAt: Date): Promise<void> {
  const [first, ...others] = logFiles;
  if (!first) return;
  await Promise.all(logFiles.map((f) => recordRunStart(f, startedAt)));
  await writeFile(first, '', { mode: 0o600, flag: 'a' });
  await Promise.all(others.map((f) => linkRunLog(first, f)));
}

async function recordOutcome(logFile: string | undefined, outcome: RunOutcome): Promise<void> {
  if (!logFile) return;
  await recordRunEnd(logFile, { ok: outcome.result === 'success', result: outcome.result, ...(outcome.message ? { message: outcome.message } : {}) });
}

async function linkRunLog(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true, mode: 0o700 });
  await link(from, to).catch(() => copyFile(from, to));
}
