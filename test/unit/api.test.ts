import { describe, expect, it } from 'vitest';
import { getCondition, isConditionTrue, setCondition } from '../../src/api/conditions.js';
import { findKind } from '../../src/api/kinds.js';
import { formatPath, validateManifest, validateSecret, type FieldError } from '../../src/api/validate.js';

const API = 'orion.lab/v1alpha1';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0ZXN0a2V5 alice@laptop';

const node = (spec: Record<string, unknown> = {}): unknown => ({
  apiVersion: API,
  kind: 'Node',
  metadata: { name: 'worker-1', labels: { zone: 'a' } },
  spec: { address: '10.0.0.11', secretRef: { name: 'ssh-key' }, ...spec },
});

const rental = (spec: Record<string, unknown> = {}): unknown => ({
  apiVersion: API,
  kind: 'Rental',
  metadata: { name: 'alice', namespace: 'tenants' },
  spec: { user: 'alice', sshPublicKeys: [KEY], ...spec },
});

const rentalClass = (spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): unknown => ({
  apiVersion: API,
  kind: 'RentalClass',
  metadata: { name: 'students', ...metadata },
  spec,
});

const lab = (machine: Record<string, unknown> = {}, spec: Record<string, unknown> = {}): unknown => ({
  apiVersion: API,
  kind: 'Lab',
  metadata: { name: 'course' },
  spec: { machines: [{ name: 'web', ...machine }], ...spec },
});

const desktop = (spec: Record<string, unknown> = {}): unknown => ({
  apiVersion: API,
  kind: 'Desktop',
  metadata: { name: 'bob-desk' },
  spec: { user: 'bob', className: 'desktops', image: 'xfce', ...spec },
});

/** The errors of an invalid document (fails the test if the document is valid). */
function errorsOf(doc: unknown): FieldError[] {
  const result = validateManifest(doc);
  if (result.ok) throw new Error(`expected ${JSON.stringify(doc)} to be invalid`);
  return result.errors;
}

function valid(doc: unknown): Record<string, unknown> & { spec: Record<string, unknown>; metadata: Record<string, unknown> } {
  const result = validateManifest(doc);
  if (!result.ok) throw new Error(`expected valid, got ${JSON.stringify(result.errors)}`);
  return result.value as never;
}

