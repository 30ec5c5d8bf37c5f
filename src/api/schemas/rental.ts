// Rental: a tenant's lease of one node of the static inventory.
import {
  PLAYBOOK_NAME,
  conditionsSchema,
  dateTime,
  runSummarySchema,
  sshPublicKeySchema,
  stringMapSchema,
  tenantLoginSchema,
} from './common.js';

export const RENTAL_PHASES = [
  'Pending', 'Provisioning', 'Ready', 'Migrating', 'Unschedulable', 'Releasing', 'Failed', 'Expired',
] as const;

export const rentalSpecSchema = {
  type: 'object',
  required: ['user', 'sshPublicKeys'],
  additionalProperties: false,
  properties: {
    user: tenantLoginSchema,
    sshPublicKeys: { type: 'array', minItems: 1, maxItems: 32, items: sshPublicKeySchema },
    sudo: { type: 'boolean', default: false },
    nodeSelector: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { matchLabels: stringMapSchema },
    },
    ttlSeconds: { type: 'integer', minimum: 60, maximum: 31536000 },
    playbooks: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        create: { type: 'string', pattern: PLAYBOOK_NAME, default: 'create_user' },
        delete: { type: 'string', pattern: PLAYBOOK_NAME, default: 'delete_user' },
      },
    },
  },
} as const;

export const rentalStatusSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    observedGeneration: { type: 'integer', minimum: 0 },
    phase: { type: 'string', enum: RENTAL_PHASES },
    nodeName: { type: 'string' },
    connection: {
      type: 'object',
      additionalProperties: false,
      properties: { host: { type: 'string' }, port: { type: 'integer' }, user: { type: 'string' } },
    },
    boundAt: dateTime,
    readyAt: dateTime,
    expiresAt: dateTime,
    provisionedHash: { type: 'string', description: 'Inputs of the last successful create_user run.' },
    failoverStartedAt: dateTime,
    history: {
      type: 'array',
      maxItems: 20,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['node', 'reason', 'from'],
        properties: { node: { type: 'string' }, reason: { type: 'string' }, from: dateTime, to: dateTime },
      },
    },
    lastRun: runSummarySchema,
    conditions: conditionsSchema,
  },
} as const;

export const rentalKind = {
  kind: 'Rental',
  plural: 'rentals',
  singular: 'rental',
  shortNames: ['rent'],
  specSchema: rentalSpecSchema,
  statusSchema: rentalStatusSchema,
  printerColumns: [
    { name: 'User', type: 'string', jsonPath: '.spec.user' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Node', type: 'string', jsonPath: '.status.nodeName' },
    { name: 'Host', type: 'string', jsonPath: '.status.connection.host' },
    { name: 'Port', type: 'integer', jsonPath: '.status.connection.port' },
  ],
} as const;
