// Rental: a tenant's lease of one node of the static inventory.
import { DNS_LABEL } from '../../base/names.js';
import {
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
    className: {
      type: 'string',
      pattern: DNS_LABEL,
      maxLength: 63,
      description: 'The RentalClass (the admin\'s terms: playbooks, sudo, longest TTL, node pool); the default class when left out.',
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
    releasePlaybook: { type: 'string', description: 'The release playbook of the class the tenant was created under, for a release after that class is gone.' },
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
  retiredFields: {
    playbooks: 'removed: the playbooks Orion runs for a Rental are chosen by the admin; name a RentalClass in spec.className (or leave it out for the default class)',
  },
  statusSchema: rentalStatusSchema,
  printerColumns: [
    { name: 'User', type: 'string', jsonPath: '.spec.user' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Node', type: 'string', jsonPath: '.status.nodeName' },
    { name: 'Host', type: 'string', jsonPath: '.status.connection.host' },
    { name: 'Port', type: 'integer', jsonPath: '.status.connection.port' },
  ],
} as const;
