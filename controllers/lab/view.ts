// A Lab as the machine pipeline sees it: its spec resolved through its MachineClass and that class's Hypervisor
// (machine-spec.ts; a class that refuses it is a TerminalError ClassRefused, and nothing runs), the Secrets it needs
// (its own SSH key; the hypervisor's Proxmox token and CA, in the namespace the Hypervisor names), its playbook, and
// its machines in status.machines. A Lab whose class is gone is destroyed on the Hypervisor it recorded.
import { CLASS_REFUSED, isMachineRefusal, labHypervisor, resolveMachineTerms, type MachineClassRefusal, type MachineTerms } from '../../src/api/machine-terms.js';
import type { HypervisorResource, LabResource, MachineClassResource } from '../../src/api/types.js';
import { RetryLater, TerminalError } from '../../src/runtime/errors.js';
import type { Store } from '../../src/store/store.js';
import { providerSecretNeeds, sshKeyNeed } from '../machine/secrets.js';
import type { MachineProvider } from '../machine/spec.js';
import type { MachineView } from '../machine/view.js';
import { destroyMachineSpec, labMachineSpec, providerOf } from './machine-spec.js';

/** The admin's classes and hypervisors a Lab is resolved against, and the namespace of the Secrets they name. */
export interface LabClasses {
  machineClasses(): readonly MachineClassResource[];
  hypervisors(): readonly HypervisorResource[];
  /** Where a Secret named by a Hypervisor without a namespace is: "default" (folder mode), Orion's own (kube mode). */
  secretNamespace: string;
}

export function storeClasses(store: Store, secretNamespace: string): LabClasses {
  return {
    machineClasses: () => store.list<MachineClassResource>('MachineClass'),
    hypervisors: () => store.list<HypervisorResource>('Hypervisor'),
    secretNamespace,
  };
}

export function labTerms(lab: LabResource, classes: LabClasses): MachineTerms | MachineClassRefusal {
  return resolveMachineTerms(lab, classes.machineClasses(), classes.hypervisors());
}

/** The Hypervisor the Lab's machines were made on (status.hypervisor), when it still exists. */
function recordedHypervisor(lab: LabResource, classes: LabClasses): HypervisorResource | undefined {
  const name = lab.status?.hypervisor;
  return name === undefined ? undefined : classes.hypervisors().find((h) => h.metadata.name === name);
}

/** Where the Lab's machines are: the Hypervisor it recorded, else its class's; undefined when neither resolves. */
export function labProvider(lab: LabResource, classes: LabClasses): MachineProvider | undefined {
  const hypervisor = labHypervisor(lab, classes.machineClasses(), classes.hypervisors());
  return hypervisor ? providerOf(hypervisor, classes.secretNamespace) : undefined;
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
      if (!isMachineRefusal(terms) && (lab.status?.hypervisor ?? terms.hypervisor.metadata.name) === terms.hypervisor.metadata.name) {
        return labMachineSpec(lab, terms, classes.secretNamespace);
      }
      const recorded = recordedHypervisor(lab, classes);
      if (recorded) return destroyMachineSpec(lab, recorded, classes.secretNamespace);
      const why = lab.status?.hypervisor
        ? `Hypervisor "${lab.status.hypervisor}", where its machines were made, does not exist; the Lab stays until it is back (or an admin removes the machines and the finalizer)`
        : isMachineRefusal(terms) ? terms.message : 'its machines were made on another Hypervisor';
      throw new RetryLater('HypervisorMissing', `cannot destroy the machines: ${why}`, { phase: 'Failed' });
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
