// Hypervisor: where an admin's machines are made and the credentials to make them — a libvirt connection (URI,
// storage pool, network, domain type) or a Proxmox VE endpoint (https only) with its API token and CA Secrets.
// Cluster-scoped and admin-owned: only an admin names an endpoint, a URI or a credential; a MachineClass names the
// Hypervisor, a tenant's Lab names the class (ADR 24). No status: nothing reconciles it.
import { DNS_LABEL } from '../../base/names.js';
import { HTTPS_ENDPOINT, providerSchema } from './provider.js';

/**
 * A Secret named by a cluster-scoped object carries its namespace: left out, the namespace Orion's own objects live
 * in ("default" in folder mode, Orion's own namespace in kube mode: `--secret-namespace`).
 */
export const classSecretRefSchema = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    namespace: { type: 'string', pattern: DNS_LABEL, maxLength: 63 },
    name: { type: 'string', pattern: DNS_LABEL, maxLength: 253 },
  },
} as const;

const { libvirt, proxmox } = providerSchema.properties;

export const hypervisorSpecSchema = {
  type: 'object',
  required: ['type'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', enum: ['libvirt', 'proxmox'] },
    libvirt,
    proxmox: {
      ...proxmox,
      properties: {
        ...proxmox.properties,
        endpoint: { type: 'string', pattern: HTTPS_ENDPOINT, maxLength: 512, description: 'The Proxmox VE API, https:// only: the token travels with every request.' },
        tokenSecretRef: { ...classSecretRefSchema, description: 'Secret with `tokenId` and `tokenSecret`.' },
        caSecretRef: { ...classSecretRefSchema, description: 'Secret with `ca.crt`, the CA that signs the endpoint\'s certificate.' },
      },
    },
  },
} as const;

export const hypervisorKind = {
  kind: 'Hypervisor',
  plural: 'hypervisors',
  singular: 'hypervisor',
  shortNames: ['hv'],
  scope: 'Cluster',
  specSchema: hypervisorSpecSchema,
  printerColumns: [
    { name: 'Type', type: 'string', jsonPath: '.spec.type' },
    { name: 'URI', type: 'string', jsonPath: '.spec.libvirt.uri' },
    { name: 'Endpoint', type: 'string', jsonPath: '.spec.proxmox.endpoint' },
  ],
} as const;
