// TypeScript types derived from the JSON Schemas: the schemas are the single source of truth.
import type { FromSchema } from 'json-schema-to-ts';
import type { nodeSpecSchema, nodeStatusSchema } from './schemas/node.js';
import type { rentalSpecSchema, rentalStatusSchema } from './schemas/rental.js';
import type { labSpecSchema, labStatusSchema } from './schemas/lab.js';
import type { desktopSpecSchema, desktopStatusSchema } from './schemas/desktop.js';
import type { playbookRunSpecSchema, playbookRunStatusSchema } from './schemas/playbookrun.js';
import type { rentalClassSpecSchema } from './schemas/rentalclass.js';
import type { machineClassSpecSchema } from './schemas/machineclass.js';
import type { hypervisorSpecSchema } from './schemas/hypervisor.js';
import type { conditionSchema, runSummarySchema } from './schemas/common.js';

export type KindName = 'Node' | 'Rental' | 'Lab' | 'Desktop' | 'PlaybookRun' | 'RentalClass' | 'MachineClass' | 'Hypervisor';

export type Condition = FromSchema<typeof conditionSchema>;
export type RunSummary = FromSchema<typeof runSummarySchema>;
export type NodeSpec = FromSchema<typeof nodeSpecSchema>;
export type NodeStatus = FromSchema<typeof nodeStatusSchema>;
export type RentalSpec = FromSchema<typeof rentalSpecSchema>;
export type RentalStatus = FromSchema<typeof rentalStatusSchema>;
export type LabSpec = FromSchema<typeof labSpecSchema>;
export type LabStatus = FromSchema<typeof labStatusSchema>;
export type DesktopSpec = FromSchema<typeof desktopSpecSchema>;
export type DesktopStatus = FromSchema<typeof desktopStatusSchema>;
export type PlaybookRunSpec = FromSchema<typeof playbookRunSpecSchema>;
export type PlaybookRunStatus = FromSchema<typeof playbookRunStatusSchema>;
export type RentalClassSpec = FromSchema<typeof rentalClassSpecSchema>;
export type MachineClassSpec = FromSchema<typeof machineClassSpecSchema>;
export type HypervisorSpec = FromSchema<typeof hypervisorSpecSchema>;

export interface ObjectMeta {
  name: string;
  /** '' for a cluster-scoped kind. */
  namespace: string;
  uid: string;
  generation: number;
  resourceVersion: string;
  creationTimestamp: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

export interface Resource<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: KindName;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

export type NodeResource = Resource<NodeSpec, NodeStatus>;
export type RentalResource = Resource<RentalSpec, RentalStatus>;
export type LabResource = Resource<LabSpec, LabStatus>;
export type DesktopResource = Resource<DesktopSpec, DesktopStatus>;
export type PlaybookRunResource = Resource<PlaybookRunSpec, PlaybookRunStatus>;
/** Cluster-scoped: metadata.namespace is ''. */
export type RentalClassResource = Resource<RentalClassSpec, never>;
export type MachineClassResource = Resource<MachineClassSpec, never>;
export type HypervisorResource = Resource<HypervisorSpec, never>;
