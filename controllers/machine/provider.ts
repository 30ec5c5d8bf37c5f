// A Hypervisor as the provider of the machine pipeline's resolved form (spec.ts): its Secret references carry their
// namespace (the one it names, else where Orion's own Secrets are). Pure; shared by Labs and Desktops.
import type { HypervisorResource } from '../../src/api/types.js';
import type { MachineProvider } from './spec.js';

export function providerOf(hypervisor: HypervisorResource, secretNamespace: string): MachineProvider {
  const { type, libvirt, proxmox } = hypervisor.spec;
  if (!proxmox) return { type, ...(libvirt ? { libvirt } : {}) };
  const { tokenSecretRef, caSecretRef, ...rest } = proxmox;
  return {
    type,
    ...(libvirt ? { libvirt } : {}),
    proxmox: {
      ...rest,
      tokenSecretRef: { namespace: tokenSecretRef.namespace ?? secretNamespace, name: tokenSecretRef.name },
      ...(caSecretRef ? { caSecretRef: { namespace: caSecretRef.namespace ?? secretNamespace, name: caSecretRef.name } } : {}),
    },
  };
}
