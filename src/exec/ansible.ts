// Runs an allow-listed playbook against a set of hosts and returns a structured result.
//
// Each run gets a private directory (0700) holding the inventory, a known_hosts built from the hosts' pinned keys,
// the private key (0600), the extra vars as a JSON file and Ansible's local temp; it is removed after the run,
// whatever happened. Ansible is configured only through the environment (no ansible.cfg, no user config), the
// key only ever travels as a file path, and SSH checks host keys strictly against the pinned ones.
//
// Structured results come from a small callback plugin (ansible/callback_plugins/orion_summary.py) that writes
// per-host stats and the failed task/message as JSON next to the default stdout callback. Why not the others:
// the json stdout callback prints nothing until the end, so the run log is neither readable nor streamed; and
// parsing the human output (PLAY RECAP, `fatal:` lines) breaks on multi-line messages, loops, rescued blocks and
// any display setting. The plugin sees the results themselves; the human output stays as it is for the log.
import { existsSync, realpathSync, statSync } from 'node:fs';
import { copyFile, link, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';
import { logger as rootLogger, type Logger } from '../telemetry/logger.js';
import { ansibleRunSeconds, ansibleRunsTotal } from '../telemetry/metrics.js';
import { AnsibleCoalescer, type CoalescingOptions } from './ansible-coalescer.js';
import { runProcess, type ProcessResult } from './process.js';
import { pruneRunLogs, recordRunEnd, recordRunStart, resourceLogDir, runLogName, type ResourceRef } from './run-logs.js';

export interface AnsibleHost {
  name: string;
  address: string;
  port: number;
  user: string;
  /** The pinned host key, an OpenSSH public key line: "ssh-ed25519 AAAA... [comment]". */
  hostKey: string;
  /** Variables of this host alone (inventory host vars), e.g. the tenant a run creates there. */
  vars?: Record<string, unknown>;
}

export type { ResourceRef } from './run-logs.js';

export interface AnsibleRunRequest {
  playbook: string;
  hosts: AnsibleHost[];
  privateKey: string;
  extraVars: Record<string, unknown>;
  resource: ResourceRef;
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * The run may share one ansible-playbook process with other coalescable runs of the same playbook, key and
   * extra vars that arrive within a short window (see AnsibleCoalescer). Needs exactly one host; what differs
   * between runs goes in that host's `vars`. The result is this host's own outcome.
   */
  coalesce?: boolean;
}

export interface AnsibleHostResult {
  ok: number;
  changed: number;
  failed: number;
  unreachable: number;
  skipped: number;
  failedTask?: string;
  message?: string;
}

export type AnsibleOutcome = 'success' | 'failed' | 'unreachable' | 'timeout' | 'cancelled';

export interface AnsibleRunResult {
  playbook: string;
  result: AnsibleOutcome;
  hosts: Record<string, AnsibleHostResult>;
  changed: boolean;
  failedTask?: string;
  message?: string;
  exitCode: number | null;
  durationMs: number;
  logFile: string;
  startedAt: string;
}

/** A playbook name that is not a bare allowed name, or that no configured directory holds. */
export class InvalidPlaybookError extends Error {
  override name = 'InvalidPlaybookError';
}

/** A run request that cannot be run as given (bad host, resource reference or extra vars). */
export class InvalidRunRequestError extends Error {
  override name = 'InvalidRunRequestError';
}

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
const SSH_CONNECT_TIMEOUT_S = 10;
const MAX_FORKS = 20;
const CONTROL_PERSIST_S = 5;
const PLAYBOOK_NAME = /^[A-Za-z0-9_-]+$/;
const PATH_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/;
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const HOST_ADDRESS = /^(?:[A-Za-z0-9][A-Za-z0-9.-]{0,252}|[0-9A-Fa-f:.]+)$/;
const LOGIN_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) ([A-Za-z0-9+/]+={0,3})(?: [^\n\r]*)?$/;
const TEMPLATE_MARKERS = /\{\{|\{%|\{#/;
/** Host variable names a run may set: plain identifiers, never Ansible's own (ansible_host, ansible_user ...). */
const HOST_VAR_NAME = /^(?!ansible_)[a-z][a-z0-9_]{0,63}$/;

/**
 * The repository (or installed package) root: the nearest ancestor of this module holding package.json and
 * ansible/. Works from src/exec (tsx, vitest) and from dist/src/exec (compiled).
 */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'ansible'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package root with an ansible/ folder above ${from}`);
    dir = parent;
  }
}

export function defaultPlaybookDir(): string {
  return join(packageRoot(), 'ansible');
}

/** The bare name of a playbook ("create_user" for "create_user.yml"); throws InvalidPlaybookError. */
export function playbookBaseName(name: string): string {
  const base = name.endsWith('.yml') ? name.slice(0, -'.yml'.length) : name;
  if (!PLAYBOOK_NAME.test(base)) {
    throw new InvalidPlaybookError(
      `invalid playbook name ${JSON.stringify(name)}: use a bare name of letters, digits, "_" and "-", ` +
        'with or without ".yml" (no path, no leading dot)',
    );
  }
  return base;
}

/** Resolves a bare playbook name inside one of the directories; the real path must stay inside it. */
export function resolvePlaybookIn(dirs: string[], name: string): string {
  const base = playbookBaseName(name);
  for (const dir of dirs) {
    const candidate = join(dir, `${base}.yml`);
    if (!existsSync(candidate)) continue;
    const realDir = realpathSync(dir);
    const real = realpathSync(candidate);
    if (!real.startsWith(realDir + sep) || !statSync(real).isFile()) {
      throw new InvalidPlaybookError(`playbook ${JSON.stringify(name)} resolves outside ${dir}`);
    }
    return real;
  }
  throw new InvalidPlaybookError(`playbook ${JSON.stringify(name)} not found in ${dirs.join(', ')}`);
}

/** One known_hosts line per host from its pinned key: "[address]:port type base64" (port 22: bare address). */
export function renderKnownHosts(hosts: AnsibleHost[]): string {
  return hosts
    .map((host) => {
      const match = HOST_KEY.exec(host.hostKey.trim());
      if (!match) throw new InvalidRunRequestError(`host ${host.name}: pinned host key is not an OpenSSH public key line`);
      const pattern = host.port === 22 ? host.address : `[${host.address}]:${host.port}`;
      return `${pattern} ${match[1]} ${match[2]}\n`;
    })
    .join('');
}

/** The YAML inventory: every host under `all`, addressed by its name. */
export function renderInventory(hosts: AnsibleHost[], privateKeyFile: string): string {
  const entries: Record<string, Record<string, unknown>> = {};
  for (const host of hosts) {
    entries[host.name] = {
      ...(host.vars as Record<string, string | number> | undefined),
      ansible_host: host.address,
      ansible_port: host.port,
      ansible_user: host.user,
      ansible_ssh_private_key_file: privateKeyFile,
    };
  }
  return toYaml({ all: { hosts: entries } });
}

function validateHost(host: AnsibleHost): void {
  const bad = (what: string): never => {
    throw new InvalidRunRequestError(`host ${JSON.stringify(host.name)}: invalid ${what}`);
  };
  if (!HOST_NAME.test(host.name)) bad('name');
  if (!HOST_ADDRESS.test(host.address)) bad('address');
  if (!Number.isInteger(host.port) || host.port < 1 || host.port > 65535) bad('port');
  if (!LOGIN_NAME.test(host.user)) bad('user');
  if (!HOST_KEY.test(host.hostKey.trim())) bad('pinned host key');
  for (const name of Object.keys(host.vars ?? {})) if (!HOST_VAR_NAME.test(name)) bad(`variable name ${JSON.stringify(name)}`);
  assertNoTemplates(host.vars ?? {}, `hosts.${host.name}.vars`);
}

/** Strings reaching Ansible are Jinja templates: refuse template markers in extra and host vars rather than run them. */
function assertNoTemplates(value: unknown, path: string): void {
  if (typeof value === 'string') {
    if (TEMPLATE_MARKERS.test(value)) throw new InvalidRunRequestError(`${path} contains a template marker`);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => assertNoTemplates(item, `${path}[${i}]`));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      assertNoTemplates(key, `${path} key`);
      assertNoTemplates(item, `${path}.${key}`);
    }
  }
}

export function validateRunRequest(req: AnsibleRunRequest): void {
  const { kind, namespace, name } = req.resource;
  for (const segment of [kind, namespace, name]) {
    if (!PATH_SEGMENT.test(segment) || segment.includes('..')) {
      throw new InvalidRunRequestError(`invalid resource reference ${kind}/${namespace}/${name}`);
    }
  }
  if (req.hosts.length === 0) throw new InvalidRunRequestError('no hosts to run on');
  const names = new Set<string>();
  for (const host of req.hosts) {
    validateHost(host);
    if (names.has(host.name)) throw new InvalidRunRequestError(`duplicate host name ${host.name}`);
    names.add(host.name);
  }
  if (!req.privateKey.includes('PRIVATE KEY')) throw new InvalidRunRequestError('privateKey is not a PEM/OpenSSH private key');
  assertNoTemplates(req.extraVars, 'extra var extraVars');
}

// ---- run logs: see run-logs.ts (shared with the Terraform runner) -----------------------------------------------

export { listRunLogs, runLogName } from './run-logs.js';

// ---- results --------------------------------------------------------------------------------------------------

/** What the orion_summary callback writes. */
export interface RunSummary {
  version: number;
  hosts: Record<string, AnsibleHostResult & { rescued?: number; ignored?: number }>;
}

export function parseRunSummary(text: string): RunSummary | undefined {
  try {
    const parsed = JSON.parse(text) as RunSummary;
    return parsed && typeof parsed.hosts === 'object' && parsed.hosts !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Why a run ended before any stats (syntax error, bad inventory ...): Ansible's ERROR! block, or the last lines. */
export function stderrSummary(stderr: string): string | undefined {
  const lines = stderr
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim().length > 0 && !l.startsWith('[WARNING]') && !l.startsWith('#'));
  const error = lines.findIndex((l) => l.startsWith('ERROR!'));
  const picked = error >= 0 ? lines.slice(error, error + 8) : lines.slice(-5);
  const text = picked.join('\n');
  return text.length > 0 ? text.slice(0, 2000) : undefined;
}

export type RunOutcome = Pick<AnsibleRunResult, 'result' | 'hosts' | 'changed' | 'failedTask' | 'message'>;

/** SSH's host key warning is a screenful; say what happened in one line. */
export function condenseMessage(message: string): string {
  const text = message.replace(/\r/g, '').trim();
  if (!/Host key verification failed/i.test(text)) return text;
  const host = /Host key for (\S+) has changed/.exec(text)?.[1] ?? /No \S+ host key is known for (\S+)/.exec(text)?.[1];
  const fingerprint = /(SHA256:[A-Za-z0-9+/=]+)/.exec(text)?.[1];
  return (
    `Host key verification failed${host ? ` for ${host}` : ''}: the host key it offered` +
    `${fingerprint ? ` (${fingerprint})` : ''} does not match the pinned host key`
  );
}

function hostResults(summary: RunSummary | undefined): Record<string, AnsibleHostResult> {
  const hosts: Record<string, AnsibleHostResult> = {};
  for (const [name, h] of Object.entries(summary?.hosts ?? {})) {
    hosts[name] = {
      ok: h.ok,
      changed: h.changed,
      failed: h.failed,
      unreachable: h.unreachable,
      skipped: h.skipped,
      ...(h.failedTask !== undefined ? { failedTask: h.failedTask } : {}),
      ...(h.message !== undefined ? { message: condenseMessage(h.message) } : {}),
    };
  }
  return hosts;
}

/**
 * Maps the callback summary and the process result to the run's outcome: timeout and cancel first, then any
 * unreachable host, then any failed host; success needs both stats and a zero exit.
 */
export function outcomeOf(summary: RunSummary | undefined, proc: ProcessResult): RunOutcome {
  const hosts = hostResults(summary);
  const all = Object.values(hosts);
  const changed = all.some((h) => h.changed > 0);
  const entries = Object.entries(hosts);
  const [badName, bad] = entries.find(([, h]) => h.unreachable > 0) ?? entries.find(([, h]) => h.failed > 0) ?? [];
  const prefix = entries.length > 1 ? `${badName}: ` : '';
  const detail = bad ? { failedTask: bad.failedTask, message: bad.message && prefix + bad.message } : {};
  if (proc.timedOut) {
    return { result: 'timeout', hosts, changed, message: `ansible-playbook timed out after ${proc.durationMs} ms` };
  }
  if (proc.cancelled) return { result: 'cancelled', hosts, changed, message: 'ansible-playbook was cancelled' };
  if (all.some((h) => h.unreachable > 0)) return { result: 'unreachable', hosts, changed, ...detail };
  if (all.some((h) => h.failed > 0)) return { result: 'failed', hosts, changed, ...detail };
  if (summary && proc.exitCode === 0) return { result: 'success', hosts, changed };
  const message = stderrSummary(proc.stderr) ?? `ansible-playbook exited with ${proc.exitCode ?? 'a signal'}`;
  return { result: 'failed', hosts, changed, message };
}

// ---- the run --------------------------------------------------------------------------------------------------

interface RunFiles {
  dir: string;
  inventory: string;
  extraVars: string;
  summary: string;
  config: string;
}

async function writeRunFiles(dir: string, req: AnsibleRunRequest): Promise<RunFiles> {
  const keyFile = join(dir, 'id_key');
  const key = req.privateKey.endsWith('\n') ? req.privateKey : `${req.privateKey}\n`;
  await writeFile(keyFile, key, { mode: 0o600, flag: 'wx' });
  await writeFile(join(dir, 'known_hosts'), renderKnownHosts(req.hosts), { mode: 0o600 });
  const files: RunFiles = {
    dir,
    inventory: join(dir, 'inventory.yml'),
    extraVars: join(dir, 'extra_vars.json'),
    summary: join(dir, 'summary.json'),
    config: join(dir, 'ansible.cfg'),
  };
  await writeFile(files.inventory, renderInventory(req.hosts, keyFile), { mode: 0o600 });
  await writeFile(files.extraVars, JSON.stringify(req.extraVars), { mode: 0o600 });
  await writeFile(files.config, '# empty on purpose: Orion configures Ansible through the environment\n');
  await mkdir(join(dir, 'tmp'), { mode: 0o700 });
  await mkdir(join(dir, 'cp'), { mode: 0o700 });
  return files;
}

/** The SSH options: pinned host keys only, no user ssh config, no agent, key authentication only. */
export function sshArgs(knownHostsFile: string): string {
  return [
    '-F /dev/null',
    '-o StrictHostKeyChecking=yes',
    `-o UserKnownHostsFile="${knownHostsFile}"`,
    '-o GlobalKnownHostsFile=/dev/null',
    '-o UpdateHostKeys=no',
    '-o IdentitiesOnly=yes',
    '-o IdentityAgent=none',
    '-o BatchMode=yes',
    // One connection per host for the whole run (each new SSH handshake costs ~0.3-0.5 s here); the control
    // socket lives in the run directory, and a master outlives the run by at most ControlPersist.
    '-o ControlMaster=auto',
    `-o ControlPersist=${CONTROL_PERSIST_S}s`,
    '-o ServerAliveInterval=5',
    '-o ServerAliveCountMax=3',
  ].join(' ');
}

const PASSED_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'TMPDIR', 'TZ', 'PYTHONPATH', 'VIRTUAL_ENV'];

/** The whole environment of ansible-playbook: nothing from the user's Ansible config or ANSIBLE_* variables. */
export function ansibleEnv(files: RunFiles, hostCount: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of PASSED_ENV) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return {
    ...env,
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    // No __pycache__ beside the callback plugin in the source tree or an installed package.
    PYTHONDONTWRITEBYTECODE: '1',
    ANSIBLE_CONFIG: files.config,
    ANSIBLE_INVENTORY_ENABLED: 'yaml',
    ANSIBLE_RETRY_FILES_ENABLED: 'false',
    ANSIBLE_HOST_KEY_CHECKING: 'true',
    ANSIBLE_SSH_ARGS: sshArgs(join(files.dir, 'known_hosts')),
    ANSIBLE_SSH_CONTROL_PATH_DIR: join(files.dir, 'cp'),
    ANSIBLE_PIPELINING: 'true',
    ANSIBLE_TIMEOUT: String(SSH_CONNECT_TIMEOUT_S),
    ANSIBLE_FORKS: String(Math.max(1, Math.min(hostCount, MAX_FORKS))),
    ANSIBLE_GATHERING: 'explicit',
    ANSIBLE_LOCAL_TEMP: join(files.dir, 'tmp'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
    ANSIBLE_STDOUT_CALLBACK: 'default',
    ANSIBLE_CALLBACK_PLUGINS: join(packageRoot(), 'ansible', 'callback_plugins'),
    ANSIBLE_CALLBACKS_ENABLED: 'orion_summary',
    ORION_ANSIBLE_SUMMARY: files.summary,
  };
}

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
  private async execute(req: AnsibleRunRequest, resources: ResourceRef[]): Promise<Execution> {
    const playbookPath = this.resolvePlaybook(req.playbook);
    const playbook = playbookBaseName(req.playbook);
    validateRunRequest(req);
    const startedAt = new Date();
    const logFiles = resources.map((r) => join(resourceLogDir(this.runsDir, r), runLogName(startedAt, playbook)));
    const logFile = logFiles[0] as string;
    const log = this.logger.child({
      playbook,
      resource: resources.map((r) => `${r.kind}/${r.namespace}/${r.name}`).join(','),
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
        await pruneRunLogs(this.runsDir, resource, this.keepRuns).catch((err: unknown) => {
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

/**
 * One host's outcome in a run shared with other hosts, or undefined when the run does not tell it: its own
 * failure or unreachability is its result; success needs the whole run to have succeeded.
 */
export function hostOutcomeOf(summary: RunSummary | undefined, proc: ProcessResult, host: string): RunOutcome | undefined {
  if (proc.cancelled) return outcomeOf(undefined, proc);
  const own = summary?.hosts[host];
  const alone: RunSummary | undefined = summary && { ...summary, hosts: own ? { [host]: own } : {} };
  if (own && (own.failed > 0 || own.unreachable > 0) && !proc.timedOut) return outcomeOf(alone, proc);
  if (summary && proc.exitCode === 0 && !proc.timedOut) return outcomeOf(alone, proc);
  return undefined;
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
 * Creates the run's log before the process starts and links it into every member's folder, so that each
 * resource's log can be followed live, and records that the run started.
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
