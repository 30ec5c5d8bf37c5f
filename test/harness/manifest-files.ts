// Writing and removing manifest files in a folder-mode test bed's manifests folder (shared by the beds).
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** Writes the documents as one multi-document YAML file. */
export async function writeManifestFile(dir: string, file: string, docs: object[]): Promise<void> {
  await writeFile(join(dir, file), docs.map((d) => stringify(d)).join('---\n'));
}

export async function removeManifestFile(dir: string, file: string): Promise<void> {
  await rm(join(dir, file), { force: true });
}

/** An admin's RentalClass (cluster-scoped: no namespace); `isDefault` annotates it orion.lab/default-class: "true". */
export function rentalClassManifest(name: string, spec: Record<string, unknown> = {}, isDefault = false): object {
  return {
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'RentalClass',
    metadata: { name, ...(isDefault ? { annotations: { 'orion.lab/default-class': 'true' } } : {}) },
    spec,
  };
}

/** An admin's Hypervisor (cluster-scoped): `spec` is its type and connection, e.g. { type: 'libvirt', libvirt: { uri } }. */
export function hypervisorManifest(name: string, spec: Record<string, unknown>): object {
  return { apiVersion: 'orion.lab/v1alpha1', kind: 'Hypervisor', metadata: { name }, spec };
}

/**
 * An admin's MachineClass (cluster-scoped) on the named Hypervisor; `isDefault` annotates it orion.lab/default-class:
 * "true". `spec` holds its images (at least one), limits and playbooks.
 */
export function machineClassManifest(name: string, hypervisor: string, spec: Record<string, unknown>, isDefault = false): object {
  return {
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'MachineClass',
    metadata: { name, ...(isDefault ? { annotations: { 'orion.lab/default-class': 'true' } } : {}) },
    spec: { hypervisor, ...spec },
  };
}
