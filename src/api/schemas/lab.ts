// Lab: a set of VMs created by Terraform/OpenTofu and configured by Ansible.
import { DNS_LABEL } from '../../base/names.js';
import {
  PLAYBOOK_NAME,
  conditionsSchema,
  dateTime,
  runSummarySchema,
  secretRefSchema,
} from './common.js';
import { MACHINE_LIMITS, machineSizeProperties, machineStatusSchema, providerSchema } from './provider.js';

export const LAB_PHASES = [
  'Pending', 'Provisioning', 'Configuring', 'Ready', 'Stopped', 'Failed', 'Deleting',
] as const;

export const labSpecSchema = {
  type: 'object',
  required: ['provider', 'machines'],
  additionalProperties: false,
  properties: {
    provider: providerSchema,
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
            maxLength: 1024,
            description: 'libvirt: a volume name or a path inside an allowed pool; Proxmox: unused.',
          },
          template: { type: 'string', pattern: '^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$', maxLength: 128, description: 'Proxmox template to clone (a VM name).' },
          userData: { type: 'string', maxLength: 65536, description: 'cloud-init user data.' },
          kernel: { type: 'string', maxLength: 1024, description: 'Direct kernel boot (libvirt).' },
          initrd: { type: 'string', maxLength: 1024 },
          cmdline: { type: 'string', maxLength: 1024 },
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

export const labStatusSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    observedGeneration: { type: 'integer', minimum: 0 },
    phase: { type: 'string', enum: LAB_PHASES },
    machines: { type: 'array', items: machineStatusSchema },
    appliedHash: { type: 'string' },
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
  statusSchema: labStatusSchema,
  printerColumns: [
    { name: 'Provider', type: 'string', jsonPath: '.spec.provider.type' },
    { name: 'Power', type: 'string', jsonPath: '.spec.powerState' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
  ],
} as const;
