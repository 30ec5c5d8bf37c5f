// A run as a job, the way every part of Orion speaks of it: each Ansible and Terraform run has an id, the object it
// ran for, a state (PENDING, RUNNING, SUCCESS, ERROR), its times and a log. Kept by src/exec (run-logs.ts,
// run-catalog.ts), read by the portal.
import type { ObjectRef } from './refs.js';

/** The life of every run, as the seeds' jobs have it. PENDING belongs to an object whose run has not started. */
export type RunState = 'PENDING' | 'RUNNING' | 'SUCCESS' | 'ERROR';

export interface RunInfo {
  id: string;
  resource: ObjectRef;
  /** The playbook or Terraform operation. */
  what: string;
  state: RunState;
  startedAt: string;
  endedAt?: string;
  result?: string;
  message?: string;
  /** The log file. */
  file: string;
}

/** Where runs are found: by object (oldest first) and by id. */
export interface RunReader {
  list(ref: ObjectRef): Promise<RunInfo[]>;
  get(id: string): Promise<RunInfo | undefined>;
}
