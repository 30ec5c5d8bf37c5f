// How a kind with machines (Lab, Desktop) looks to the machine pipeline: the Lab spec its machines are made from,
// the Secrets it names, what runs on its machines, and where its status records them. The pipeline does the rest
// the same way for both.
import type { CommonStatus, StatusChange, StatusPatch } from '../../src/api/status.js';
import type { DesktopResource, LabResource, RunSummary } from '../../src/api/types.js';
import type { MachineSpec } from './spec.js';
import type { StatusOf } from '../../src/store/status-writer.js';
import type { MachineStatus } from './machines.js';
import type { MachineOutput } from './module.js';
import type { MachineSecrets, SecretNeed } from './secrets.js';

export type MachineResource = LabResource | DesktopResource;

/** What runs on the machines. */
export interface Playbook {
  playbook: string;
  user: string;
  /** Its variables: a change runs it again. */
  vars: Record<string, unknown>;
  /** Variables that name the resource (never change for it): passed, not hashed. */
  identity: Record<string, string>;
}

export interface MachineView<R extends MachineResource> {
  /**
   * The resolved spec the resource's machines are made from (a Lab, or a Desktop's one machine, through its
   * MachineClass and Hypervisor). Given the public half of its SSH key when there is one (cloud-init may
   * authorize it); validation runs without. Throws (a TerminalError) when the resource's class refuses it.
   */
  machineSpec(obj: R, sshPublicKey?: string): MachineSpec;
  /** What its machines are destroyed with when machineSpec no longer resolves (its class is gone); default machineSpec. */
  destroySpec?(obj: R): MachineSpec;
  /** True when it names no SSH key of its own and Orion generates its key pair (generated-key.ts). */
  generatesKey?(obj: R): boolean;
  /** The Secrets it names, with the keys each must hold. */
  secretNeeds(obj: R): SecretNeed[];
  /** The playbook run on its machines, from its spec and secrets (the Lab spec's `ansible` says whether there is one). */
  playbook(obj: R, spec: MachineSpec, secrets: MachineSecrets): Playbook | undefined;
  /** Its machines, as its status records them. */
  machines(obj: R): MachineStatus[];
  /** The status fields that record these machines (and what follows from them: a Desktop's RDP endpoint). */
  recordMachines(obj: R, machines: MachineStatus[], outputs?: MachineOutput[]): StatusPatch<NonNullable<R['status']>>;
}

/** What the pipeline writes into either kind's status (the phases both kinds have, the fields both record). */
export interface MachineStatusFields extends CommonStatus {
  phase?: 'Provisioning' | 'Configuring' | 'Failed' | 'Deleting';
  appliedHash?: string;
  configuredHash?: string;
  lastTerraformRun?: RunSummary;
  lastAnsibleRun?: RunSummary;
  /** A Lab's only: the pipeline writes it when it checks drift. */
  lastDriftCheck?: string;
  [field: string]: unknown;
}

/** A change of the shared fields, as a change of the kind's own status. */
export function machineChange<R extends MachineResource>(change: StatusChange<MachineStatusFields>): StatusChange<StatusOf<R>> {
  return change as StatusChange<StatusOf<R>>;
}
