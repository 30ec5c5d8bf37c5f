// A Lab's machines in the machine pipeline's resolved form (controllers/machine/spec.ts), made in this one place from
// the Lab (sizes, image names, user data, its SSH key and playbook), its MachineClass (what each image name is: a
// pool volume, an allowed file or a Proxmox template, with its direct-boot files) and the class's Hypervisor (the
// provider, with the namespace of each Secret it names). Pure.
import type { MachineTerms } from '../../src/api/machine-terms.js';
import type { HypervisorResource, LabResource } from '../../src/api/types.js';
import type { MachineProvider, MachineSpec } from '../machine/spec.js';

/** The hypervisor as the provider of the resolved form: its Secret references carry their namespace. */
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

/** The Lab's spec resolved through its class's terms (already checked: every image named is the class's). */
export function labMachineSpec(lab: LabResource, terms: MachineTerms, secretNamespace: string): MachineSpec {
  const { className: _className, machines, ...rest } = lab.spec;
  return {
    ...rest,
    provider: providerOf(terms.hypervisor, secretNamespace),
    machines: machines.map(({ image: name, ...machine }) => {
      const image = name === undefined ? undefined : terms.images.get(name);
      if (!image) return machine;
      const { volume, path, template, kernel, initrd, cmdline } = image;
      const disk = template !== undefined ? { template } : { image: (volume ?? path) as string };
      return { ...machine, ...disk, ...(kernel ? { kernel } : {}), ...(initrd ? { initrd } : {}), ...(cmdline ? { cmdline } : {}) };
    }),
  };
}

/**
 * What a Lab's machines are destroyed with when its class no longer resolves (deleted, or it refuses the Lab now):
 * the Hypervisor it recorded, and its machines without disk sources (a destroy needs none).
 */
export function destroyMachineSpec(lab: LabResource, hypervisor: HypervisorResource, secretNamespace: string): MachineSpec {
  const { className: _className, machines, ...rest } = lab.spec;
  return { ...rest, provider: providerOf(hypervisor, secretNamespace), machines: machines.map(({ image: _image, ...machine }) => machine) };
}
