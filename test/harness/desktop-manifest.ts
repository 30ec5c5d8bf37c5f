// The one place the Desktop tests and benchmark build a Desktop manifest (and its Secrets). When the Desktop's
// spec changes (a MachineClass named by spec.className, spec.image), this is what changes.
export interface DesktopPlace {
  /** spec.provider of a Desktop on the bed's libvirt. */
  provider: Record<string, unknown>;
  /** The template: a volume of the bed's pool. */
  template: string;
  /** The Secret with the key Orion configures and checks the machine with. */
  sshKeySecret: string;
}

export interface DesktopCase {
  user: string;
  /** The portal user it belongs to (as the portal writes it when a tenant creates it); default none: an admin's. */
  owner?: string;
  /** A Secret with the user's RDP `password` (a local user). */
  passwordSecret?: string;
  /** Join an AD domain with the credentials of a Secret (`username`, `password`), and mount a share at login. */
  ad?: { domain: string; credentialsSecret: string; share?: { server: string; share: string; mountpoint?: string } };
  ttlSeconds?: number;
  idleTimeoutSeconds?: number;
  warningSeconds?: number;
  cpu?: number;
  memoryMiB?: number;
  diskGiB?: number;
}

export function desktopManifest(place: DesktopPlace, name: string, c: DesktopCase): object {
  const spec: Record<string, unknown> = {
    user: c.user,
    provider: place.provider,
    template: place.template,
    sshKeySecretRef: { name: place.sshKeySecret },
    cpu: c.cpu ?? 1,
    memoryMiB: c.memoryMiB ?? 1536,
    diskGiB: c.diskGiB ?? 8,
  };
  if (c.passwordSecret) spec.passwordSecretRef = { name: c.passwordSecret };
  if (c.ad) {
    spec.adJoin = { domain: c.ad.domain, credentialsSecretRef: { name: c.ad.credentialsSecret } };
    if (c.ad.share) spec.pamMount = c.ad.share;
  }
  for (const key of ['ttlSeconds', 'idleTimeoutSeconds', 'warningSeconds'] as const) {
    if (c[key] !== undefined) spec[key] = c[key];
  }
  const owned = c.owner ? { annotations: { 'orion.lab/owner': c.owner }, labels: { 'orion.lab/owner': c.owner } } : {};
  return { apiVersion: 'orion.lab/v1alpha1', kind: 'Desktop', metadata: { name, ...owned }, spec };
}

export function secretManifest(name: string, stringData: Record<string, string>): object {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData };
}
