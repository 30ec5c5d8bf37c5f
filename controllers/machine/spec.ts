// The machine pipeline's input: the RESOLVED form of what a Lab or a Desktop asks for — the provider (libvirt URI,
// pool, network, domain type; or the Proxmox endpoint, node and Secret names) and, per machine, its size, its disk
// source (image: a pool volume or an allowed file; template: a Proxmox template), its direct-boot files and its
// cloud-init user data. Nobody writes it: a Lab's is made from the Lab, its MachineClass and the class's Hypervisor
// (controllers/lab/machine-spec.ts), a Desktop's the same way (controllers/desktop/machine.ts). The pipeline, the
// module rendering (tfvars, ADR 22) and drift read only this.
import type { FromSchema } from 'json-schema-to-ts';
import { labSpecSchema } from '../../src/api/schemas/lab.js';
import { hypervisorSpecSchema } from '../../src/api/schemas/hypervisor.js';

const { machines, ...labProperties } = labSpecSchema.properties;
const { className: _className, ...tenantProperties } = labProperties;

/** Only for its type: the schema of the resolved form (never validated against; the Lab's and the class's are). */
export const machineSpecSchema = {
  type: 'object',
  required: ['provider', 'machines'],
  additionalProperties: false,
  properties: {
    ...tenantProperties,
    // The Hypervisor's spec, each Secret reference with its namespace (controllers/machine/provider.ts).
    provider: hypervisorSpecSchema,
    machines: {
      ...machines,
      items: {
        ...machines.items,
        properties: {
          ...machines.items.properties,
          image: { type: 'string', description: 'libvirt: a volume of the pool or an allowed file.' },
          template: { type: 'string', description: 'Proxmox: the template to clone.' },
          kernel: { type: 'string' },
          initrd: { type: 'string' },
          cmdline: { type: 'string' },
        },
      },
    },
  },
} as const;

export type MachineSpec = FromSchema<typeof machineSpecSchema>;
export type MachineProvider = MachineSpec['provider'];
