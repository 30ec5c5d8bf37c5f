// Lab: a set of VMs created by Terraform/OpenTofu and configured by Ansible. Where and from what they are made is
// the admin's: the Lab names a MachineClass (the default class when it names none) and, per machine, one of the
// class's image names; sizes, machine count and the playbook are held to the class (src/api/machine-terms.ts).
import { DNS_LABEL } from '../../base/names.js';
import {
  PLAYBOOK_NAME,
  conditionsSchema,
  dateTime,
  runSummarySchema,
  secretRefSchema,
} from './common.js';
import { MACHINE_LIMITS, machineSizeProperties, machineStatusSchema } from './provider.js';

export const LAB_PHASES = [
  'Pending', 'Provisioning', 'Configuring', 'Ready', 'Stopped', 'Failed', 'Deleting',
] as const;

export const labSpecSchema = {
  type: 'object',
  required: ['machines'],
  additionalProperties: false,
  properties: {
    className: {
      type: 'string',
      pattern: DNS_LABEL,
      maxLength: 63,
      description: 'The MachineClass (the admin\'s hypervisor, images, limits and playbooks); the default class when left out.',
    },
    machines: {
      type: 'array',
      minItems: 1,
      maxItems: 50,
      items: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', pattern: DNS_LABEL, maxLength: 40 },
          count: { type: 'integer', minimum: 1, maximum: MACHINE_LIMITS.count, default: 1 },
          ...machineSizeProperties,
          image: {
            type: 'string',
            pattern: DNS_LABEL,
            maxLength: 63,
            description: 'The name of one of the class\'s images (libvirt: an empty disk when left out; Proxmox: required).',
          },
          userData: { type: 'string', maxLength: 65536, description: 'cloud-init user data (data: never a template).' },
        },
      },
    },
    sshKeySecretRef: { ...secretRefSchema, description: 'Secret whose `privateKey` Ansible uses to reach the VMs.' },
    ansible: {
      type: 'object',
      additionalProperties: false,
      required: ['playbook'],
      properties: {
        playbook: { type: 'string', pattern: PLAYBOOK_NAME },
        user: { type: 'string', pattern: '^[a-z_][a-z0-9_-]{0,31}$', default: 'root' },
        vars: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
    },
    powerState: { type: 'string', enum: ['Running', 'Stopped'], default: 'Running' },
    driftDetection: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        intervalSeconds: { type: 'integer', minimum: 0, maximum: 86400, default: 600 },
        autoRepair: { type: 'boolean', default: false },
      },
    },
  },
} as const;

const RETIRED_BY_CLASS = 'removed: the hypervisor, images, templates and boot files of a Lab are the admin\'s; name a MachineClass in spec.className (or leave it out for the default class) and one of its images in machines[].image';

export const labStatusSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    observedGeneration: { type: 'integer', minimum: 0 },
    phase: { type: 'string', enum: LAB_PHASES },
    machines: { type: 'array', items: machineStatusSchema },
    appliedHash: { type: 'string' },
    hypervisor: { type: 'string', description: 'The Hypervisor the machines were made on: a delete destroys them there, whatever became of the class.' },
    configuredHash: { type: 'string' },
    restartedAt: { type: 'string' },
    lastDriftCheck: dateTime,
    readyAt: dateTime,
    lastTerraformRun: runSummarySchema,
    lastAnsibleRun: runSummarySchema,
    conditions: conditionsSchema,
  },
} as const;

export const labKind = {
  kind: 'Lab',
  plural: 'labs',
  singular: 'lab',
  shortNames: ['lab'],
  specSchema: labSpecSchema,
  retiredFields: {
    provider: RETIRED_BY_CLASS,
    'machines[].template': RETIRED_BY_CLASS,
    'machines[].kernel': RETIRED_BY_CLASS,
    'machines[].initrd': RETIRED_BY_CLASS,
    'machines[].cmdline': RETIRED_BY_CLASS,
  },
  statusSchema: labStatusSchema,
  printerColumns: [
    { name: 'Hypervisor', type: 'string', jsonPath: '.status.hypervisor' },
    { name: 'Power', type: 'string', jsonPath: '.spec.powerState' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
  ],
} as const;
