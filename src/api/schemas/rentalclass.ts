// RentalClass: an admin's terms for tenants' Rentals (the StorageClass pattern): which playbooks create and remove
// the tenant (names, never paths), whether sudo may be asked for, the longest lease, and the pool of Nodes its
// rentals bind to. Cluster-scoped: a tenant with a namespaced Role can never write one. No status: nothing
// reconciles a class; the Rentals that name it report what it decided (ADR 24).
import { PLAYBOOK_NAME, stringMapSchema } from './common.js';

/** The annotation that makes a class the default for Rentals that name none (as storageclass.kubernetes.io/is-default-class). */
export const DEFAULT_CLASS_ANNOTATION = 'orion.lab/default-class';

export const rentalClassSpecSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    playbooks: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'The playbooks (names from the allowed folders, never paths) that create and remove the tenant.',
      properties: {
        create: { type: 'string', pattern: PLAYBOOK_NAME, default: 'create_user' },
        delete: { type: 'string', pattern: PLAYBOOK_NAME, default: 'delete_user' },
      },
    },
    allowSudo: { type: 'boolean', default: false, description: 'Whether a Rental of this class may ask for sudo.' },
    maxTtlSeconds: { type: 'integer', minimum: 60, maximum: 31536000, description: 'The longest ttlSeconds a Rental may ask for.' },
    nodeSelector: {
      type: 'object',
      additionalProperties: false,
      description: 'The pool of Nodes this class binds to; a Rental\'s own selector narrows it, never widens it.',
      properties: { matchLabels: stringMapSchema },
    },
    quota: {
      type: 'object',
      additionalProperties: false,
      description: 'Per person, through the portal: how many Rentals of this class one person may hold at once.',
      properties: { rentalsPerUser: { type: 'integer', minimum: 0, maximum: 10000 } },
    },
  },
} as const;

export const rentalClassKind = {
  kind: 'RentalClass',
  plural: 'rentalclasses',
  singular: 'rentalclass',
  shortNames: ['rc'],
  scope: 'Cluster',
  specSchema: rentalClassSpecSchema,
  printerColumns: [
    { name: 'Create', type: 'string', jsonPath: '.spec.playbooks.create' },
    { name: 'Delete', type: 'string', jsonPath: '.spec.playbooks.delete' },
    { name: 'Sudo', type: 'boolean', jsonPath: '.spec.allowSudo' },
    { name: 'MaxTTL', type: 'integer', jsonPath: '.spec.maxTtlSeconds' },
  ],
} as const;