describe('validateManifest: valid examples get their defaults', () => {
  it('Node: port 22, user root, probe defaults, namespace default', () => {
    const value = valid(node());
    expect(value.metadata).toEqual({ name: 'worker-1', namespace: 'default', labels: { zone: 'a' } });
    expect(value.spec).toMatchObject({
      port: 22,
      user: 'root',
      unschedulable: false,
      probe: { intervalSeconds: 10, timeoutSeconds: 5, failureThreshold: 3, successThreshold: 1 },
    });
  });

  it('Node: given values are kept, partial probe is completed', () => {
    const spec = valid(node({ port: 2222, user: 'probe', probe: { failureThreshold: 5 } })).spec;
    expect(spec.port).toBe(2222);
    expect(spec.user).toBe('probe');
    expect(spec.probe).toEqual({ intervalSeconds: 10, timeoutSeconds: 5, failureThreshold: 5, successThreshold: 1 });
  });

  it('Rental: default selector and sudo; no class named (the default class applies), no playbooks', () => {
    const value = valid(rental());
    expect(value.metadata.namespace).toBe('tenants');
    expect(value.spec).toEqual({ user: 'alice', sshPublicKeys: [KEY], sudo: false, nodeSelector: {} });
    expect(valid(rental({ className: 'gpu-pool' })).spec.className).toBe('gpu-pool');
  });

  it('RentalClass: cluster-scoped (namespace \'\'), default playbooks create_user / delete_user, no sudo', () => {
    const value = valid(rentalClass());
    expect(value.metadata).toEqual({ name: 'students', namespace: '' });
    expect(value.spec).toEqual({ playbooks: { create: 'create_user', delete: 'delete_user' }, allowSudo: false });
    expect(valid(rentalClass({ maxTtlSeconds: 3600, nodeSelector: { matchLabels: { pool: 'a' } }, quota: { rentalsPerUser: 2 } })).spec)
      .toMatchObject({ maxTtlSeconds: 3600, nodeSelector: { matchLabels: { pool: 'a' } }, quota: { rentalsPerUser: 2 } });
  });

  it('RentalClass: a namespace is refused (cluster-scoped); unknown fields too', () => {
    expect(errorsOf(rentalClass({}, { namespace: 'default' }))).toEqual([
      expect.objectContaining({ field: 'metadata.namespace', message: 'must be left out: the kind is cluster-scoped' }),
    ]);
    expect(errorsOf(rentalClass({ sudo: true }))[0]).toMatchObject({ field: 'spec.sudo', message: 'unknown field' });
  });

  it('Lab: machine size, count, power state and drift detection defaults', () => {
    const spec = valid(lab()).spec;
    expect(spec.machines).toEqual([{ name: 'web', count: 1, cpu: 1, memoryMiB: 1024, diskGiB: 10 }]);
    expect(spec.powerState).toBe('Running');
    expect(spec.driftDetection).toEqual({ intervalSeconds: 600, autoRepair: false });
  });

  it('Lab: the limits themselves are accepted (cpu 8, 16384 MiB, 500 GiB, count 1 and 20)', () => {
    valid(lab({ cpu: 8, memoryMiB: 16384, diskGiB: 500, count: 20 }));
    valid(lab({ count: 1 }));
  });

  it('Desktop: TTL and idle timeout defaults; the class\'s desktop playbook and home share defaults', () => {
    const spec = valid(desktop()).spec;
    expect(spec).toMatchObject({ ttlSeconds: 28800, idleTimeoutSeconds: 3600, warningSeconds: 300 });
    const klass = valid({ apiVersion: API, kind: 'MachineClass', metadata: { name: 'desktops' }, spec: { hypervisor: 'pve', desktop: { pamMount: { server: 'files', share: 'home' } } } }).spec;
    expect(klass.desktop).toEqual({ playbook: 'desktop', pamMount: { server: 'files', share: 'home', mountpoint: '~/share' } });
  });

  it('a Desktop may no longer name a provider or a template, nor carry the AD join or the home share itself', () => {
    const errors = errorsOf(desktop({ provider: { type: 'libvirt' }, template: 'xfce' }));
    expect(errors).toEqual(expect.arrayContaining([
      { field: 'spec.provider', path: ['spec', 'provider'], message: expect.stringContaining('name a MachineClass in spec.className') },
      { field: 'spec.template', path: ['spec', 'template'], message: expect.stringContaining('one of its images in spec.image') },
    ]));
    const objects = errorsOf(desktop({ adJoin: { domain: 'ad.lan', credentialsSecretRef: { name: 'x' } }, pamMount: { server: 'evil.example', share: 's' } }));
    expect(objects.map((e) => e.field)).toEqual(expect.arrayContaining(['spec.adJoin', 'spec.pamMount']));
    expect(objects.find((e) => e.field === 'spec.pamMount')?.message).toMatch(/boolean/);
    expect(errorsOf(desktop({ image: '/var/lib/libvirt/images/other-lab.qcow2' })).map((e) => e.field)).toEqual(['spec.image']);
  });

  it('drops status from a manifest and does not modify its input', () => {
    const doc = { ...(node() as object), status: { health: 'Alive' } };
    const before = structuredClone(doc);
    const value = valid(doc);
    expect(value).not.toHaveProperty('status');
    expect(doc).toEqual(before);
  });
});

