// MachineClass: what tenants' Labs may ask for on one of the admin's Hypervisors (the StorageClass pattern): the
// images a machine may name (a libvirt base volume of the pool, a file inside the admin's image directories, or a
// Proxmox template — with direct-boot files, which are the admin's too), the size limits of a Lab, the playbooks it
// may run (names, never paths), what its Desktops get (`desktop`: playbook, longest TTL, AD join, home share) and
// per-person quotas. Cluster-scoped and admin-owned; no status: the Labs that name
// it report what it decided (ADR 24).
import { DNS_LABEL } from '../../base/names.js';
import { PLAYBOOK_NAME } from './common.js';
import { classSecretRefSchema } from './hypervisor.js';
import { MACHINE_LIMITS } from './provider.js';

/** A volume of the hypervisor's storage pool (never a path). */
export const VOLUME_NAME = '^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,254}$';
/** An absolute path (checked again, symlinks resolved, inside the allowed image directories when used). */
const ABSOLUTE_PATH = '^/[^\\x00-\\x1f]*$';
/** A Proxmox template: a VM name. */
export const TEMPLATE_NAME = '^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$';

export const machineImageSchema = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  // Exactly one disk source.
  oneOf: [{ required: ['volume'] }, { required: ['path'] }, { required: ['template'] }],
  properties: {
    name: { type: 'string', pattern: DNS_LABEL, maxLength: 63, description: 'What a Lab\'s machine names in image.' },
    volume: { type: 'string', pattern: VOLUME_NAME, description: 'libvirt: a base volume of the hypervisor\'s pool (cloned, never written).' },
    path: { type: 'string', pattern: ABSOLUTE_PATH, maxLength: 1024, description: 'libvirt: a file inside the allowed image directories (--image-dir).' },
    template: { type: 'string', pattern: TEMPLATE_NAME, maxLength: 128, description: 'Proxmox: the template to clone (a VM name).' },
    kernel: { type: 'string', pattern: ABSOLUTE_PATH, maxLength: 1024, description: 'libvirt direct kernel boot: a file inside the allowed image directories.' },
    initrd: { type: 'string', pattern: ABSOLUTE_PATH, maxLength: 1024 },
    cmdline: { type: 'string', maxLength: 1024 },
  },
} as const;

/** A host name (the AD domain, the CIFS server). */
const HOST_NAME = '^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$';

/**
 * What a Desktop of this class gets: the playbook that configures it, its longest life, and the admin's AD join
 * (domain, OU, join account) and home share (the CIFS server pam_mount sends the user's password to). Without it the
 * class offers no desktops.
 */
export const desktopTermsSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Desktops of this class: without it, the class offers none.',
  properties: {
    playbook: { type: 'string', pattern: PLAYBOOK_NAME, default: 'desktop', description: 'The playbook that configures a desktop (a name, never a path).' },
    maxTtlSeconds: { type: 'integer', minimum: 60, maximum: 2592000, description: 'The longest ttlSeconds a Desktop may ask.' },
    adJoin: {
      type: 'object',
      additionalProperties: false,
      required: ['domain', 'credentialsSecretRef'],
      properties: {
        domain: { type: 'string', pattern: HOST_NAME, maxLength: 253 },
        ouPath: { type: 'string', maxLength: 512 },
        credentialsSecretRef: { ...classSecretRefSchema, description: 'Secret with the join account\'s `username` and `password`.' },
      },
    },
    pamMount: {
      type: 'object',
      additionalProperties: false,
      required: ['server', 'share'],
      properties: {
        server: { type: 'string', pattern: HOST_NAME, maxLength: 253 },
        share: { type: 'string', pattern: '^[A-Za-z0-9_$ .-]{1,80}$' },
        mountpoint: { type: 'string', pattern: '^[A-Za-z0-9_./~-]{1,200}$', default: '~/share' },
      },
    },
  },
} as const;

export const machineClassSpecSchema = {
  type: 'object',
  required: ['hypervisor'],
  additionalProperties: false,
  properties: {
    hypervisor: { type: 'string', pattern: DNS_LABEL, maxLength: 63, description: 'The Hypervisor its machines are made on.' },
    images: {
      type: 'array',
      maxItems: 100,
      default: [],
      items: machineImageSchema,
      description: 'The images a Lab\'s machine may name; none: libvirt machines with an empty disk only.',
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      description: 'Per Lab: the largest machine and the most machines (the schema maxima still apply).',
      properties: {
        cpu: { type: 'integer', minimum: 1, maximum: MACHINE_LIMITS.cpu },
        memoryMiB: { type: 'integer', minimum: 256, maximum: MACHINE_LIMITS.memoryMiB },
        diskGiB: { type: 'integer', minimum: 1, maximum: MACHINE_LIMITS.diskGiB },
        machines: { type: 'integer', minimum: 1, maximum: 50 },
      },
    },
    playbooks: {
      type: 'array',
      maxItems: 100,
      default: [],
      items: { type: 'string', pattern: PLAYBOOK_NAME },
      description: 'The playbooks (names, never paths) a Lab of this class may run.',
    },
    desktop: desktopTermsSchema,
    quota: {
      type: 'object',
      additionalProperties: false,
      description: 'Per person, through the portal: how many Labs and Desktops of this class one person may hold at once.',
      properties: {
        labsPerUser: { type: 'integer', minimum: 0, maximum: 10000 },
        desktopsPerUser: { type: 'integer', minimum: 0, maximum: 10000 },
      },
    },
  },
} as const;

export const machineClassKind = {
  kind: 'MachineClass',
  plural: 'machineclasses',
  singular: 'machineclass',
  shortNames: ['mc'],
  scope: 'Cluster',
  specSchema: machineClassSpecSchema,
  printerColumns: [
    { name: 'Hypervisor', type: 'string', jsonPath: '.spec.hypervisor' },
    { name: 'Machines', type: 'integer', jsonPath: '.spec.limits.machines' },
  ],
} as const;
