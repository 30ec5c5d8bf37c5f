// Folder mode's writes through the store (what the portal does): objects created through the store live in the
// state directory alone, durably — they survive a restart, a manifest file cannot take them over, the portal
// cannot change a file's object, and delete() goes through the finalizers.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RentalResource } from '../../src/api/types.js';
import { AlreadyExistsError, InvalidObjectError, NotWritableError } from '../../src/store/errors.js';
import { FolderStore } from '../../src/folder/store.js';
import { FINALIZER } from '../../src/store/store.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOr1Ck0Plr9mNgmzxpOCMdrG3J2r9FBmSuMMd8JbhkE1 t@x';
const REF = { kind: 'Rental' as const, namespace: 'default', name: 'api-one' };
const rental = (name: string, user = 'dana') => ({
  apiVersion: 'orion.lab/v1alpha1',
  kind: 'Rental' as const,
  metadata: { name, namespace: 'default', annotations: { 'orion.lab/owner': 'dana' } },
  spec: { user, sshPublicKeys: [KEY] },
});

async function waitFor(check: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('FolderStore writes (create, update, delete)', () => {
  let root: string;
  let dir: string;
  let store: FolderStore;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'orion-writes-'));
    dir = join(root, 'manifests');
    mkdirSync(dir);
    store = new FolderStore({ dir, stateDir: join(root, 'state') });
    await store.start();
  });

  afterEach(async () => {
    await store.stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  const restart = async (): Promise<FolderStore> => {
    await store.stop();
    store = new FolderStore({ dir, stateDir: join(root, 'state') });
    await store.start();
    return store;
  };

  it('keeps a created object, with its defaults, across a restart; a file cannot take its name', async () => {
    const created = await store.create<RentalResource>(rental('api-one'));
    expect(created.spec).toMatchObject({ sudo: false, nodeSelector: {} }); // schema defaults
    expect(existsSync(join(root, 'state', 'objects', 'Rental', 'default', 'api-one.json'))).toBe(true);
    await expect(store.create(rental('api-one'))).rejects.toBeInstanceOf(AlreadyExistsError);
    await expect(store.create(rental('api-two', 'root'))).rejects.toBeInstanceOf(InvalidObjectError);

    writeFileSync(join(dir, 'clash.yaml'), 'apiVersion: orion.lab/v1alpha1\nkind: Rental\nmetadata:\n  name: api-one\nspec:\n  user: erin\n  sshPublicKeys: ["' + KEY + '"]\n');
    await waitFor(() => store.invalid.length > 0, 'the clash reported');
    expect(store.invalid.map((e) => e.message)).toContain('Rental/default/api-one was created through the portal; ignored here');
    expect(store.get<RentalResource>(REF)?.spec.user).toBe('dana');

    await restart();
    const again = store.get<RentalResource>(REF);
    expect(again?.metadata.uid).toBe(created.metadata.uid);
    expect(again?.spec.user).toBe('dana');
  });

  it('updates spec and annotations with a new generation, guarded by resourceVersion', async () => {
    const created = await store.create<RentalResource>(rental('api-one'));
    const updated = await store.update<RentalResource>({ ...created, spec: { ...created.spec, ttlSeconds: 3600 } });
    expect(updated.metadata.generation).toBe(2);
    await expect(store.update({ ...created, spec: { ...created.spec, ttlSeconds: 60 } })).rejects.toThrow(/was modified/);
    const annotated = await store.update<RentalResource>({ ...updated, metadata: { ...updated.metadata, annotations: { ...updated.metadata.annotations, note: 'x' } } });
    expect(annotated.metadata.generation).toBe(2);
  });

  it('deletes through the finalizers, and only then forgets the object (also after a restart)', async () => {
    const created = await store.create<RentalResource>(rental('api-one'));
    const held = await store.addFinalizer(created, FINALIZER);
    await store.delete(REF);
    expect(store.get<RentalResource>(REF)?.metadata.deletionTimestamp).toBeDefined();
    await restart();
    const deleting = store.get<RentalResource>(REF);
    expect(deleting?.metadata.deletionTimestamp).toBeDefined();
    expect(deleting?.metadata.finalizers).toEqual(held.metadata.finalizers);
    expect(await store.removeFinalizer(deleting as RentalResource, FINALIZER)).toBeUndefined();
    expect(store.get(REF)).toBeUndefined();
    expect(existsSync(join(root, 'state', 'objects', 'Rental', 'default', 'api-one.json'))).toBe(false);
    await restart();
    expect(store.get(REF)).toBeUndefined();
  });

  it('refuses to change or delete an object of a manifest file, naming the file', async () => {
    writeFileSync(join(dir, 'admins.yaml'), 'apiVersion: orion.lab/v1alpha1\nkind: Rental\nmetadata:\n  name: declared\nspec:\n  user: erin\n  sshPublicKeys: ["' + KEY + '"]\n');
    await waitFor(() => store.get({ ...REF, name: 'declared' }) !== undefined, 'the declared rental');
    const declared = store.get<RentalResource>({ ...REF, name: 'declared' });
    expect(declared).toBeDefined();
    await expect(store.delete({ ...REF, name: 'declared' })).rejects.toThrow(NotWritableError);
    await expect(store.update(declared as RentalResource)).rejects.toThrow(/is declared in .*admins\.yaml: change or delete it there/);
    await expect(store.delete({ ...REF, name: 'nothing' })).rejects.toThrow(/not found/);
  });
});
