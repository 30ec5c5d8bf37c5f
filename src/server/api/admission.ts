// What a request body may say, before anything is created. The body is data: its metadata may carry a name, labels
// and annotations; the namespace comes from the URL, the owner from the caller's identity, finalizers and status
// from Orion — a body that sets them is refused with the field named. In folder mode a tenant's spec is held to
// the portal's policy: their own login as the user, and only the fields a tenant may set (no Secret: the folder's are
// the admin's). (In Kubernetes mode RBAC is the policy: what a person may kubectl apply, they may send.) A Rental's
// playbooks, sudo and longest TTL are its RentalClass's, a Lab's and a Desktop's terms their MachineClass's, checked
// for every request (rental-classes.ts, machine-classes.ts, desktop-classes.ts).
import { randomBytes } from 'node:crypto';
import { API_VERSION } from '../../api/group.js';
import { DNS_LABEL } from '../../base/names.js';
import type { KindName } from '../../api/types.js';
import { desktopKind } from '../../api/schemas/desktop.js';
import { labKind } from '../../api/schemas/lab.js';
import { validateManifest } from '../../api/validate.js';
import type { NewObject } from '../../store/store.js';
import { OWNER_ANNOTATION, OWNER_LABEL, loginOf, ownerLabelValue, type Identity } from '../auth/identity.js';
import { ApiProblem } from '../problem.js';
import type { PortalPolicy } from './policy.js';

const SERVER_SET_METADATA = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink'];
const RESERVED_PREFIX = 'orion.lab/';
const NAME = new RegExp(DNS_LABEL);

export interface AdmissionContext {
  identity: Identity;
  /** Folder mode tenants are held to the policy; admins and Kubernetes mode are not. */
  restricted: boolean;
  kind: KindName;
  namespace: string;
  policy: PortalPolicy;
}

export function admit(body: unknown, ctx: AdmissionContext): NewObject {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('the body must be a JSON object with "spec" (and optionally "metadata")');
  const { metadata = {}, spec } = checkShape(body as Record<string, unknown>, ctx.kind);
  const meta = admitMetadata(metadata, ctx);
  const admitted = ctx.restricted ? restrictSpec(spec, ctx) : spec;
  const candidate: NewObject = { apiVersion: API_VERSION, kind: ctx.kind, metadata: meta, spec: admitted };
  const result = validateManifest(candidate);
  if (!result.ok) {
    const errors = result.errors.map((e) => ({ field: e.field, message: e.message }));
    throw new ApiProblem(422, `the ${ctx.kind} is invalid: ${errors.map((e) => `${e.field || '(body)'} ${e.message}`).join('; ')}`, { errors });
  }
  return result.value;
}

/** The body's top level: apiVersion, kind, metadata and spec, nothing else, and never a status. */
function checkShape(body: Record<string, unknown>, kind: KindName): { metadata?: unknown; spec: Record<string, unknown> } {
  const { apiVersion, kind: bodyKind, metadata, spec, status, ...rest } = body;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw bad(`unknown field "${unknown[0]}": a body has apiVersion, kind, metadata and spec`);
  if (status !== undefined) throw bad('status is written by Orion\'s controllers, never by a request');
  if (apiVersion !== undefined && apiVersion !== API_VERSION) throw bad(`apiVersion must be "${API_VERSION}"`);
  if (bodyKind !== undefined && bodyKind !== kind) throw bad(`kind must be "${kind}" at this URL`);
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw bad('spec is required and must be an object');
  return { metadata, spec: spec as Record<string, unknown> };
}

/** Fields of metadata that the server or Orion sets: named in the refusal. */
function refuseServerFields(m: Record<string, unknown>, namespace: string): void {
  if (m.namespace !== undefined && m.namespace !== namespace) throw bad(`metadata.namespace: the namespace is "${namespace}", set by the URL`);
  if (m.finalizers !== undefined) throw bad('metadata.finalizers: set by Orion, never by a request');
  if (m.ownerReferences !== undefined) throw bad('metadata.ownerReferences: set by Orion, never by a request');
  const serverSet = SERVER_SET_METADATA.find((f) => m[f] !== undefined);
  if (serverSet) throw bad(`metadata.${serverSet}: set by the server, never by a request`);
  const known = new Set(['name', 'generateName', 'namespace', 'labels', 'annotations']);
  const other = Object.keys(m).find((k) => !known.has(k));
  if (other) throw bad(`metadata.${other}: unknown field`);
}

function admitMetadata(metadata: unknown, ctx: AdmissionContext): NewObject['metadata'] {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw bad('metadata must be an object');
  const m = metadata as Record<string, unknown>;
  refuseServerFields(m, ctx.namespace);
  const labels = stringMap(m.labels, 'metadata.labels');
  const annotations = stringMap(m.annotations, 'metadata.annotations');
  for (const [field, map] of [['labels', labels], ['annotations', annotations]] as const) {
    const reserved = Object.keys(map ?? {}).find((k) => k.startsWith(RESERVED_PREFIX));
    if (reserved) throw bad(`metadata.${field}.${reserved}: keys under ${RESERVED_PREFIX} are set by Orion (the owner comes from your identity)`);
  }
  const name = m.name ?? generatedName(m.generateName, ctx);
  if (typeof name !== 'string' || !NAME.test(name) || name.length > 63) throw bad('metadata.name must be a DNS label: lower-case letters, digits and "-", at most 63');
  return {
    name,
    namespace: ctx.namespace,
    labels: { ...labels, [OWNER_LABEL]: ownerLabelValue(ctx.identity.name) },
    annotations: { ...annotations, [OWNER_ANNOTATION]: ctx.identity.name },
  };
}

