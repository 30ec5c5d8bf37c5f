// What the machine pipeline would render for a resource, without running anything: the same validation (limits,
// names, images) and the same renderer as prepare() and render(), with the module folder read in place instead of
// copied into a workspace, and no Secret read. For `orion render`.
import type { ObjectMeta } from '../../src/api/types.js';
import { defaultModulesDir, moduleFolderOf, readModuleFolder, renderMachineModule, type RenderedModule } from './render.js';
import { DEFAULT_LAB_LIMITS, validateLab, type LabLimits } from './validate.js';
import type { MachineResource, MachineView } from './view.js';

export interface PreviewOptions {
  /** Directories a libvirt machine may boot files from (as `orion run --image-dir`). */
  imageDirs?: string[];
  limits?: Partial<LabLimits>;
  modulesDir?: string;
  /** The public half of the resource's SSH key, where cloud-init takes it (not a secret). */
  sshPublicKey?: string;
}

/** The root module the pipeline would apply; throws a LabSpecError when the resource would be refused. */
export async function previewModule<R extends MachineResource>(view: MachineView<R>, obj: R, opts: PreviewOptions = {}): Promise<RenderedModule> {
  const policy = { limits: { ...DEFAULT_LAB_LIMITS, ...opts.limits }, imageDirs: opts.imageDirs ?? [] };
  const images = await validateLab(view.machineSpec(obj), policy);
  const spec = view.machineSpec(obj, opts.sshPublicKey);
  const folder = await readModuleFolder(opts.modulesDir ?? defaultModulesDir(), moduleFolderOf(spec));
  const meta: Pick<ObjectMeta, 'namespace' | 'name'> = obj.metadata;
  return renderMachineModule({
    namespace: meta.namespace,
    name: meta.name,
    spec,
    images,
    moduleHash: folder.hash,
    ...(opts.sshPublicKey ? { sshPublicKey: opts.sshPublicKey } : {}),
  });
}
