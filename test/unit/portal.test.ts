// Pieces of the portal that decide alone: tokens (hashes only, expiry, revocation), admission (a table of what a
// tenant's body may not say), the host check's idea of a host, run ids.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRunId, runId } from '../../src/exec/run-catalog.js';
import { admit } from '../../src/server/api/admission.js';
import { policyFromFlags } from '../../src/server/api/policy.js';
import { loginOf, ownerLabelValue, type Identity } from '../../src/server/auth/identity.js';
import { TokenStore } from '../../src/server/auth/tokens.js';
import { hostOf, isLoopback } from '../../src/server/transport.js';
import { parseDuration } from '../../src/cli/token.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOr1Ck0Plr9mNgmzxpOCMdrG3J2r9FBmSuMMd8JbhkE1 t@x';
const dana: Identity = { name: 'dana', groups: [], admin: false, via: 'token' };

describe('tokens', () => {
  it('keeps only hashes, verifies, expires and revokes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orion-tokens-'));
    try {
      const store = new TokenStore(join(dir, 'tokens.json'));
      const { token } = await store.create('dana');
      const { token: old } = await store.create('erin', { ttlMs: 1 });
      expect(readFileSync(join(dir, 'tokens.json'), 'utf8')).not.toContain(token.slice(6));
      expect(await store.verify(token)).toMatchObject({ name: 'dana', admin: false });
      await new Promise((r) => setTimeout(r, 5));
      expect(await store.verify(old)).toBeUndefined();
      await expect(store.create('dana')).rejects.toThrow(/exists; revoke it first/);
      await expect(store.create('../x')).rejects.toThrow(/POSIX login/);
      expect(await store.revoke('dana')).toBe(true);
      expect(await store.verify(token)).toBeUndefined();
      expect(await store.verify('not-ours')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads durations', () => {
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('90m')).toBe(5_400_000);
    expect(() => parseDuration('1 week')).toThrow(/--ttl/);
  });
});

describe('admission of a tenant body (folder mode)', async () => {
  const policy = await policyFromFlags({});
  const ctx = { identity: dana, restricted: true, kind: 'Rental' as const, namespace: 'default', policy };
  const spec = { sshPublicKeys: [KEY] };

  it.each([
    [{ spec, status: {} }, /status is written by Orion/],
    [{ spec, metadata: { namespace: 'x' } }, /metadata\.namespace/],
    [{ spec, metadata: { uid: 'u' } }, /metadata\.uid: set by the server/],
    [{ spec, metadata: { finalizers: [] } }, /metadata\.finalizers/],
    [{ spec, metadata: { ownerReferences: [] } }, /metadata\.ownerReferences/],
    [{ spec, metadata: { annotations: { 'orion.lab/owner': 'x' } } }, /orion\.lab\/owner/],
    [{ spec, metadata: { name: '../etc' } }, /DNS label/],
    [{ spec: { ...spec, user: 'root' } }, /spec\.user must be your own login "dana"/],
    [{ spec: { ...spec, user: 'erin' } }, /spec\.user must be your own login/],
    [{ spec: { ...spec, playbooks: { delete: '/bin/sh' } } }, /spec\.playbooks removed: .*name a RentalClass/],
    [{ spec: { ...spec, playbooks: { delete: 'create_user' } } }, /spec\.playbooks removed/],
    [{ spec, kind: 'Node' }, /kind must be "Rental"/],
    [{ spec, extra: 1 }, /unknown field "extra"/],
    [[], /JSON object/],
  ])('refuses %j', (body, message) => {
    expect(() => admit(body, ctx)).toThrow(message);
  });

  it('sets the owner and the login from the identity', () => {
    const admitted = admit({ spec }, ctx);
    expect(admitted.metadata.annotations?.['orion.lab/owner']).toBe('dana');
    expect(admitted.metadata.labels?.['orion.lab/owner']).toBe('dana');
    expect(admitted.metadata.name).toMatch(/^dana-[0-9a-f]{5}$/);
    expect((admitted.spec as { user: string }).user).toBe('dana');
  });

  it('holds Desktops and Labs to the fields a tenant may set (the class rules follow, desktop-classes.ts, machine-classes.ts)', () => {
    const desk = (spec: object) => admit({ spec }, { ...ctx, kind: 'Desktop' });
    expect(() => desk({ image: 'xfce', provider: { type: 'proxmox' } })).toThrow(/the Desktop is invalid: spec\.provider removed: .*name a MachineClass/);
    expect(() => desk({ image: 'xfce', template: 't.qcow2' })).toThrow(/spec\.template removed/);
    expect(() => desk({ image: 'xfce', passwordSecretRef: { name: 'admin-pw' } })).toThrow(/spec\.passwordSecretRef is not for tenants/);
    expect(() => desk({ image: 'xfce', sshKeySecretRef: { name: 'admin-key' } })).toThrow(/spec\.sshKeySecretRef is not for tenants/);
    expect(() => desk({ image: 'xfce', pamMount: { server: 'evil.example', share: 's' } })).toThrow(/spec\.pamMount/);
    const desktop = desk({ className: 'desktops', image: 'xfce', ttlSeconds: 600, adJoin: true });
    expect(desktop.spec).toMatchObject({ user: 'dana', className: 'desktops', image: 'xfce', ttlSeconds: 600, adJoin: true });
    const lab = (machine: object, spec: object = {}) => admit({ spec: { machines: [{ name: 'vm', ...machine }], ...spec } }, { ...ctx, kind: 'Lab' });
    expect(() => lab({ image: '/etc/shadow' })).toThrow(/the Lab is invalid: spec\.machines\[0\]\.image/);
    expect(() => lab({ userData: '#cloud-config' })).toThrow(/userData is not for tenants/);
    expect(() => lab({}, { sshKeySecretRef: { name: 'admin-key' } })).toThrow(/spec\.sshKeySecretRef is not for tenants/);
    expect(lab({ image: 'debian' }, { className: 'standard' }).spec).toMatchObject({ className: 'standard', machines: [{ name: 'vm', image: 'debian' }] });
  });
});

describe('identity, hosts and run ids', () => {
  it('derives logins and owner labels', () => {
    expect(loginOf(dana)).toBe('dana');
    expect(loginOf({ ...dana, name: 'system:serviceaccount:team:ci-bot', via: 'kubernetes' })).toBe('ci-bot');
    expect(loginOf({ ...dana, name: 'Alice@Example.org', via: 'kubernetes' })).toBe('alice');
    expect(loginOf({ ...dana, name: 'root' })).toBeUndefined();
    expect(ownerLabelValue('system:serviceaccount:team:ci')).toMatch(/^h[0-9a-f]{40}$/);
  });

  it('knows loopback and the host of a Host header', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '10.0.0.7', 'example.org'].some(isLoopback)).toBe(false);
    expect(hostOf('Evil.Example:8080')).toBe('evil.example');
    expect(hostOf('[::1]:9477')).toBe('[::1]');
  });

  it('round-trips run ids and refuses malformed ones', () => {
    const id = runId({ kind: 'Rental', namespace: 'default', name: 'alice' }, '20261121T222828.187Z-create_user');
    expect(id).toBe('rental.default.alice.20261121T222828.187Z-create_user');
    expect(parseRunId(id)).toEqual({ ref: { kind: 'Rental', namespace: 'default', name: 'alice' }, base: '20261121T222828.187Z-create_user' });
    for (const bad of ['rental.default.alice', 'rental.default.../x.20261121T222828.187Z-a', 'pod.default.a.20261121T222828.187Z-a', 'rental.default.a.x']) {
      expect(parseRunId(bad)).toBeUndefined();
    }
  });
});
