// How the result of an Ansible run is told in a resource's status: a short summary and one line.
import type { RunSummary } from '../src/api/types.js';
import type { AnsibleRunResult } from '../src/exec/ansible/types.js';

/** The `lastRun` / `lastAnsibleRun` summary of a status (the message bounded). */
export function ansibleRunSummary(result: AnsibleRunResult): RunSummary {
  return {
    op: result.playbook,
    result: result.result,
    startedAt: result.startedAt,
    durationMs: Math.round(result.durationMs),
    ...(result.failedTask ? { failedTask: result.failedTask } : {}),
    ...(result.message ? { message: result.message.slice(0, 1000) } : {}),
    logFile: result.logFile,
  };
}

/** One line for a condition message: the outcome, the failed task and Ansible's message. */
export function describeAnsibleRun(result: AnsibleRunResult): string {
  const task = result.failedTask ? `task "${result.failedTask}": ` : '';
  return `${result.result}: ${task}${result.message ?? `exit code ${result.exitCode}`}`;
}
