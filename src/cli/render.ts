// `orion render FILE|DIR...`: the OpenTofu root module (and any variable files) that Orion would apply for each Lab
// and Desktop of the manifests, as `helm template` or `kustomize build` show what would be applied. It renders with
// the machine pipeline's own validation and renderer (controllers/machine/preview.ts), so the files are byte for byte
// those Orion writes into the workspace, and it contacts nothing: no Terraform, no hypervisor, no cluster.
//
// No secret is read or shown: provider credentials never enter a module (they reach Terraform's environment), and
// the one value a module takes from a Secret, the public half of an SSH key (cloud-init), is taken from a Secret
// manifest among the files when there is one (its `publicKey` only), else shown as a placeholder naming the Secret.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { desktopView } from '../../controllers/desktop/machine.js';
import { labView, type LabClasses } from '../../controllers/lab/view.js';
import { previewModule } from '../../controllers/machine/preview.js';
import type { RenderedModule } from '../../controllers/machine/render.js';
import { LabSpecError } from '../../controllers/machine/validate.js';
import type { MachineResource, MachineView } from '../../controllers/machine/view.js';
import { workspaceRef, refOf, type ObjectRef } from '../api/refs.js';
import type { DesktopResource, HypervisorResource, LabResource, MachineClassResource } from '../api/types.js';
import { TerminalError } from '../runtime/errors.js';
import type { Manifest, SecretManifest } from '../api/validate.js';
import { formatManifestError } from '../folder/manifest-file.js';
import { loadManifests } from './validate.js';

export interface RenderOptions {
  /** Directories a libvirt machine may boot files from (as `orion run --image-dir`). */
  imageDirs?: string[];
  /** Write <dir>/<kind>/<namespace>/<name>/<file> for each resource instead of printing. */
  outputDir?: string;
  /** Where libvirt-vm/ and proxmox-vm/ are (default: the package's terraform/ folder). */
  modulesDir?: string;
}

export interface RenderReport {
  /** The files, each under a `# <Kind> <namespace>/<name>: <file>` line (or, with outputDir, the files written). */
  text: string;
  /** Why a file or a resource could not be rendered. */
  errors: string[];
}

export async function renderCommand(paths: string[], opts: RenderOptions = {}): Promise<RenderReport> {
  const loaded = await loadManifests(paths);
  const report: RenderReport = { text: '', errors: loaded.errors.map(formatManifestError) };
  // A Lab or a Desktop is rendered through the MachineClasses and Hypervisors among the same manifests, as Orion would.
  const of = <T>(kind: string): T[] => loaded.objects.filter((m) => m.kind === kind).map((m) => asResource(m) as unknown as T);
  const classes: LabClasses = { machineClasses: () => of<MachineClassResource>('MachineClass'), hypervisors: () => of<HypervisorResource>('Hypervisor'), secretNamespace: 'default' };
  const VIEWS = { Lab: labView(classes), Desktop: desktopView('root', classes) } as const;
  const parts: string[] = [];
  for (const manifest of loaded.objects) {
    if (manifest.kind !== 'Lab' && manifest.kind !== 'Desktop') continue;
    const ref = refOf(manifest);
    let rendered: RenderedModule;
    try {
      rendered = await previewModule(VIEWS[manifest.kind] as MachineView<MachineResource>, asResource(manifest) as MachineResource, {
        imageDirs: opts.imageDirs,
        modulesDir: opts.modulesDir,
        sshPublicKey: publicKeyOf(manifest, loaded.secrets),
      });
    } catch (err) {
      if (!(err instanceof LabSpecError) && !(err instanceof TerminalError)) throw err;
      report.errors.push(`${ref.kind} ${ref.namespace}/${ref.name}: ${err.message}`);
      continue;
    }
    parts.push(...(opts.outputDir ? await writeFiles(opts.outputDir, ref, rendered) : printed(ref, rendered)));
  }
  report.text = parts.join(opts.outputDir ? '\n' : '');
  return report;
}

/** A manifest as the object Orion makes of it (the renderer reads its name and spec only). */
function asResource(manifest: Manifest): LabResource | DesktopResource | MachineClassResource | HypervisorResource {
  return {
    ...manifest,
    metadata: { ...manifest.metadata, uid: '', generation: 1, resourceVersion: '', creationTimestamp: '' },
  } as LabResource | DesktopResource | MachineClassResource | HypervisorResource;
}

/** The public half of the resource's SSH key: from a Secret among the manifests, else a placeholder. */
function publicKeyOf(manifest: Manifest, secrets: SecretManifest[]): string | undefined {
  const name = (manifest.spec.sshKeySecretRef as { name?: string } | undefined)?.name;
  if (!name) return undefined;
  const secret = secrets.find((s) => s.metadata.namespace === manifest.metadata.namespace && s.metadata.name === name);
  return secret ? secret.data.publicKey?.trim() : `(publicKey of Secret ${name})`;
}

function printed(ref: ObjectRef, rendered: RenderedModule): string[] {
  return Object.entries(rendered.files).map(([file, content]) => `# ${ref.kind} ${ref.namespace}/${ref.name}: ${file}\n${content}`);
}

async function writeFiles(outputDir: string, ref: ObjectRef, rendered: RenderedModule): Promise<string[]> {
  const where = workspaceRef(ref);
  const dir = join(outputDir, where.kind, where.namespace, where.name);
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [file, content] of Object.entries(rendered.files)) {
    await writeFile(join(dir, file), content);
    written.push(join(dir, file));
  }
  return written;
}
