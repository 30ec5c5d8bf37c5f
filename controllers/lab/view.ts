// A Lab as the machine pipeline sees it: its spec resolved through its MachineClass and that class's Hypervisor
// (machine-spec.ts; a class that refuses it is a TerminalError ClassRefused, and nothing runs), the Secrets it needs
// (its own SSH key; the hypervisor's Proxmox token and CA, in the namespace the Hypervisor names), its playbook, and
// its machines in status.machines. A Lab whose class is gone is destroyed on the Hypervisor it recorded.
import { CLASS_REFUSED, isMachineRefusal, resolveMachineTerms, type MachineClassRefusal, type MachineTerms } from '../../src/api/machine-terms.js';
import type { HypervisorResource, LabResource } from '../../src/api/types.js';
import { TerminalError } from '../../src/runtime/errors.js';
import { destroyHypervisor, machineProvider, type MachineClasses } from '../machine/classes.js';
import { providerSecretNeeds, sshKeyNeed } from '../machine/secrets.js';
import type { MachineProvider } from '../machine/spec.js';
import type { MachineView } from '../machine/view.js';
import { destroyMachineSpec, labMachineSpec } from './machine-spec.js';

/** The admin's classes and hypervisors a Lab is resolved against (controllers/machine/classes.ts). */
export type LabClasses = MachineClasses;
export { storeClasses } from '../machine/classes.js';

export function labTerms(lab: LabResource, classes: LabClasses): MachineTerms | MachineClassRefusal {
  return resolveMachineTerms(lab, classes.machineClasses(), classes.hypervisors());
}

/** Where the Lab's machines are: the Hypervisor it recorded, else its class's; undefined when neither resolves. */
export function labProvider(lab: LabResource, classes: LabClasses): MachineProvider | undefined {
  return machineProvider(lab, labTerms(lab, classes), classes);
}

export function labView(classes: LabClasses): MachineView<LabResource> {
  return {
    machineSpec: (lab) => {
      const terms = labTerms(lab, classes);
      if (isMachineRefusal(terms)) throw new TerminalError(terms.message, CLASS_REFUSED, { phase: 'Failed' });
      return labMachineSpec(lab, terms, classes.secretNamespace);
    },
    destroySpec: (lab) => {
      const terms = labTerms(lab, classes);
      const recorded = destroyHypervisor(lab, 'Lab', terms, classes);
      if (!recorded && !isMachineRefusal(terms)) return labMachineSpec(lab, terms, classes.secretNamespace);
      return destroyMachineSpec(lab, recorded as HypervisorResource, classes.secretNamespace);
    },
    secretNeeds: (lab) => {
      const provider = labProvider(lab, classes);
      return [...(lab.spec.sshKeySecretRef ? [sshKeyNeed(lab.spec.sshKeySecretRef.name)] : []), ...(provider ? providerSecretNeeds(provider) : [])];
    },
    playbook: (lab, spec) => {
      const ansible = spec.ansible;
      if (!ansible) return undefined;
      // The Lab's vars are one variable, lab_vars, whatever their names: no name of theirs can ever be a connection,
      // become, interpreter or magic variable (docs/adr/0022-data-stays-data.md).
      return { playbook: ansible.playbook, user: ansible.user ?? 'root', vars: { lab_vars: ansible.vars ?? {} }, identity: { orion_lab: lab.metadata.name } };
    },
    machines: (lab) => lab.status?.machines ?? [],
    recordMachines: (_lab, machines) => ({ machines }),
  };
}
