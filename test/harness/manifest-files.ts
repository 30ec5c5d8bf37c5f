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
