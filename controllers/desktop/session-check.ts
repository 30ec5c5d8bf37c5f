// Whether a Ready desktop is in use, looked at over SSH once per idle-check interval: the sessions the machine
// sees (sessions.ts), told by the InUse condition and the idle clock (idleSince, lastActivityAt). A check that
// fails says InUse Unknown, which suspends the idle clock: a desktop in use is never destroyed on a guess.
import type { ConditionInput } from '../../src/api/conditions.js';
import { refKey, refOf } from '../../src/api/refs.js';
import type { DesktopResource } from '../../src/api/types.js';
import { KeptSshConnections } from '../../src/exec/ssh-command.js';
import type { StatusDraft } from '../../src/store/status-writer.js';
import type { Logger } from '../../src/telemetry/logger.js';
import { afterIdleCheck } from './lifetime.js';
import { SESSIONS_COMMAND, describeSessions, parseSessions, type Sessions } from './sessions.js';

export interface SessionCheckOptions {
  /** The machine's administrative login. */
  adminUser: string;
  /** Time between two looks at a desktop's sessions. */
  intervalMs: number;
  sshTimeoutMs?: number;
}

export class SessionCheck {
  private readonly lastCheck = new Map<string, number>();
  /** One SSH login per Ready desktop for its checks, not one per check (src/exec/ssh-command.ts says why). */
  private readonly logins = new KeptSshConnections();

  constructor(private readonly options: SessionCheckOptions) {}

  /** When the next check of a Ready desktop is due (ms from now). */
  dueInMs(desktop: DesktopResource, now = Date.now()): number {
    const last = this.lastCheck.get(refKey(refOf(desktop))) ?? now;
    return last + this.options.intervalMs - now;
  }

  forget(key: string): void {
    this.lastCheck.delete(key);
    this.logins.close(key);
  }

  closeAll(): void {
    this.logins.closeAll();
  }

  /** Looks at the sessions when a check is due; the draft records what was seen. */
  async check(draft: StatusDraft<DesktopResource>, privateKey: string, log: Logger): Promise<void> {
    const desktop = draft.obj;
    const key = refKey(refOf(desktop));
    const machine = desktop.status?.machine;
    if (desktop.status?.phase !== 'Ready' || !machine?.address || !machine.hostKey) return;
    const last = this.lastCheck.get(key);
    if (last !== undefined && Date.now() - last < this.options.intervalMs) return;
    this.lastCheck.set(key, Date.now());
    let sessions: Sessions;
    try {
      sessions = await this.sessionsOn(key, { address: machine.address, port: machine.sshPort ?? 22, hostKey: machine.hostKey }, privateKey);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'session check failed');
      draft.set({ conditions: [{ type: 'InUse', status: 'Unknown', reason: 'CheckFailed', message: `cannot check the sessions: ${(err as Error).message}` }] });
      return;
    }
    const idle = afterIdleCheck(desktop.status ?? {}, sessions.count, new Date());
    const condition: ConditionInput = sessions.count > 0
      ? { type: 'InUse', status: 'True', reason: 'SessionActive', message: describeSessions(sessions) }
      : { type: 'InUse', status: 'False', reason: 'NoSession', message: `no session since ${idle.idleSince}` };
    draft.set({ conditions: [condition], fields: { idleSince: idle.idleSince, idleWarnedAt: idle.idleWarnedAt, lastActivityAt: idle.lastActivityAt, sessions: idle.sessions } });
  }

  private async sessionsOn(key: string, machine: { address: string; port: number; hostKey: string }, privateKey: string): Promise<Sessions> {
    const run = await this.logins.run(key, {
      address: machine.address,
      port: machine.port,
      user: this.options.adminUser,
      privateKey,
      pinnedHostKey: machine.hostKey,
      timeoutMs: this.options.sshTimeoutMs ?? 10_000,
    }, SESSIONS_COMMAND);
    if (run.exitCode !== 0) throw new Error(`the session check exited with code ${run.exitCode}: ${run.stderr.trim().slice(0, 200)}`);
    return parseSessions(run.stdout);
  }
}
