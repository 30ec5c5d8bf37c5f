// The machines of a Lab or a Desktop as their status records them: what Terraform's outputs said, merged with
// what Orion learned since (the pinned host key, the address from the leases, the power state), kept for as long
// as it is still the same machine.
import type { LabStatus } from '../../src/api/types.js';
import type { MachineOutput } from './module.js';

export type MachineStatus = NonNullable<LabStatus['machines']>[number];

/** Machines from the Terraform outputs, keeping what is known of the ones that are still the same machine. */
export function mergeMachines(previous: MachineStatus[] | undefined, outputs: MachineOutput[]): MachineStatus[] {
  return outputs.map((out) => {
    const before = previous?.find((m) => m.name === out.name && m.id === out.id && (m.mac ?? '') === out.mac && m.sshPort === out.sshPort);
    const machine: MachineStatus = { ...(before ?? {}), name: out.name, id: out.id };
    if (out.mac) machine.mac = out.mac;
    if (out.address) machine.address = out.address;
    if (out.sshPort) machine.sshPort = out.sshPort;
    if (!before) delete machine.hostKey;
    return machine;
  });
}

/**
 * Groups of machine names that answer at one address and SSH port: one machine behind two names. Clones of an image
 * that keeps its /etc/machine-id send one DHCP client id, and the network hands them one lease.
 */
export function sharedAddresses(machines: MachineStatus[], defaultPort: number): string[][] {
  const byEndpoint = new Map<string, string[]>();
  for (const m of machines) {
    if (!m.address) continue;
    const endpoint = `${m.address}:${m.sshPort ?? defaultPort}`;
    byEndpoint.set(endpoint, [...(byEndpoint.get(endpoint) ?? []), m.name]);
  }
  return [...byEndpoint.values()].filter((names) => names.length > 1);
}
