// Ansible on the machines of a Lab or a Desktop: once every machine runs and has an address, its host key is pinned
// (first contact) and the playbook runs with an inventory built from the machines. It runs again only when what it
// depends on — hosts, playbook, user, vars, key — changed (status.configuredHash). A failed run is a RetryLater, a
// request Ansible refuses (unsafe vars, a bad key) a TerminalError: the controller loop records either.
import { isConditionTrue } from '../../src/api/conditions.js';
import { refOf } from '../../src/api/refs.js';
import type { LabResource } from '../../src/api/types.js';
import { digestOf, sha256 } from '../../src/base/hash.js';
import type { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import { InvalidRunRequestError, type AnsibleHost } from '../../src/exec/ansible/types.js';
import { RetryLater, TerminalError } from '../../src/runtime/errors.js';
import type { StatusDraft } from '../../src/store/status-writer.js';
import { ansibleRunSummary, describeAnsibleRun } from '../run-summary.js';
import { scanHostKey } from './hostkeys.js';
import { sharedAddresses, type MachineStatus } from './machines.js';
import { machineChange, type MachineResource, type MachineView, type Playbook } from './view.js';

export const SSH_PORT = 22;

export interface ConfigureOptions {
  ansible: AnsibleRunner;
  privateKey: string;
  logDir: string;
  sshKeyscan?: string;
  pollMs: number;
  signal: AbortSignal;
}

/** What a playbook run depends on; the key itself only as a digest. */
export function configureHash(run: Playbook, machines: MachineStatus[], privateKey: string): string {
  const hosts = machines.map((m) => [m.name, m.id, m.address, ...(m.sshPort ? [m.sshPort] : [])]);
  return digestOf({ playbook: run.playbook, user: run.user, vars: run.vars, hosts, key: sha256(privateKey) });
}

/** Runs the playbook when it is due; returns how long to wait before looking again (machines not reachable yet). */
export async function configureMachines<R extends MachineResource>(
  draft: StatusDraft<R>,
  view: MachineView<R>,
  run: Playbook,
  opts: ConfigureOptions,
): Promise<{ waitMs?: number }> {
  const obj = draft.obj;
  const machines = view.machines(obj);
  const waiting = (reason: string, message: string): { waitMs: number } => {
    draft.set(machineChange({ phase: 'Configuring', conditions: [{ type: 'Configured', status: 'False', reason, message }] }));
    return { waitMs: opts.pollMs };
  };
  const noAddress = machines.filter((m) => !m.address).map((m) => m.name);
  if (noAddress.length > 0) return waiting('WaitingForAddress', `no address yet for ${noAddress.join(', ')}`);
  refuseSharedAddresses(machines);
  const hash = configureHash(run, machines, opts.privateKey);
  if (obj.status?.configuredHash === hash && isConditionTrue(obj.status.conditions, 'Configured')) return {};

  const pinned = await pinHostKeys(machines, opts);
  const unpinned = pinned.filter((m) => !m.hostKey).map((m) => m.name);
  if (unpinned.length > 0) return waiting('WaitingForSSH', `SSH does not answer yet on ${unpinned.join(', ')}`);
  // Pinned keys are kept; after a failure the status keeps telling it until a run succeeds.
  const fields = view.recordMachines(obj, pinned);
  if (obj.status?.phase === 'Failed') draft.set({ fields });
  else draft.set({ ...machineChange({ phase: 'Configuring', conditions: [{ type: 'Configured', status: 'False', reason: 'Running', message: `running playbook ${run.playbook}` }] }), fields });
  await draft.flush(); // the run takes a while: let it show

  const result = await runPlaybook(draft.obj, pinned, run, opts);
  const summary = ansibleRunSummary(result);
  if (result.result !== 'success') {
    throw new RetryLater('PlaybookFailed', describeAnsibleRun(result), { phase: 'Failed', condition: 'Configured', fields: { lastAnsibleRun: summary } });
  }
  draft.set(machineChange({
    phase: 'Configuring',
    conditions: [{ type: 'Configured', status: 'True', reason: 'PlaybookSucceeded', message: `${result.playbook} ran on ${pinned.length} machine(s)` }],
    fields: { configuredHash: hash, lastAnsibleRun: summary },
  }));
  return {};
}

/** Two names for one machine: the playbook would run twice on it and never on the other. Retried: leases change. */
function refuseSharedAddresses(machines: MachineStatus[]): void {
  const shared = sharedAddresses(machines, SSH_PORT);
  if (shared.length === 0) return;
  const which = shared.map((names) => `${names.join(' and ')} (${machines.find((m) => m.name === names[0])?.address ?? ''})`).join('; ');
  throw new RetryLater('AddressConflict', `machines answer at one address: ${which}. Clones of an image that keeps its /etc/machine-id get one DHCP lease; an image with an empty /etc/machine-id gives each its own`, { phase: 'Failed', condition: 'Configured' });
}

async function runPlaybook(obj: MachineResource, machines: MachineStatus[], run: Playbook, opts: ConfigureOptions) {
  const hosts: AnsibleHost[] = machines.map((m) => ({ name: m.name, address: m.address ?? '', port: m.sshPort ?? SSH_PORT, user: run.user, hostKey: m.hostKey ?? '' }));
  try {
    return await opts.ansible.run({
      playbook: run.playbook,
      hosts,
      privateKey: opts.privateKey,
      extraVars: { ...run.vars, ...run.identity },
      resource: refOf(obj as LabResource),
      signal: opts.signal,
    });
  } catch (err) {
    if (!(err instanceof InvalidRunRequestError)) throw err;
    throw new TerminalError(err.message, 'InvalidRunRequest', { phase: 'Failed', condition: 'Configured' });
  }
}

/** Machines with their host key: the pinned one, or the one the machine offers now (first contact). */
async function pinHostKeys(machines: MachineStatus[], opts: ConfigureOptions): Promise<MachineStatus[]> {
  return Promise.all(
    machines.map(async (m) => {
      if (m.hostKey || !m.address) return m;
      const key = await scanHostKey(m.address, m.sshPort ?? SSH_PORT, { sshKeyscan: opts.sshKeyscan, logDir: opts.logDir, signal: opts.signal });
      return key ? { ...m, hostKey: key } : m;
    }),
  );
}
