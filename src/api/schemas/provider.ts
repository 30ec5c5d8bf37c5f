// Where machines are created: local libvirt or a Proxmox VE cluster. The Hypervisor kind holds it for Labs
// (hypervisor.ts); a Desktop still names its own provider (it moves to MachineClass next, ADR 24), and the machine
// pipeline's resolved form (controllers/machine/spec.ts) carries it.
import { DNS_LABEL } from '../../base/names.js';
import { secretRefSchema } from './common.js';

/**
 * A libvirt connection URI: a scheme, then RFC 3986 URI characters only (no space, quote, brace or control
 * character can ever be part of one; no IPv6 literal host either).
 */
export const LIBVIRT_URI = "^[a-z][a-z0-9+.-]*://[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]*$";
const PORT = '(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';
const HOST_PORT_PATH = `[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::${PORT})?(?:/[A-Za-z0-9._~/-]*)?$`;
/** An https (or http) base URL: a host name or IPv4 address, an optional port (1-65535) and path. */
export const HTTP_ENDPOINT = `^https?://${HOST_PORT_PATH}`;
/** The same, https only: what a Hypervisor may name (a Proxmox token never travels in clear). */
export const HTTPS_ENDPOINT = `^https://${HOST_PORT_PATH}`;

/** The seed's limits; the controller may enforce lower ones from its configuration. */
export const MACHINE_LIMITS = { cpu: 8, memoryMiB: 16384, diskGiB: 500, count: 20 } as const;

export const providerSchema = {
  type: 'object',
  required: ['type'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', enum: ['libvirt', 'proxmox'] },
    libvirt: {
      type: 'object',
      additionalProperties: false,
      properties: {
        uri: { type: 'string', pattern: LIBVIRT_URI, maxLength: 512, default: 'qemu:///system' },
        pool: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$', default: 'default' },
        network: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$', default: 'default' },
        domainType: {
          type: 'string',
          enum: ['kvm', 'qemu'],
          default: 'kvm',
          description: 'qemu runs with TCG emulation where KVM is not available.',
        },
      },
    },
    proxmox: {
      type: 'object',
      additionalProperties: false,
      required: ['endpoint', 'node', 'tokenSecretRef'],
      properties: {
        endpoint: { type: 'string', pattern: HTTP_ENDPOINT, maxLength: 512 },
        node: { type: 'string', pattern: DNS_LABEL, maxLength: 63 },
        tokenSecretRef: { ...secretRefSchema, description: 'Secret with `tokenId` and `tokenSecret`.' },
        tlsInsecure: { type: 'boolean', default: false },
        caSecretRef: secretRefSchema,
        storage: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$', default: 'local-lvm' },
        bridge: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$', default: 'vmbr0' },
      },
    },
  },
} as const;

export const machineSizeProperties = {
  cpu: { type: 'integer', minimum: 1, maximum: MACHINE_LIMITS.cpu, default: 1 },
  memoryMiB: { type: 'integer', minimum: 256, maximum: MACHINE_LIMITS.memoryMiB, default: 1024 },
  diskGiB: { type: 'integer', minimum: 1, maximum: MACHINE_LIMITS.diskGiB, default: 10 },
} as const;

export const machineStatusSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string' },
    id: { type: 'string', description: 'The libvirt domain name or the Proxmox VM id.' },
    mac: { type: 'string' },
    address: { type: 'string' },
    state: { type: 'string' },
    sshPort: { type: 'integer' },
    vncPort: { type: 'integer' },
    hostKey: { type: 'string', description: 'SSH host key pinned on first contact (OpenSSH public key line).' },
  },
} as const;