function generatedName(prefix: unknown, ctx: AdmissionContext): string {
  const base = typeof prefix === 'string' && prefix ? prefix.replace(/-+$/, '') : (loginOf(ctx.identity) ?? ctx.kind.toLowerCase()).replace(/_/g, '-');
  return `${base.slice(0, 50)}-${randomBytes(4).toString('hex').slice(0, 5)}`.replace(/^-+/, 'x-');
}

function stringMap(value: unknown, field: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw bad(`${field} must map strings to strings`);
  }
  return value as Record<string, string>;
}

/** A folder-mode tenant's spec, held to the policy. */
function restrictSpec(spec: Record<string, unknown>, ctx: AdmissionContext): Record<string, unknown> {
  const login = loginOf(ctx.identity);
  switch (ctx.kind) {
    case 'Rental':
      return restrictRental(spec, ownLogin(spec, login));
    case 'Desktop':
      return restrictDesktop(spec, ownLogin(spec, login));
    case 'Lab':
      return restrictLab(spec);
    default:
      throw new ApiProblem(403, `${ctx.kind} objects are written by admins only`);
  }
}

/** The machines' login is the caller's own: never another person's account. */
function ownLogin(spec: Record<string, unknown>, login: string | undefined): string {
  if (!login) throw new ApiProblem(403, 'your identity has no usable login name (a POSIX login that is not a system account); ask an admin');
  if (spec.user !== undefined && spec.user !== login) throw bad(`spec.user must be your own login "${login}" (or left out)`);
  return login;
}

/** The tenant's own login; the rest (className, sudo, TTL, selector) is held to the class by rental-classes.ts. */
function restrictRental(spec: Record<string, unknown>, user: string): Record<string, unknown> {
  return { ...spec, user };
}

const DESKTOP_TENANT_FIELDS = new Set([
  'user', 'className', 'image', 'cpu', 'memoryMiB', 'diskGiB', 'adJoin', 'pamMount', 'ttlSeconds', 'idleTimeoutSeconds', 'warningSeconds',
]);

/**
 * The fields a folder-mode tenant's Desktop may set (the folder's Secrets are the admin's: no passwordSecretRef or
 * sshKeySecretRef; Orion generates both). What they name — the class, its image, sizes, TTL, AD and home share — is
 * held to the class by desktop-classes.ts.
 */
function restrictDesktop(spec: Record<string, unknown>, user: string): Record<string, unknown> {
  // A retired field (provider, template) goes on to validation, whose message says what replaced it.
  const retired = Object.keys(desktopKind.retiredFields);
  const chosen = Object.keys(spec).find((k) => !DESKTOP_TENANT_FIELDS.has(k) && !retired.includes(k));
  if (chosen) throw bad(`spec.${chosen} is not for tenants; a tenant may set ${[...DESKTOP_TENANT_FIELDS].join(', ')}`);
  return { ...spec, user };
}

const LAB_TENANT_FIELDS = new Set(['className', 'machines', 'ansible', 'powerState', 'driftDetection']);
const MACHINE_TENANT_FIELDS = new Set(['name', 'count', 'cpu', 'memoryMiB', 'diskGiB', 'image']);

/**
 * The fields a folder-mode tenant's Lab may set (the folder's Secrets are the admin's: no sshKeySecretRef). What they
 * may name — the class, its images and playbooks, sizes within its limits — is held to the class by machine-classes.ts.
 */
function restrictLab(spec: Record<string, unknown>): Record<string, unknown> {
  // A retired field (provider, kernel …) goes on to validation, whose message says what replaced it.
  const retired = Object.keys(labKind.retiredFields);
  const chosen = Object.keys(spec).find((k) => !LAB_TENANT_FIELDS.has(k) && !retired.includes(k));
  if (chosen) throw bad(`spec.${chosen} is not for tenants; a tenant may set ${[...LAB_TENANT_FIELDS].join(', ')}`);
  const machines = Array.isArray(spec.machines) ? spec.machines : [];
  machines.forEach((machine: unknown, i) => {
    const m = (machine ?? {}) as Record<string, unknown>;
    const field = Object.keys(m).find((k) => !MACHINE_TENANT_FIELDS.has(k) && !retired.includes(`machines[].${k}`));
    if (field) throw bad(`spec.machines[${i}].${field} is not for tenants (allowed: ${[...MACHINE_TENANT_FIELDS].join(', ')})`);
  });
  return spec;
}

function bad(detail: string): ApiProblem {
  return new ApiProblem(400, detail);
}
