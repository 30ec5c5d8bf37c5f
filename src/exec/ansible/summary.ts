// The outcome of a run: the orion_summary callback's per-host stats (ansible/callback_plugins/orion_summary.py)
// and the process result, read into one answer per run, or per host when several runs shared one process.
import type { ProcessResult } from '../process.js';
import type { AnsibleHostResult, AnsibleRunResult } from './types.js';

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
