// Generated passwords in folder mode: a 0600 file under the state directory, stable across calls, confined to
// its root, removed on discard by the resource it was made for only.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resource } from '../../src/api/types.js';
import { FolderGeneratedPasswords } from '../../src/folder/generated-passwords.js';

const desktop = (name: string, namespace = 'default', uid = 'u1') =>
  ({ apiVersion: 'orion.lab/v1alpha1', kind: 'Desktop', metadata: { name, namespace, uid, generation: 1, creationTimestamp: '' }, spec: {} }) as unknown as Resource;

describe('FolderGeneratedPasswords', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'orion-passwords-'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps one random password per resource in a 0600 file', async () => {
    const passwords = new FolderGeneratedPasswords(root);
    const a = await passwords.ensure(desktop('a'), 'rdp');
    const b = await passwords.ensure(desktop('b'), 'rdp');
    expect(a.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(b.password).not.toBe(a.password);
    expect((await new FolderGeneratedPasswords(root).ensure(desktop('a'), 'rdp')).password).toBe(a.password);
    expect(a.reference).toEqual({ passwordFile: join(root, 'desktop', 'default', 'a', 'rdp-password') });
    const file = (a.reference as { passwordFile: string }).passwordFile;
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(root, 'desktop', 'default', 'a'))).mode & 0o777).toBe(0o700);
  });

  it('refuses names that are not DNS labels, and forgets a password on discard', async () => {
    const passwords = new FolderGeneratedPasswords(root);
    await expect(passwords.ensure(desktop('..'), 'rdp')).rejects.toThrow(/DNS label/);
    const first = await passwords.ensure(desktop('c'), 'rdp');
    await passwords.discard(desktop('c'), 'rdp');
    expect((await passwords.ensure(desktop('c'), 'rdp')).password).not.toBe(first.password);
  });

  it('a resource of the same name made later never gets, nor removes, the first one\'s password', async () => {
    const passwords = new FolderGeneratedPasswords(root);
    const first = await passwords.ensure(desktop('d', 'default', 'uid-1'), 'rdp');
    const file = (first.reference as { passwordFile: string }).passwordFile;
    expect((await readFile(`${file}.owner`, 'utf8')).trim()).toBe('uid-1');
    // Another resource named d (the first one's file was left behind): discarding as it removes nothing ...
    await passwords.discard(desktop('d', 'default', 'uid-2'), 'rdp');
    expect((await readFile(file, 'utf8')).trim()).toBe(first.password);
    // ... and its own password is a new one, now its own.
    const second = await passwords.ensure(desktop('d', 'default', 'uid-2'), 'rdp');
    expect(second.password).not.toBe(first.password);
    await passwords.discard(desktop('d', 'default', 'uid-1'), 'rdp');
    expect((await readFile(file, 'utf8')).trim()).toBe(second.password);
    await passwords.discard(desktop('d', 'default', 'uid-2'), 'rdp');
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
  });
});
