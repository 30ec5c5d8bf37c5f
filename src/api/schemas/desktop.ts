// Desktop: an ephemeral remote desktop (XFCE + XRDP, optional AD join) for one user.
import { conditionsSchema, dateTime, runSummarySchema, secretRefSchema, tenantLoginSchema } from './common.js';
import { machineSizeProperties, machineStatusSchema, providerSchema } from './provider.js';

export const DESKTOP_PHASES = [
  'Pending', 'Provisioning', 'Configuring', 'Ready', 'Expiring', 'Expired', 'Failed', 'Deleting',
] as const;

export const desktopSpecSchema = {
  type: 'object',
  required: ['user', 'provider', 'template'],
  additionalProperties: false,
  properties: {
    user: tenantLoginSchema,
    provider: providerSchema,
    template: { type: 'string', minLength: 1, maxLength: 1024, description: 'Image (libvirt) or template (Proxmox).' },
    ...machineSizeProperties,
    sshKeySecretRef: secretRefSchema,
    passwordSecretRef: { ...secretRefSchema, description: 'Secret with the RDP `password` of the user.' },
    ttlSeconds: { type: 'integer', minimum: 60, maximum: 2592000, default: 28800 },
    idleTimeoutSeconds: { type: 'integer', minimum: 60, maximum: 604800, default: 3600 },
    warningSeconds: { type: 'integer', minimum: 0, maximum: 86400, default: 300 },
    adJoin: {
      type: 'object',
      additionalProperties: false,
      required: ['domain', 'credentialsSecretRef'],
      properties: {
        domain: { type: 'string', pattern: '^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$', maxLength: 253 },
        ouPath: { type: 'string', maxLength: 512 },
        credentialsSecretRef: { ...secretRefSchema, description: 'Secret with `username` and `password`.' },
      },
    },
    pamMount: {
      type: 'object',
      additionalProperties: false,
      required: ['server', 'share'],
      properties: {
        server: { type: 'string', pattern: '^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$', maxLength: 253 },
        share: { type: 'string', pattern: '^[A-Za-z0-9_$ .-]{1,80}$' },
        mountpoint: { type: 'string', pattern: '^[A-Za-z0-9_./~-]{1,200}$', default: '~/share' },
      },
    },
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
  statusSchema: desktopStatusSchema,
  printerColumns: [
    { name: 'User', type: 'string', jsonPath: '.spec.user' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'RDP', type: 'string', jsonPath: '.status.rdp.host' },
    { name: 'Expires', type: 'date', jsonPath: '.status.expiresAt' },
  ],
} as const;
