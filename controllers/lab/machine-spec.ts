// A Lab's machines in the machine pipeline's resolved form (controllers/machine/spec.ts), made in this one place from
// the Lab (sizes, image names, user data, its SSH key and playbook), its MachineClass (what each image name is: a
// pool volume, an allowed file or a Proxmox template, with its direct-boot files) and the class's Hypervisor (the
// provider, with the namespace of each Secret it names). Pure.
import type { MachineTerms } from '../../src/api/machine-terms.js';
import type { HypervisorResource, LabResource } from '../../src/api/types.js';
import { imageSource, providerOf } from '../machine/provider.js';
import type { MachineSpec } from '../machine/spec.js';

export { providerOf } from '../machine/provider.js';

/** The Lab's spec resolved through its class's terms (already checked: every image named is the class's). */
export function labMachineSpec(lab: LabResource, terms: MachineTerms, secretNamespace: string): MachineSpec {
  const { className: _className, machines, ...rest } = lab.spec;
  return {
    ...rest,
    provider: providerOf(terms.hypervisor, secretNamespace),
    machines: machines.map(({ image: name, ...machine }) => {
      const image = name === undefined ? undefined : terms.images.get(name);
      if (!image) return machine;
      return { ...machine, ...imageSource(image) };
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
