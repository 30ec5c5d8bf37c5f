// Schema fragments shared by the kinds. Kept `as const` so TypeScript types are derived from them.
import { DNS_LABEL, POSIX_LOGIN } from '../../base/names.js';

/** System accounts a tenant may never claim. */
export const RESERVED_LOGINS = [
  'root', 'daemon', 'bin', 'sys', 'sync', 'games', 'man', 'lp', 'mail', 'news', 'uucp', 'proxy',
  'www-data', 'backup', 'list', 'irc', 'gnats', 'nobody', 'systemd-network', 'systemd-resolve',
  'messagebus', 'sshd', 'admin', 'adm', 'sudo', 'wheel', 'operator', 'halt', 'shutdown', 'ansible', 'orion',
] as const;

/** A playbook is named, never pathed: it resolves inside the allowed ansible folders only. */
export const PLAYBOOK_NAME = '^[A-Za-z0-9_-]{1,64}(\\.ya?ml)?$';

export const tenantLoginSchema = {
  type: 'string',
  pattern: POSIX_LOGIN,
  maxLength: 32,
  not: { enum: RESERVED_LOGINS },
  description: 'POSIX login of the tenant; system names such as root are refused.',
} as const;

export const sshPublicKeySchema = {
  type: 'string',
  maxLength: 16384,
  pattern: '^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\\.com|sk-ecdsa-sha2-nistp256@openssh\\.com) [A-Za-z0-9+/]+={0,3}( [^\\r\\n]*)?$',
  description: 'An OpenSSH public key line.',
} as const;

export const secretRefSchema = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string', pattern: DNS_LABEL, maxLength: 253 } },
} as const;

export const stringMapSchema = { type: 'object', additionalProperties: { type: 'string' } } as const;

export const conditionSchema = {
  type: 'object',
  required: ['type', 'status'],
  additionalProperties: false,
  properties: {
    type: { type: 'string' },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    reason: { type: 'string' },
    message: { type: 'string' },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    observedGeneration: { type: 'integer', minimum: 0 },
  },
} as const;

export const conditionsSchema = {
  type: 'array',
  items: conditionSchema,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
} as const;

/** The summary of one Ansible or Terraform run that lands in a resource's status. */
export const runSummarySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    op: { type: 'string' },
    result: { type: 'string' },
    startedAt: { type: 'string', format: 'date-time' },
    durationMs: { type: 'integer', minimum: 0 },
    failedTask: { type: 'string' },
    message: { type: 'string' },
    logFile: { type: 'string' },
  },
} as const;

export const dateTime = { type: 'string', format: 'date-time' } as const;
