// What a Lab or a Desktop becomes for OpenTofu/Terraform: the root module and the files written into its
// workspace, and the hash that says whether there is anything to apply. The one renderer of the machine pipeline
// and of `orion render`, so that what a user previews is byte for byte what Orion applies. Pure but for reading the
// module folder (its content hash is part of the root module). Every value of the module and provider blocks reaches
// Terraform as a variable's value in terraform.tfvars.json, never as a template in main.tf.json (variables.ts).
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MachineSpec } from './spec.js';
import { packageRoot } from '../../src/base/package-root.js';
import type { RootModule } from '../../src/exec/terraform/workspace.js';
import { LIBVIRT_MODULE, PROXMOX_MODULE, renderLabModule, type ImageSource, type LabModuleInput } from './module.js';
import { withVariables } from './variables.js';

/** How the root module is made from its input (tests swap the machine module for a stand-in). */
export type ModuleRenderer = (input: LabModuleInput) => Record<string, unknown>;

export interface MachineModuleInput {
  namespace: string;
  name: string;
  spec: MachineSpec;
  /** From validation: how each libvirt machine's image reaches the module. */
  images: Record<string, ImageSource>;
  /** Content hash of the Terraform module folder (readModuleFolder()). */
  moduleHash: string;
  /** The public half of the resource's SSH key, where cloud-init needs it (not a secret). */
  sshPublicKey?: string;
}

export interface RenderedModule {
  /** The root module and its variables' values, as written into the workspace. */
  module: RootModule;
  /** The files written into the workspace for it, by name: main.tf.json and terraform.tfvars.json. */
  files: Record<string, string>;
  /** sha256 of what is applied (both files): equal hashes, nothing to apply. */
  hash: string;
}

export function defaultModulesDir(): string {
  return join(packageRoot(), 'terraform');
}

/** The Terraform module folder (under the modules folder) that makes the spec's machines. */
export function moduleFolderOf(spec: MachineSpec): string {
  return spec.provider.type === 'libvirt' ? LIBVIRT_MODULE : PROXMOX_MODULE;
}

export interface ModuleFolder {
  /** The .tf files of the folder, by name order. */
  files: Array<{ name: string; content: Buffer }>;
  /** Their content hash, written into the root module: a new version of the module is a change to apply. */
  hash: string;
}

/** terraform/<name>/*.tf and their content hash. */
export async function readModuleFolder(modulesDir: string, name: string): Promise<ModuleFolder> {
  const source = join(modulesDir, name);
  const hash = createHash('sha256');
  const files: ModuleFolder['files'] = [];
  for (const file of (await readdir(source)).filter((f) => f.endsWith('.tf')).sort()) {
    const content = await readFile(join(source, file));
    hash.update(`${file}\0${content.length}\0`).update(content);
    files.push({ name: file, content });
  }
  return { files, hash: `sha256:${hash.digest('hex').slice(0, 16)}` };
}

export function renderMachineModule(input: MachineModuleInput, renderer: ModuleRenderer = renderLabModule): RenderedModule {
  const module = withVariables(renderer({
    namespace: input.namespace,
    name: input.name,
    spec: input.spec,
    moduleHash: input.moduleHash,
    images: input.images,
    ...(input.sshPublicKey ? { sshPublicKey: input.sshPublicKey } : {}),
  }));
  return { module, files: module.files(), hash: module.hash() };
}
