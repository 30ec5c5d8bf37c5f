// The one place the Desktop tests and benchmark build a Desktop manifest, its Secrets and the admin's classes it
// names: a Hypervisor (the bed's libvirt) and a default MachineClass offering desktops, with the template volume as
// its image, and — when the bed has an AD domain — the class's AD join (the join account's Secret) and home share.
import { hypervisorManifest, machineClassManifest } from './manifest-files.js';

/** The default MachineClass of the beds (what a Desktop falls under when it names none). */
export const DESKTOP_CLASS = 'desktops';
/** The image name Desktops name: the class maps it to the template volume. */
export const DESKTOP_IMAGE = 'xfce';

export interface DesktopPlace {
  /** The Hypervisor's spec: the bed's libvirt. */
  hypervisor: Record<string, unknown>;
  /** The template: a volume of the bed's pool. */
  templateVolume: string;
  /** The Secret with the key Orion configures and checks the machine with; none: Orion generates the Desktop's key. */
  sshKeySecret?: string;
}

/** The class's AD join and home share (the admin's): the domain, the join account's Secret, the file server. */
export interface ClassAd {
  domain: string;
  credentialsSecret: string;
  share?: { server: string; share: string; mountpoint?: string };
}

export interface DesktopCase {
  user: string;
  /** The portal user it belongs to (as the portal writes it when a tenant creates it); default none: an admin's. */
  owner?: string;
  /** A Secret with the user's RDP `password` (a local user). */
  passwordSecret?: string;
  /** Join the class's AD domain, and mount the class's share at login. */
  adJoin?: boolean;
  pamMount?: boolean;
  ttlSeconds?: number;
  idleTimeoutSeconds?: number;
  warningSeconds?: number;
  cpu?: number;
  memoryMiB?: number;
  diskGiB?: number;
}

/** The admin's Hypervisor and default MachineClass for the bed's Desktops (the AD join and share when given). */
export function desktopClassManifests(place: DesktopPlace, ad?: ClassAd): object[] {
  const desktop: Record<string, unknown> = {};
  if (ad) {
    desktop.adJoin = { domain: ad.domain, credentialsSecretRef: { name: ad.credentialsSecret } };
    if (ad.share) desktop.pamMount = ad.share;
  }
  return [
    hypervisorManifest('local', place.hypervisor),
    machineClassManifest(DESKTOP_CLASS, 'local', { images: [{ name: DESKTOP_IMAGE, volume: place.templateVolume }], desktop }, true),
  ];
}

export function desktopManifest(place: DesktopPlace, name: string, c: DesktopCase): object {
  const spec: Record<string, unknown> = {
    user: c.user,
    image: DESKTOP_IMAGE,
    cpu: c.cpu ?? 1,
    memoryMiB: c.memoryMiB ?? 1536,
    diskGiB: c.diskGiB ?? 8,
  };
  if (place.sshKeySecret) spec.sshKeySecretRef = { name: place.sshKeySecret };
  if (c.passwordSecret) spec.passwordSecretRef = { name: c.passwordSecret };
  if (c.adJoin) spec.adJoin = true;
  if (c.pamMount) spec.pamMount = true;
  for (const key of ['ttlSeconds', 'idleTimeoutSeconds', 'warningSeconds'] as const) {
    if (c[key] !== undefined) spec[key] = c[key];
  }
  const owned = c.owner ? { annotations: { 'orion.lab/owner': c.owner }, labels: { 'orion.lab/owner': c.owner } } : {};
  return { apiVersion: 'orion.lab/v1alpha1', kind: 'Desktop', metadata: { name, ...owned }, spec };
}

export function secretManifest(name: string, stringData: Record<string, string>): object {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData };
}
