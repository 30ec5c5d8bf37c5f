// The shapes the portal sends (its OpenAPI document has them in full); only what the app reads.
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface Metadata {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Resource<S = object, T = object> {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
  spec: S;
  status?: T & { phase?: string; conditions?: Condition[] };
}

export type Kind = 'nodes' | 'rentals' | 'desktops' | 'labs' | 'playbookruns';

export interface RentalSpec { user: string; ttlSeconds?: number; sshPublicKeys: string[] }
export interface RentalStatus { nodeName?: string; connection?: { host: string; port: number; user: string }; readyAt?: string }
export interface NodeSpec { address: string; port: number; unschedulable?: boolean }
export interface NodeStatus {
  health?: 'Alive' | 'Dead' | 'Unknown';
  lastProbeTime?: string;
  lastError?: string;
  consecutiveFailures?: number;
  allocation?: { rental?: string };
  cleanup?: Array<{ user: string }>;
  hostKey?: { fingerprint?: string };
}
export interface DesktopSpec { user: string; ttlSeconds: number; idleTimeoutSeconds?: number; warningSeconds?: number }
export interface DesktopStatus { expiresAt?: string; idleSince?: string; rdp?: { host: string; port: number; user: string } }
export interface LabMachineStatus { name: string; id?: string; address?: string; state?: string; sshPort?: number; vncPort?: number }
export interface LabSpec { className?: string; machines: Array<{ name: string; count?: number; cpu?: number; memoryMiB?: number; diskGiB?: number; image?: string }>; powerState?: string; ansible?: { playbook: string } }
export interface LabStatus { machines?: LabMachineStatus[] }
export interface JobSpec { playbook: string; nodes: string[] }
export interface JobStatus { startedAt?: string; endedAt?: string }

export const OWNER = 'orion.lab/owner';

export function ownerOf(obj: Resource<object, object>): string {
  return obj.metadata.annotations?.[OWNER] ?? '';
}

export function keyOf(obj: { metadata: { namespace: string; name: string } }): string {
  return `${obj.metadata.namespace}/${obj.metadata.name}`;
}
