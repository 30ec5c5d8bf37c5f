// Desktop: an ephemeral remote desktop (XFCE + XRDP, optional AD join) for one user.
import { conditionsSchema, dateTime, runSummarySchema, secretRefSchema, tenantLoginSchema } from './common.js';
import { DNS_LABEL } from '../../base/names.js';
import { machineSizeProperties, machineStatusSchema } from './provider.js';

export const DESKTOP_PHASES = [
  'Pending', 'Provisioning', 'Configuring', 'Ready', 'Expiring', 'Expired', 'Failed', 'Deleting',
] as const;

const RETIRED_BY_CLASS = 'removed: the hypervisor and images of a Desktop are the admin\'s; name a MachineClass in spec.className (or leave it out for the default class) and one of its images in spec.image';

export const desktopSpecSchema = {
  type: 'object',
  required: ['user', 'image'],
  additionalProperties: false,
  properties: {
    user: tenantLoginSchema,
    className: {
      type: 'string',
      pattern: DNS_LABEL,
      maxLength: 63,
      description: 'The MachineClass (the admin\'s hypervisor, images, limits, AD join and home share); the default class when left out.',
    },
    image: { type: 'string', pattern: DNS_LABEL, maxLength: 63, description: 'The name of one of the class\'s images.' },
    ...machineSizeProperties,
    sshKeySecretRef: { ...secretRefSchema, description: 'Secret with the `privateKey` Orion logs in with; left out, Orion generates a key pair owned by the Desktop.' },
    passwordSecretRef: { ...secretRefSchema, description: 'Secret with the RDP `password` of the user.' },
    ttlSeconds: { type: 'integer', minimum: 60, maximum: 2592000, default: 28800 },
    idleTimeoutSeconds: { type: 'integer', minimum: 60, maximum: 604800, default: 3600 },
    warningSeconds: { type: 'integer', minimum: 0, maximum: 86400, default: 300 },
    adJoin: { type: 'boolean', description: 'Join the class\'s AD domain (a boolean: the domain and join account are the class\'s).' },
    pamMount: { type: 'boolean', description: 'Mount the class\'s home share at login (a boolean: the server and share are the class\'s).' },
  },
} as const;

export const desktopStatusSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    observedGeneration: { type: 'integer', minimum: 0 },
    phase: { type: 'string', enum: DESKTOP_PHASES },
    rdp: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string' },
        port: { type: 'integer' },
        user: { type: 'string' },
        passwordSecretRef: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'key'],
          description: 'Kubernetes mode, no spec.passwordSecretRef and no AD: the Secret, owned by the Desktop, with the generated RDP password.',
          properties: { name: { type: 'string' }, key: { type: 'string' } },
        },
        passwordFile: { type: 'string', description: 'Folder mode, no spec.passwordSecretRef and no AD: the 0600 file with the generated RDP password.' },
      },
    },
    machine: machineStatusSchema,
    hypervisor: { type: 'string', description: 'The Hypervisor the machine was made on: a delete destroys it there, whatever became of the class.' },
    expiresAt: dateTime,
    lastActivityAt: dateTime,
    idleSince: dateTime,
    /** The last warning recorded (either kind); the two below say which deadline each one was for. */
    warnedAt: dateTime,
    expiryWarnedAt: dateTime,
    idleWarnedAt: dateTime,
    /** Active sessions (SSH/TTY logins and RDP connections) seen by the last idle check. */
    sessions: { type: 'integer', minimum: 0 },
    readyAt: dateTime,
    expiredAt: dateTime,
    appliedHash: { type: 'string' },
    configuredHash: { type: 'string' },
    lastTerraformRun: runSummarySchema,
    lastAnsibleRun: runSummarySchema,
    conditions: conditionsSchema,
  },
} as const;

export const desktopKind = {
  kind: 'Desktop',
  plural: 'desktops',
  singular: 'desktop',
  shortNames: ['desk'],
  specSchema: desktopSpecSchema,
  retiredFields: { provider: RETIRED_BY_CLASS, template: RETIRED_BY_CLASS },
  statusSchema: desktopStatusSchema,
  printerColumns: [
    { name: 'User', type: 'string', jsonPath: '.spec.user' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Hypervisor', type: 'string', jsonPath: '.status.hypervisor' },
    { name: 'RDP', type: 'string', jsonPath: '.status.rdp.host' },
    { name: 'Expires', type: 'date', jsonPath: '.status.expiresAt' },
  ],
} as const;