describe('validateManifest: specific field errors', () => {
  it.each([
    [{ create: 'create_user' }],
    [{ delete: 'create_user' }],
    [{}],
  ])('a Rental may not choose its playbooks (%j): refused, pointing to RentalClass', (playbooks) => {
    const errors = errorsOf(rental({ playbooks }));
    expect(errors).toEqual([{ field: 'spec.playbooks', path: ['spec', 'playbooks'], message: expect.stringContaining('name a RentalClass in spec.className') }]);
  });

  it('a Rental\'s className is a DNS label', () => {
    expect(errorsOf(rental({ className: '../x' }))[0]).toMatchObject({ field: 'spec.className', message: expect.stringContaining('must match') });
  });

  it.each([
    ['root', 'is a reserved value'],
    ['sshd', 'is a reserved value'],
    ['../x', 'must match'],
    ['a;reboot', 'must match'],
    ['$(id)', 'must match'],
    ['Alice', 'must match'],
    ['', 'must match'],
  ])('Rental user %j is refused on spec.user (%s)', (user, message) => {
    const errors = errorsOf(rental({ user }));
    expect(errors.map((e) => e.field)).toEqual(['spec.user']);
    expect(errors[0]?.message).toContain(message);
  });

  it('Rental user of 300 characters is refused for its length', () => {
    const errors = errorsOf(rental({ user: 'a'.repeat(300) }));
    expect(errors).toContainEqual(expect.objectContaining({ field: 'spec.user', message: 'must NOT have more than 32 characters' }));
  });

  it('a playbook is a name, never a path', () => {
    expect(errorsOf(rentalClass({ playbooks: { create: 'roles/evil' } }))).toEqual([
      expect.objectContaining({ field: 'spec.playbooks.create', message: expect.stringContaining('must match') }),
    ]);
    expect(errorsOf(rentalClass({ playbooks: { delete: '../../etc/passwd' } }))[0]?.field).toBe('spec.playbooks.delete');
    expect(errorsOf(lab({}, { ansible: { playbook: 'site/main.yml' } }))[0]?.field).toBe('spec.ansible.playbook');
    valid(lab({}, { ansible: { playbook: 'site.yml' } }));
  });

  it.each([
    [{ cpu: 9 }, 'spec.machines[0].cpu', 'must be <= 8'],
    [{ memoryMiB: 20000 }, 'spec.machines[0].memoryMiB', 'must be <= 16384'],
    [{ diskGiB: 501 }, 'spec.machines[0].diskGiB', 'must be <= 500'],
    [{ count: 0 }, 'spec.machines[0].count', 'must be >= 1'],
    [{ count: 21 }, 'spec.machines[0].count', 'must be <= 20'],
    [{ name: 'Bad_Name' }, 'spec.machines[0].name', 'must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'],
    [{ cpu: '2' }, 'spec.machines[0].cpu', 'must be integer'],
  ])('Lab machine %j → %s: %s', (machine, field, message) => {
    expect(errorsOf(lab(machine))).toEqual([{ field, path: expect.any(Array), message }]);
  });

  it('reports every invalid field of a document at once', () => {
    const fields = errorsOf(lab({ cpu: 9, diskGiB: 501 })).map((e) => e.field);
    expect(fields.sort()).toEqual(['spec.machines[0].cpu', 'spec.machines[0].diskGiB']);
  });

  it('an unknown field is named with its full path', () => {
    expect(errorsOf(node({ adress: 'typo' }))).toEqual([{ field: 'spec.adress', path: ['spec', 'adress'], message: 'unknown field' }]);
    expect(errorsOf(node({ probe: { intervalSecs: 3 } }))[0]?.field).toBe('spec.probe.intervalSecs');
  });

  it('a missing required field is named', () => {
    expect(errorsOf(node({ secretRef: undefined }))).toEqual([
      { field: 'spec.secretRef', path: ['spec', 'secretRef'], message: 'required field is missing' },
    ]);
  });

  it('wrong apiVersion and unknown kind are refused before the schema', () => {
    expect(errorsOf({ ...(node() as object), apiVersion: 'v1' })).toEqual([
      { field: 'apiVersion', path: ['apiVersion'], message: 'must be "orion.lab/v1alpha1", got "v1"' },
    ]);
    expect(errorsOf({ ...(node() as object), kind: 'Pod' })[0]).toMatchObject({ field: 'kind', message: expect.stringContaining('unknown kind "Pod"') });
    expect(errorsOf(['a list'])[0]).toMatchObject({ field: '', message: 'a manifest must be a YAML mapping' });
  });

  it('an invalid resource name is refused on metadata.name', () => {
    expect(errorsOf({ ...(node() as object), metadata: { name: 'Worker_1' } })[0]?.field).toBe('metadata.name');
  });

  it('port out of range', () => {
    expect(errorsOf(node({ port: 70000 }))).toEqual([{ field: 'spec.port', path: ['spec', 'port'], message: 'must be <= 65535' }]);
  });
});

