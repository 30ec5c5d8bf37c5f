// RentalClass: how a Rental's class is found (named, default, unknown, two defaults, none), what it refuses (sudo,
// TTL), how its pool narrows the tenant's selector, which playbook releases, what the portal makes of it, and the
// cluster-scoped kind in the shared pieces (refs, the folder store, orion get).
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BUILT_IN_TERMS, resolveTerms, type RentalTerms } from '../../src/api/rental-terms.js';
import { clusterRef, keyOf, parseRefKey, refKey } from '../../src/api/refs.js';
import type { NodeResource, RentalClassResource, RentalResource } from '../../src/api/types.js';
import { FolderStore } from '../../src/folder/store.js';
import { getCommand } from '../../src/cli/get.js';
import { matchesSelector } from '../../controllers/rental/scheduler.js';
import { checkClassPlaybooks, releasePlaybookOf } from '../../controllers/rental/class.js';
import { provisionHash } from '../../controllers/rental/terms.js';
import { checkClassQuota, rentalClassChoices, termsForRequest } from '../../src/server/api/rental-classes.js';
import type { Store } from '../../src/store/store.js';
import { ApiProblem } from '../../src/server/problem.js';
import { InvalidPlaybookError } from '../../src/exec/ansible/types.js';
import { openApiDocument } from '../../src/server/api/openapi.js';
import { toResource } from '../../src/kube/store.js';
import { TerminalError } from '../../src/runtime/errors.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0ZXN0a2V5 alice@laptop';

function rentalClass(name: string, spec: Partial<RentalClassResource['spec']> = {}, isDefault = false): RentalClassResource {
  return {
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'RentalClass',
    metadata: {
      name, namespace: '', uid: `uid-${name}`, generation: 1, resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z',
      ...(isDefault ? { annotations: { 'orion.lab/default-class': 'true' } } : {}),
    },
    spec: { playbooks: { create: 'create_user', delete: 'delete_user' }, allowSudo: false, ...spec },
  };
}

function rental(spec: Partial<RentalResource['spec']> = {}, extra: { owner?: string; status?: RentalResource['status'] } = {}): RentalResource {
  return {
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'Rental',
    metadata: {
      name: `r-${Math.random().toString(36).slice(2, 8)}`, namespace: 'default', uid: `u-${Math.random()}`, generation: 1, resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z',
      ...(extra.owner ? { labels: { 'orion.lab/owner': extra.owner }, annotations: { 'orion.lab/owner': extra.owner } } : {}),
    },
    spec: { user: 'alice', sshPublicKeys: [KEY], sudo: false, nodeSelector: {}, ...spec },
    ...(extra.status ? { status: extra.status } : {}),
  };
}

