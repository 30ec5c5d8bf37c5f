// Ansible for a Lab: once every machine runs and has an address, its host key is pinned (first contact) and the
// Lab's playbook runs with an inventory built from the machines. It runs again only when what it depends on —
// hosts, playbook, user, vars, key — changed (status.configuredHash).
import { isConditionTrue } from '../../src/api/conditions.js';
import { refOf } from '../../src/api/refs.js';
import type { LabResource } from '../../src/api/types.js';
import { digestOf, sha256 } from '../../src/base/hash.js';
import type { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import type { AnsibleHost } from '../../src/exec/ansible/types.js';
import type { Store } from '../../src/store/store.js';
import { scanHostKey } from '../machine/hostkeys.js';
import { labStatus, writeFailure, type MachineStatus } from './status.js';
import { ansibleRunSummary, describeAnsibleRun } from '../run-summary.js';

export interface LabSecrets {
  privateKey?: string;
  sshPublicKey?: string;
  proxmoxToken?: { id: string; secret: string };
  ca?: string;
}

export interface ConfigureOptions {
  ansible: AnsibleRunner;
  secrets: LabSecrets;
  logDir: string;
  sshKeyscan?: string;
  pollMs: number;
  signal: AbortSignal;
}

const SSH_PORT = 22;

/** What a playbook run depends on; the key itself only as a digest. */
export function configureHash(lab: LabResource, machines: MachineStatus[], privateKey: string | undefined): string {
  const ansible = lab.spec.ansible;
  const inputs = {
    playbook: ansible?.playbook,
    user: ansible?.user ?? 'root',
    vars: ansible?.vars ?? {},
    hosts: machines.map((m) => [m.name, m.id, m.address]),
    key: sha256(privateKey ?? ''),
  };
  return digestOf(inputs);
}

type Result = { lab: LabResource; waitMs?: number };

export async function configureLab(store: Store, lab: LabResource, opts: ConfigureOptions): Promise<Result> {
  const ansible = lab.spec.ansible;
  if (!ansible || (lab.spec.powerState ?? 'Running') === 'Stopped') return { lab };
  const machines = lab.status?.machines ?? [];
  const waiting = (reason: string, message: string): Promise<Result> => wait(store, lab, reason, message, opts.pollMs);
  const noAddress = machines.filter((m) => !m.address).map((m) => m.name);
  if (noAddress.length > 0) return waiting('WaitingForAddress', `no address yet for ${noAddress.join(', ')}`);
  const hash = configureHash(lab, machines, opts.secrets.privateKey);
  if (lab.status?.configuredHash === hash && isConditionTrue(lab.status.conditions, 'Configured')) return { lab };

  const pinned = await pinHostKeys(machines, opts);
  const unpinned = pinned.filter((m) => !m.hostKey).map((m) => m.name);
  if (unpinned.length > 0) return waiting('WaitingForSSH', `SSH does not answer yet on ${unpinned.join(', ')}`);
  return { lab: await runPlaybook(store, lab, pinned, hash, opts) };
}

/** Runs the Lab's playbook on the machines (host keys pinned) and records the outcome. */
async function runPlaybook(store: Store, lab: LabResource, machines: MachineStatus[], hash: string, opts: ConfigureOptions): Promise<LabResource> {
  const ansible = lab.spec.ansible as NonNullable<LabResource['spec']['ansible']>;
  const user = ansible.user ?? 'root';
  // Pinned keys are kept; after a failure the status keeps telling it until a run succeeds.
  const failed = lab.status?.phase === 'Failed';
  const running = failed ? [] : [{ type: 'Configured', status: 'False' as const, reason: 'Running', message: `running playbook ${ansible.playbook}` }];
  lab = await store.updateStatus(lab, labStatus(lab, failed ? 'Failed' : 'Configuring', running, { machines }));

  const hosts: AnsibleHost[] = machines.map((m) => ({ name: m.name, address: m.address ?? '', port: SSH_PORT, user, hostKey: m.hostKey ?? '' }));
  const result = await opts.ansible.run({
    playbook: ansible.playbook,
    hosts,
    privateKey: opts.secrets.privateKey ?? '',
    extraVars: { ...(ansible.vars ?? {}), orion_lab: lab.metadata.name },
    resource: refOf(lab),
    signal: opts.signal,
  });
  const summary = ansibleRunSummary(result);
  if (result.result !== 'success') {
    const message = describeAnsibleRun(result);
    await writeFailure(store, lab, labStatus(lab, 'Failed', [
      { type: 'Configured', status: 'False', reason: 'PlaybookFailed', message },
      { type: 'Ready', status: 'False', reason: 'PlaybookFailed', message },
    ], { lastAnsibleRun: summary }));
    throw new Error(`${result.playbook}: ${message}`);
  }
  return store.updateStatus(lab, labStatus(lab, 'Configuring', [
    { type: 'Configured', status: 'True', reason: 'PlaybookSucceeded', message: `${result.playbook} ran on ${hosts.length} machine(s)` },
  ], { configuredHash: hash, lastAnsibleRun: summary }));
}

async function wait(store: Store, lab: LabResource, reason: string, message: string, pollMs: number): Promise<Result> {
  lab = await store.updateStatus(lab, labStatus(lab, 'Configuring', [{ type: 'Configured', status: 'False', reason, message }]));
  return { lab, waitMs: pollMs };
}

/** Machines with their host key: the pinned one, or the one the machine offers now (first contact). */
async function pinHostKeys(machines: MachineStatus[], opts: ConfigureOptions): Promise<MachineStatus[]> {
  return Promise.all(
    machines.map(async (m) => {
      if (m.hostKey || !m.address) return m;
      const key = await scanHostKey(m.address, SSH_PORT, { sshKeyscan: opts.sshKeyscan, logDir: opts.logDir, signal: opts.signal });
      return key ? { ...m, hostKey: key } : m;
    }),
  );
}


