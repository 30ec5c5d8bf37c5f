// A Hypervisor and a class's image as the machine pipeline's resolved form (spec.ts) has them: the provider, whose
// Secret references carry their namespace (the one it names, else where Orion's own Secrets are), and a machine's
// disk source and boot files. Pure; shared by Labs and Desktops.
import type { ClassImage } from '../../src/api/machine-terms.js';
import type { HypervisorResource } from '../../src/api/types.js';
import type { MachineProvider } from './spec.js';

export function providerOf(hypervisor: HypervisorResource, secretNamespace: string): MachineProvider {
  const { type, libvirt, proxmox } = hypervisor.spec;
  if (!proxmox) return { type, ...(libvirt ? { libvirt } : {}) };
  const { tokenSecretRef, caSecretRef, ...rest } = proxmox;
  return {
    type,
    ...(libvirt ? { libvirt } : {}),
    proxmox: {
      ...rest,
      tokenSecretRef: { namespace: tokenSecretRef.namespace ?? secretNamespace, name: tokenSecretRef.name },
      ...(caSecretRef ? { caSecretRef: { namespace: caSecretRef.namespace ?? secretNamespace, name: caSecretRef.name } } : {}),
    },
  };
}

/** What a class image gives a machine of the resolved form: its disk source (volume, file or template) and boot files. */
export function imageSource(image: ClassImage): { image?: string; template?: string; kernel?: string; initrd?: string; cmdline?: string } {
  const { volume, path, template, kernel, initrd, cmdline } = image;
  const disk = template !== undefined ? { template } : { image: (volume ?? path) as string };
  return { ...disk, ...(kernel ? { kernel } : {}), ...(initrd ? { initrd } : {}), ...(cmdline ? { cmdline } : {}) };
}
