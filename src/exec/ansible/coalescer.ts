// Group commit for Ansible: single-host runs of the same playbook (create_user, delete_user on many nodes) that
// arrive within a short window share one ansible-playbook process, each host with its own vars. Starting
// ansible-playbook costs about a second of Python CPU whatever it does, so a thousand tenants created one
// process each cannot keep up on a small machine; one process for fifty hosts costs little more than for one.
//
// Runs are grouped by everything the process shares (playbook, private key, extra vars, timeout). When no
// process is running, a group starts at the end of the current event-loop turn: waiting would only add latency,
// since nothing else is using the machine (runs submitted in the same turn still share it). Otherwise a group is
// started when its oldest run has waited the window or it is full, and while a bounded number of processes run,
// new runs wait and the next group grows. A member whose result the shared run could not
// tell (the run failed, but not on its host) is queued again to run alone.
import { sha256 } from '../../base/hash.js';
import type { AnsibleRunRequest, AnsibleRunResult } from './types.js';

export interface CoalescingOptions {
  /** How long the first run of a group waits for others (ms). */
  windowMs: number;
  /** Most hosts in one ansible-playbook process. */
  maxHosts: number;
  /** Most ansible-playbook processes this coalescer runs at once. */
  maxProcesses: number;
}

export const DEFAULT_COALESCING: CoalescingOptions = { windowMs: 250, maxHosts: 100, maxProcesses: 2 };

/** Runs the members in one process; undefined for a member means "not told: run it again alone". */
export type RunTogether = (members: AnsibleRunRequest[]) => Promise<Array<AnsibleRunResult | undefined>>;

interface Waiting {
  req: AnsibleRunRequest;
  since: number;
  alone: boolean;
  resolve: (result: AnsibleRunResult) => void;
  reject: (err: unknown) => void;
}

export class AnsibleCoalescer {
  private readonly options: CoalescingOptions;
  private readonly groups = new Map<string, Waiting[]>();
  private running = 0;
  private timer?: NodeJS.Timeout;
  private idleStart?: NodeJS.Immediate;

  constructor(
    private readonly runTogether: RunTogether,
    options: Partial<CoalescingOptions> = {},
  ) {
    this.options = { ...DEFAULT_COALESCING, ...options };
  }

  submit(req: AnsibleRunRequest): Promise<AnsibleRunResult> {
    return new Promise((resolve, reject) => this.enqueue({ req, since: Date.now(), alone: false, resolve, reject }));
  }

  private enqueue(waiting: Waiting): void {
    const key = waiting.alone ? `alone:${Math.random()}` : groupKey(waiting.req);
    const group = this.groups.get(key) ?? [];
    group.push(waiting);
    this.groups.set(key, group);
    if (this.running === 0) this.idleStart ??= setImmediate(() => this.startIdle());
    this.dispatch();
  }

  /** Nothing runs: start the waiting groups now, oldest first, instead of letting them wait the window for company. */
  private startIdle(): void {
    this.idleStart = undefined;
    if (this.running > 0) return;
    const oldestFirst = [...this.groups.entries()].sort(([, a], [, b]) => (a[0]?.since ?? Infinity) - (b[0]?.since ?? Infinity));
    for (const [key] of oldestFirst.slice(0, this.options.maxProcesses)) this.start(key);
    this.dispatch();
  }

  /** Starts every group that is due while process slots are free; otherwise wakes up when the next is due. */
  private dispatch(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.running < this.options.maxProcesses) {
      const due = this.nextDue();
      if (!due) break;
      this.start(due);
    }
    if (this.running >= this.options.maxProcesses) return; // a finishing process dispatches again
    const oldest = Math.min(...[...this.groups.values()].map((g) => g[0]?.since ?? Infinity));
    if (Number.isFinite(oldest)) this.timer = setTimeout(() => this.dispatch(), Math.max(0, oldest + this.options.windowMs - Date.now()));
  }

  /** The group whose oldest run has waited longest, if it is full or its window has passed. */
  private nextDue(): string | undefined {
    const now = Date.now();
    let best: { key: string; since: number } | undefined;
    for (const [key, group] of this.groups) {
      const since = group[0]?.since ?? Infinity;
      const full = group.length >= this.options.maxHosts && new Set(group.map(hostOf)).size >= this.options.maxHosts;
      const due = full || group[0]?.alone || now - since >= this.options.windowMs;
      if (due && (!best || since < best.since)) best = { key, since };
    }
    return best?.key;
  }

  /** Takes up to maxHosts runs of the group, one per host name (a second run on a host waits for the next). */
  private start(key: string): void {
    const group = this.groups.get(key) ?? [];
    const members: Waiting[] = [];
    const rest: Waiting[] = [];
    const hosts = new Set<string>();
    for (const waiting of group) {
      const host = hostOf(waiting);
      if (members.length < this.options.maxHosts && !hosts.has(host)) {
        hosts.add(host);
        members.push(waiting);
      } else {
        rest.push(waiting);
      }
    }
    if (rest.length > 0) this.groups.set(key, rest);
    else this.groups.delete(key);
    this.running += 1;
    void this.runTogether(members.map((m) => m.req))
      .then(
        (results) =>
          members.forEach((member, i) => {
            const result = results[i];
            if (result) member.resolve(result);
            else this.enqueue({ ...member, since: Date.now(), alone: true });
          }),
        (err: unknown) => members.forEach((member) => member.reject(err)),
      )
      .finally(() => {
        this.running -= 1;
        this.dispatch();
      });
  }
}

function hostOf(waiting: Waiting): string {
  return waiting.req.hosts[0]?.name ?? '';
}

/** What runs sharing a process must have in common. */
function groupKey(req: AnsibleRunRequest): string {
  const shared = { playbook: req.playbook, privateKey: req.privateKey, extraVars: req.extraVars, timeoutMs: req.timeoutMs ?? null };
  return sha256(JSON.stringify(shared));
}