function node(labels: Record<string, string>): NodeResource {
  return {
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'Node',
    metadata: { name: 'n', namespace: 'default', uid: 'n-uid', generation: 1, resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z', labels },
    spec: { address: '10.0.0.1', port: 22, user: 'root', secretRef: { name: 'k' }, unschedulable: false, probe: { intervalSeconds: 10, timeoutSeconds: 5, failureThreshold: 3, successThreshold: 1 } },
  };
}

/** A store stand-in holding lists only: what the portal's class checks read. */
function listStore(classes: RentalClassResource[], rentals: RentalResource[] = []): Store {
  return { list: (kind: string) => (kind === 'RentalClass' ? classes : kind === 'Rental' ? rentals : []) } as unknown as Store;
}

const terms = (r: RentalResource, classes: RentalClassResource[]): RentalTerms => {
  const result = resolveTerms(r, classes);
  if ('refused' in result) throw new Error(`refused: ${result.message}`);
  return result;
};

describe('RentalClass resolution', () => {
  const students = rentalClass('students', { playbooks: { create: 'create_student', delete: 'delete_student' }, nodeSelector: { matchLabels: { pool: 'students' } } }, true);
  const staff = rentalClass('staff', { allowSudo: true, maxTtlSeconds: 3600 });

  it('no class at all: the built-in terms (create_user / delete_user, no sudo, no TTL cap, any node)', () => {
    expect(terms(rental(), [])).toEqual(BUILT_IN_TERMS);
    expect(BUILT_IN_TERMS).toEqual({ playbooks: { create: 'create_user', delete: 'delete_user' }, allowSudo: false, nodeSelector: {} });
  });

  it('no className: the class annotated orion.lab/default-class: "true"', () => {
    expect(terms(rental(), [staff, students])).toEqual({
      className: 'students', playbooks: { create: 'create_student', delete: 'delete_student' }, allowSudo: false, nodeSelector: { pool: 'students' },
    });
  });

  it('an explicit className wins over the default', () => {
    expect(terms(rental({ className: 'staff', ttlSeconds: 600 }), [staff, students])).toMatchObject({ className: 'staff', allowSudo: true, maxTtlSeconds: 3600 });
  });

  it('an unknown className is refused, naming the class', () => {
    expect(resolveTerms(rental({ className: 'gpu' }), [staff, students])).toEqual({ refused: 'UnknownClass', message: 'RentalClass "gpu" does not exist' });
    expect(resolveTerms(rental({ className: 'gpu' }), [])).toMatchObject({ refused: 'UnknownClass' });
  });

  it('two default classes: refused, naming both', () => {
    const other = rentalClass('another', {}, true);
    const result = resolveTerms(rental(), [students, other]);
    expect(result).toMatchObject({ refused: 'AmbiguousDefaultClass' });
    expect((result as { message: string }).message).toMatch(/RentalClasses "another" and "students" are both annotated orion\.lab\/default-class/);
    // naming a class is still fine
    expect(terms(rental({ className: 'another' }), [students, other]).className).toBe('another');
  });

  it('classes but no default: a rental naming none is refused (the built-in terms would bypass their pools)', () => {
    expect(resolveTerms(rental(), [staff])).toMatchObject({ refused: 'NoDefaultClass', message: expect.stringContaining('"staff"') });
  });

  it('sudo under a class that does not allow it is refused; allowed where the class allows it', () => {
    expect(resolveTerms(rental({ sudo: true }), [students])).toEqual({
      refused: 'SudoNotAllowed', message: 'RentalClass "students" does not allow sudo; ask without sudo, or name a class that allows it',
    });
    expect(resolveTerms(rental({ sudo: true }), [])).toMatchObject({ refused: 'SudoNotAllowed', message: expect.stringContaining('built-in') });
    expect(terms(rental({ sudo: true, className: 'staff', ttlSeconds: 600 }), [staff, students]).allowSudo).toBe(true);
  });

  it('a TTL above the class\'s longest, or none under a class that caps it, is refused', () => {
    expect(resolveTerms(rental({ className: 'staff', ttlSeconds: 3601 }), [staff])).toEqual({
      refused: 'TtlAboveClassMax', message: 'RentalClass "staff" allows a ttlSeconds of at most 3600; asked 3601',
    });
    expect(resolveTerms(rental({ className: 'staff' }), [staff])).toMatchObject({ refused: 'TtlAboveClassMax', message: expect.stringContaining('asked none') });
    expect(terms(rental({ className: 'staff', ttlSeconds: 3600 }), [staff]).maxTtlSeconds).toBe(3600);
    expect(terms(rental({ ttlSeconds: 31536000 }), []).maxTtlSeconds).toBeUndefined();
  });
});

describe('RentalClass node pool: the tenant\'s selector narrows it, never widens it', () => {
  const pool = { pool: 'students' };
  it.each([
    [{}, { pool: 'students' }, true],
    [{}, { pool: 'staff' }, false],
    [{}, {}, false],
    [{ zone: 'a' }, { pool: 'students', zone: 'a' }, true],
    [{ zone: 'a' }, { pool: 'students', zone: 'b' }, false],
    [{ pool: 'staff' }, { pool: 'staff' }, false], // the tenant cannot swap the pool
    [{ pool: 'staff' }, { pool: 'students' }, false],
  ])('tenant selector %j, node labels %j: %s', (own, labels, expected) => {
    expect(matchesSelector(node(labels), rental({ nodeSelector: { matchLabels: own } }), pool)).toBe(expected);
  });

  it('without a pool, the tenant\'s selector alone decides (as before classes)', () => {
    expect(matchesSelector(node({ zone: 'a' }), rental({ nodeSelector: { matchLabels: { zone: 'a' } } }))).toBe(true);
    expect(matchesSelector(node({}), rental())).toBe(true);
  });
});

describe('what Orion runs for a Rental comes from its class', () => {
  const custom = rentalClass('custom', { playbooks: { create: 'create_student', delete: 'delete_student' } }, true);

  it('release: the class\'s delete playbook; the one recorded at creation once the class is gone; else delete_user', () => {
    expect(releasePlaybookOf(rental(), [custom])).toBe('delete_student');
    expect(releasePlaybookOf(rental({ className: 'gone' }, { status: { releasePlaybook: 'delete_student' } }), [custom])).toBe('delete_student');
    expect(releasePlaybookOf(rental({ className: 'gone' }), [custom])).toBe('delete_user');
    expect(releasePlaybookOf(rental(), [])).toBe('delete_user');
    // a sudo refusal does not change which playbook releases the tenant
    expect(releasePlaybookOf(rental({ sudo: true }), [custom])).toBe('delete_student');
  });

  it('create_user\'s inputs include the class\'s create playbook: a class that changes it runs it again', () => {
    const r = rental();
    const before = provisionHash(r, node({}), terms(r, []), undefined);
    expect(provisionHash(r, node({}), terms(r, [custom]), undefined)).not.toBe(before);
    expect(provisionHash(r, node({}), terms(r, []), undefined)).toBe(before);
  });

  it('a class whose playbook does not resolve is a terminal InvalidPlaybook naming the class', () => {
    const runner = {
      resolvePlaybook: (name: string): string => {
        if (name === 'delete_student') throw new InvalidPlaybookError('playbook "delete_student" not found');
        return name;
      },
    };
    let thrown: unknown;
    try {
      checkClassPlaybooks(runner, terms(rental(), [custom]));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TerminalError);
    expect(thrown).toMatchObject({ reason: 'InvalidPlaybook', message: 'RentalClass "custom": playbook "delete_student" not found' });
    expect(() => checkClassPlaybooks(runner, terms(rental(), []))).not.toThrow();
  });
});

describe('the portal and RentalClasses', () => {
  const students = rentalClass('students', { quota: { rentalsPerUser: 1 } }, true);
  const staff = rentalClass('staff', { allowSudo: true, maxTtlSeconds: 3600 });
  const dana = { name: 'dana', groups: [], admin: false, via: 'token' as const };

  it('a refused Rental is a 400 naming the class, before anything exists', () => {
    const store = listStore([students, staff]);
    expect(() => termsForRequest(store, rental({ sudo: true }).spec)).toThrow(/spec\.className: RentalClass "students" does not allow sudo/);
    expect(() => termsForRequest(store, rental({ className: 'nope' }).spec)).toThrow(ApiProblem);
    expect(termsForRequest(store, rental({ className: 'staff', sudo: true, ttlSeconds: 60 }).spec).className).toBe('staff');
  });

  it('the class\'s per-person quota counts that person\'s live Rentals of that class (admins are not held to it)', () => {
    const held = rental({}, { owner: 'dana' });
    const elsewhere = rental({ className: 'staff' }, { owner: 'dana' });
    const others = rental({}, { owner: 'erin' });
    const store = listStore([students, staff], [held, elsewhere, others]);
    expect(() => checkClassQuota(store, dana, terms(rental(), [students, staff]))).toThrow(/at most 1 Rental\(s\) of RentalClass "students" and holds 1/);
    expect(() => checkClassQuota(store, { ...dana, admin: true }, terms(rental(), [students, staff]))).not.toThrow();
    expect(() => checkClassQuota(store, dana, terms(rental({ className: 'staff', ttlSeconds: 60 }), [students, staff]))).not.toThrow();
    expect(() => checkClassQuota(listStore([students, staff], [others]), dana, terms(rental(), [students, staff]))).not.toThrow();
  });

  it('the choices list the classes, the default first', () => {
    expect(rentalClassChoices(listStore([staff, students]))).toEqual([
      { name: 'students', default: true, allowSudo: false },
      { name: 'staff', default: false, allowSudo: true, maxTtlSeconds: 3600 },
    ]);
  });
});

describe('a cluster-scoped kind in the shared pieces', () => {
  let root: string | undefined;
  let store: FolderStore | undefined;
  afterEach(async () => {
    await store?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
    store = undefined;
    root = undefined;
  });

  it('kube store: an object of a cluster-scoped kind reads with namespace \'\' (the API server sends none)', () => {
    const raw = { metadata: { name: 'students', uid: 'u', resourceVersion: '7', managedFields: [] }, spec: {} };
    expect(toResource('RentalClass', raw).metadata).toEqual({ name: 'students', namespace: '', uid: 'u', resourceVersion: '7' });
    expect(toResource('Rental', { metadata: { name: 'a', namespace: 'team-a' } }).metadata.namespace).toBe('team-a');
  });

  it('OpenAPI: RentalClasses are listed (GET /api/v1/rentalclasses) and have no namespaced or write path', () => {
    const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, { properties?: object }> } };
    expect(Object.keys(doc.paths['/api/v1/rentalclasses'] ?? {})).toEqual(['get']);
    expect(Object.keys(doc.paths).filter((p) => p.includes('rentalclasses'))).toEqual(['/api/v1/rentalclasses']);
    expect(doc.components.schemas.RentalClass?.properties).not.toHaveProperty('status');
    expect(doc.components.schemas).not.toHaveProperty('NewRentalClass');
    expect(doc.components.schemas.Rental?.properties).toHaveProperty('status');
  });

  it('refs: the key has an empty namespace and parses back; a namespaced kind still needs one', () => {
    const ref = clusterRef('RentalClass', 'students');
    expect(refKey(ref)).toBe('RentalClass//students');
    expect(parseRefKey('RentalClass//students')).toEqual(ref);
    expect(() => parseRefKey('RentalClass/default/students')).toThrow(/malformed/);
    expect(() => parseRefKey('Rental//alice')).toThrow(/malformed/);
  });

  it('folder store: a RentalClass manifest without namespace is stored under an empty namespace; orion get lists it', async () => {
    root = mkdtempSync(join(tmpdir(), 'orion-rclass-'));
    const dir = join(root, 'manifests');
    mkdirSync(dir);
    writeFileSync(join(dir, 'classes.yaml'), [
      'apiVersion: orion.lab/v1alpha1', 'kind: RentalClass', 'metadata:', '  name: students', '  annotations: { orion.lab/default-class: "true" }',
      'spec:', '  playbooks: { create: create_student }', '  maxTtlSeconds: 7200', '',
    ].join('\n'));
    store = new FolderStore({ dir, stateDir: join(root, 'state') });
    await store.start();
    const stored = store.get<RentalClassResource>(clusterRef('RentalClass', 'students'));
    expect(stored?.metadata.namespace).toBe('');
    expect(keyOf(stored as RentalClassResource)).toBe('RentalClass//students');
    expect(stored?.spec).toEqual({ playbooks: { create: 'create_student', delete: 'delete_user' }, allowSudo: false, maxTtlSeconds: 7200 });
    expect(store.list('RentalClass')).toHaveLength(1);
    await store.stop();
    store = undefined;
    const table = await getCommand('rc', undefined, { stateDir: join(root, 'state'), namespace: 'team-a' });
    expect(table).toMatch(/^NAME\s+CREATE\s+DELETE\s+SUDO\s+MAXTTL\s+DEFAULT\s+AGE/);
    expect(table).toMatch(/students\s+create_student\s+delete_user\s+false\s+7200\s+true/);
  });
});