describe('validateSecret', () => {
  it('decodes data from base64 and lets stringData win over it', () => {
    const result = validateSecret({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'ssh-key' },
      data: { privateKey: Buffer.from('KEY-FROM-DATA').toString('base64'), user: Buffer.from('x').toString('base64') },
      stringData: { user: 'probe' },
    });
    expect(result).toEqual({
      ok: true,
      value: { kind: 'Secret', metadata: { name: 'ssh-key', namespace: 'default' }, data: { privateKey: 'KEY-FROM-DATA', user: 'probe' } },
    });
  });

  it('refuses data that is not base64', () => {
    const result = validateSecret({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: 'not base64!' } });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]?.field).toBe('data.k');
  });
});

describe('formatPath and findKind', () => {
  it('formats paths with dots and indexes', () => {
    expect(formatPath(['spec', 'machines', 3, 'cpu'])).toBe('spec.machines[3].cpu');
    expect(formatPath([])).toBe('');
  });

  it('finds kinds by kind, plural, singular, short name and full name', () => {
    for (const name of ['Node', 'nodes', 'node', 'onode', 'nodes.orion.lab']) expect(findKind(name)?.kind).toBe('Node');
    expect(findKind('rent')?.kind).toBe('Rental');
    expect(findKind('pods')).toBeUndefined();
  });
});

describe('setCondition', () => {
  const t0 = new Date('2024-01-01T00:00:00Z');
  const t1 = new Date('2024-01-01T01:00:00Z');

  it('adds a condition with the transition time and observed generation', () => {
    const conditions = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Probing' }, 1, t0);
    expect(conditions).toEqual([
      { type: 'Ready', status: 'False', reason: 'Probing', message: '', observedGeneration: 1, lastTransitionTime: t0.toISOString() },
    ]);
  });

  it('keeps lastTransitionTime while the status is unchanged, even if reason and message change', () => {
    const first = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Alive' }, 1, t0);
    const second = setCondition(first, { type: 'Ready', status: 'True', reason: 'StillAlive', message: 'ok' }, 2, t1);
    expect(second).toEqual([
      { type: 'Ready', status: 'True', reason: 'StillAlive', message: 'ok', observedGeneration: 2, lastTransitionTime: t0.toISOString() },
    ]);
  });

  it('moves lastTransitionTime when the status changes, and leaves other conditions alone', () => {
    let conditions = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Alive' }, 1, t0);
    conditions = setCondition(conditions, { type: 'Degraded', status: 'False', reason: 'Fine' }, 1, t0);
    const next = setCondition(conditions, { type: 'Ready', status: 'False', reason: 'Dead' }, 1, t1);
    expect(getCondition(next, 'Ready')?.lastTransitionTime).toBe(t1.toISOString());
    expect(getCondition(next, 'Degraded')).toEqual(conditions[1]);
    expect(next.map((c) => c.type)).toEqual(['Ready', 'Degraded']);
    expect(isConditionTrue(next, 'Ready')).toBe(false);
    expect(isConditionTrue(conditions, 'Ready')).toBe(true);
    expect(conditions[0]?.status).toBe('True'); // the input list is not mutated
  });
});
