// Keeps a Lab's machines in the power state it asks for, through a PowerDriver, without ever waiting inside a
// reconcile: it looks, asks for what is missing (start; ACPI shutdown, then power-off once the grace has passed;
// a restart when the orion.lab/restartedAt annotation moved), looks again, and says whether all is settled.
import type { LabResource } from '../../src/api/types.js';
import type { MachineObservation, PowerDriver } from './power.js';
import type { MachineStatus } from './machines.js';

export const RESTARTED_AT_ANNOTATION = 'orion.lab/restartedAt';

export interface PowerOutcome {
  machines: MachineStatus[];
  /** Every machine that exists is in the wanted state. */
  settled: boolean;
  /** Machines Terraform created that the hypervisor does not know any more (drift). */
  missing: string[];
  /** The annotation value a restart was done for (to record as status.restartedAt). */
  restartedAt?: string;
}

/** The restart the Lab asks for, if it has not been done yet. */
export function pendingRestart(lab: LabResource): string | undefined {
  const wanted = lab.metadata.annotations?.[RESTARTED_AT_ANNOTATION];
  return wanted && wanted !== lab.status?.restartedAt ? wanted : undefined;
}

export class PowerKeeper {
  /** `<lab key>/<machine id>` → when its ACPI shutdown was asked for. */
  private readonly shutdownAskedAt = new Map<string, number>();

  constructor(private readonly graceMs: number) {}

  forget(key: string): void {
    for (const k of [...this.shutdownAskedAt.keys()]) if (k.startsWith(`${key}/`)) this.shutdownAskedAt.delete(k);
  }

  async reconcile(key: string, lab: LabResource, driver: PowerDriver, signal: AbortSignal): Promise<PowerOutcome> {
    const machines = lab.status?.machines ?? [];
    const ids = machines.map((m) => m.id).filter((id): id is string => Boolean(id));
    if (ids.length === 0) return { machines, settled: true, missing: [] };
    const wantStopped = (lab.spec.powerState ?? 'Running') === 'Stopped';
    const restart = pendingRestart(lab);
    let seen = await driver.observe(ids, signal);
    let acted = false;
    for (const id of ids) {
      acted = (await this.drive({ memoKey: `${key}/${id}`, id, state: seen.get(id)?.state }, { wantStopped, restart }, driver, signal)) || acted;
    }
    if (acted) seen = await driver.observe(ids, signal);
    const missing = ids.filter((id) => seen.get(id)?.state === 'missing');
    const wanted = wantStopped ? 'stopped' : 'running';
    const settled = ids.every((id) => [wanted, 'missing'].includes(seen.get(id)?.state ?? 'missing'));
    return { machines: machines.map((m) => observed(m, m.id ? seen.get(m.id) : undefined)), settled, missing, ...(restart ? { restartedAt: restart } : {}) };
  }

  /** One machine's next step; whether anything was asked of the hypervisor. */
  private async drive(
    { memoKey, id, state }: { memoKey: string; id: string; state: string | undefined },
    want: { wantStopped: boolean; restart?: string },
    driver: PowerDriver,
    signal: AbortSignal,
  ): Promise<boolean> {
    if (state !== 'running') this.shutdownAskedAt.delete(memoKey);
    if (want.wantStopped) return state === 'running' ? this.stop(memoKey, id, driver, signal) : false;
    if (state === 'stopped') await driver.act(id, 'start', signal);
    else if (state === 'running' && want.restart) await driver.act(id, 'restart', signal);
    else return false;
    return true;
  }

  /** ACPI shutdown first; a power-off when the guest has not gone down within the grace. */
  private async stop(memoKey: string, id: string, driver: PowerDriver, signal: AbortSignal): Promise<boolean> {
    const askedAt = this.shutdownAskedAt.get(memoKey);
    if (askedAt === undefined) {
      await driver.act(id, 'shutdown', signal);
      this.shutdownAskedAt.set(memoKey, Date.now());
      return true;
    }
    if (Date.now() - askedAt < this.graceMs) return false;
    await driver.act(id, 'poweroff', signal);
    this.shutdownAskedAt.delete(memoKey);
    return true;
  }
}

function observed(machine: MachineStatus, seen: MachineObservation | undefined): MachineStatus {
  const next: MachineStatus = { ...machine, state: seen?.detail ?? 'unknown' };
  if (seen?.address) next.address = seen.address;
  if (seen?.vncPort !== undefined) next.vncPort = seen.vncPort;
  else delete next.vncPort;
  return next;
}
