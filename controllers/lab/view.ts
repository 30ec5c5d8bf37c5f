// A Lab as the machine pipeline sees it: its spec as is, the Secrets it names (its SSH key, the Proxmox token and
// CA), its playbook, and its machines in status.machines.
import type { LabResource } from '../../src/api/types.js';
import type { MachineView } from '../machine/view.js';
import { providerSecretNeeds, sshKeyNeed } from '../machine/secrets.js';

export const labView: MachineView<LabResource> = {
  labSpec: (lab) => lab.spec,
  secretNeeds: (lab) => [...(lab.spec.sshKeySecretRef ? [sshKeyNeed(lab.spec.sshKeySecretRef.name)] : []), ...providerSecretNeeds(lab.spec.provider)],
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
