// Node: a machine of the static inventory, reachable over SSH and probed for health.
import { POSIX_LOGIN } from '../../base/names.js';
import { PLAYBOOK_NAME, conditionsSchema, dateTime, secretRefSchema } from './common.js';

export const nodeSpecSchema = {
  type: 'object',
  required: ['address', 'secretRef'],
  additionalProperties: false,
  properties: {
    address: {
      type: 'string',
      minLength: 1,
      maxLength: 253,
      pattern: '^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$',
      description: 'Host name or IP address the SSH probe and Ansible connect to.',
    },
    port: { type: 'integer', minimum: 1, maximum: 65535, default: 22 },
    user: { type: 'string', pattern: POSIX_LOGIN, default: 'root', description: 'Login used to probe and configure.' },
    secretRef: { ...secretRefSchema, description: 'Secret whose `privateKey` holds the SSH key.' },
    unschedulable: { type: 'boolean', default: false, description: 'Cordon: keep the node out of new bindings.' },
    probe: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        intervalSeconds: { type: 'integer', minimum: 1, maximum: 3600, default: 10 },
        timeoutSeconds: { type: 'integer', minimum: 1, maximum: 300, default: 5 },
        failureThreshold: { type: 'integer', minimum: 1, maximum: 100, default: 3 },
        successThreshold: { type: 'integer', minimum: 1, maximum: 100, default: 1 },
      },
    },
  },
} as const;

export const nodeStatusSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    observedGeneration: { type: 'integer', minimum: 0 },
    phase: { type: 'string', enum: ['Alive', 'Dead', 'Unknown'] },
    health: { type: 'string', enum: ['Alive', 'Dead', 'Unknown'] },
    lastProbeTime: dateTime,
    lastTransitionTime: dateTime,
    lastProbeLatencyMs: { type: 'integer', minimum: 0 },
    consecutiveFailures: { type: 'integer', minimum: 0 },
    consecutiveSuccesses: { type: 'integer', minimum: 0 },
    lastError: { type: 'string' },
    hostKey: {
      type: 'object',
      additionalProperties: false,
      properties: {
        key: { type: 'string', description: 'Pinned OpenSSH public host key ("type base64").' },
        fingerprint: { type: 'string' },
        pinnedAt: dateTime,
      },
    },
    allocation: {
      type: 'object',
      additionalProperties: false,
      description: 'The rental holding this node; written with optimistic concurrency.',
      properties: {
        rental: { type: 'string', description: 'namespace/name of the Rental.' },
        uid: { type: 'string' },
        user: { type: 'string', description: 'The login the rental has on this node.' },
        releasePlaybook: { type: 'string', pattern: PLAYBOOK_NAME, description: "The release playbook of the rental's class, for a cleanup after the rental is gone." },
        since: dateTime,
      },
    },
    cleanup: {
      type: 'array',
      maxItems: 64,
      description: "Tenants to remove (their rental class's release playbook, else delete_user) before the node is free again.",
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['user', 'rental'],
        properties: {
          user: { type: 'string' },
          rental: { type: 'string' },
          uid: { type: 'string', description: 'uid of the Rental that made the account: delete_user removes only its account.' },
          playbook: { type: 'string', pattern: PLAYBOOK_NAME, description: "The release playbook of the rental's class (an admin's choice); delete_user when absent." },
          reason: { type: 'string' },
          since: dateTime,
        },
      },
    },
    conditions: conditionsSchema,
  },
} as const;

export const nodeKind = {
  kind: 'Node',
  plural: 'nodes',
  singular: 'node',
  shortNames: ['onode', 'onodes'],
  specSchema: nodeSpecSchema,
  statusSchema: nodeStatusSchema,
  printerColumns: [
    { name: 'Address', type: 'string', jsonPath: '.spec.address' },
    { name: 'Port', type: 'integer', jsonPath: '.spec.port' },
    { name: 'Health', type: 'string', jsonPath: '.status.health' },
    { name: 'Rental', type: 'string', jsonPath: '.status.allocation.rental' },
    { name: 'Last-Probe', type: 'date', jsonPath: '.status.lastProbeTime' },
  ],
} as const;
