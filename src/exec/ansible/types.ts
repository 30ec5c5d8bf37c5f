// What a run of a playbook is asked and what it answers, shared by the runner, the coalescer and the controllers.
import type { ObjectRef } from '../../api/refs.js';

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

export interface AnsibleRunRequest {
  playbook: string;
  hosts: AnsibleHost[];
  privateKey: string;
  extraVars: Record<string, unknown>;
  /** The object the run works for: its run log is filed under it (`orion logs KIND/NAME`). */
  resource: ObjectRef;
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

