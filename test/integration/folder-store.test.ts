// The folder store against the real thing: chokidar watching a temp folder, a real state directory.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NodeResource, Resource } from '../../src/api/types.js';
import type { ObjectRef } from '../../src/api/refs.js';
import { ConflictError } from '../../src/store/errors.js';
import { FolderStore } from '../../src/folder/store.js';
import { FINALIZER, type WatchEvent } from '../../src/store/store.js';

const N1: ObjectRef = { kind: 'Node', namespace: 'default', name: 'n1' };

async function waitFor(check: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The cache is updated before the state file is written and the watch event fires: wait for the event. */
function waitForEvent(events: WatchEvent[], type: WatchEvent['type'], name: string, extra: (o: NodeResource) => boolean = () => true): Promise<void> {
  return waitFor(() => events.some((e) => e.type === type && e.object.metadata.name === name && extra(e.object as NodeResource)), `${type} ${name}`);
}

function nodeYaml(name: string, opts: { port?: number; labels?: Record<string, string>; address?: string } = {}): string {
  const labels = opts.labels
    ? `  labels:\n${Object.entries(opts.labels).map(([k, v]) => `    ${k}: ${v}`).join('\n')}\n`
    : '';
  return [
    'apiVersion: orion.lab/v1alpha1',
    'kind: Node',
    'metadata:',
    `  name: ${name}`,
    labels.trimEnd(),
    'spec:',
    `  address: ${opts.address ?? '10.0.0.1'}`,
    ...(opts.port ? [`  port: ${opts.port}`] : []),
    '  secretRef:',
    '    name: key',
    '',
  ]
    .filter((line, i, all) => line !== '' || i === all.length - 1)
    .join('\n');
}

interface Harness {
  root: string;
  dir: string;
  stateDir: string;
  stores: FolderStore[];
  events: WatchEvent[];
  open(): Promise<FolderStore>;
  write(file: string, text: string): string;
}

function harness(): Harness {
  const root = mkdtempSync(join(tmpdir(), 'orion-folder-'));
  const dir = join(root, 'manifests');
  const stateDir = join(root, 'state');
  mkdirSync(dir);
  const h: Harness = {
    root,
    dir,
    stateDir,
    stores: [],
    events: [],
    async open() {
      const store = new FolderStore({ dir, stateDir });
      h.stores.push(store);
      store.watch('Node', (e) => h.events.push(e));
      await store.start();
      return store;
    },
    write(file, text) {
      const path = join(dir, file);
      writeFileSync(path, text);
      return path;
    },
  };
  return h;
}

const nodeOf = (store: FolderStore): NodeResource | undefined => store.get<NodeResource>(N1);
const mustGet = (store: FolderStore): NodeResource => {
  const obj = nodeOf(store);
  if (!obj) throw new Error('n1 is missing');
  return obj;
};
const display = (path: string): string => relative(process.cwd(), path);

let h: Harness;
beforeEach(() => {
  h = harness();
});
afterEach(async () => {
  for (const store of h.stores) await store.stop().catch(() => undefined);
  rmSync(h.root, { recursive: true, force: true });
});

describe('FolderStore: files become objects', () => {
  it('loads existing files on start, then follows add, change and remove', async () => {
    h.write('n1.yaml', nodeYaml('n1'));
    const store = await h.open();
    expect(store.synced).toBe(true);
    const first = mustGet(store);
    expect(first.metadata).toMatchObject({ generation: 1, namespace: 'default' });
    expect(first.spec.port).toBe(22); // defaults applied
    expect(h.events.map((e) => e.type)).toEqual(['ADDED']);

    h.write('n2.yaml', `${nodeYaml('n2')}---\n${nodeYaml('n3')}`);
    await waitForEvent(h.events, 'ADDED', 'n2');
    await waitForEvent(h.events, 'ADDED', 'n3');
    expect(store.list('Node')).toHaveLength(3);

    h.write('n1.yaml', nodeYaml('n1', { port: 2222 }));
    await waitForEvent(h.events, 'MODIFIED', 'n1', (o) => o.spec.port === 2222);
    const changed = mustGet(store);
    expect(changed.metadata.generation).toBe(2);
    expect(Number(changed.metadata.resourceVersion)).toBeGreaterThan(Number(first.metadata.resourceVersion));
    expect(changed.metadata.uid).toBe(first.metadata.uid);
    expect(h.events.filter((e) => e.object.metadata.name === 'n1').map((e) => e.type)).toEqual(['ADDED', 'MODIFIED']);

    unlinkSync(join(h.dir, 'n2.yaml'));
    await waitForEvent(h.events, 'DELETED', 'n2');
    await waitForEvent(h.events, 'DELETED', 'n3');
    expect(store.list('Node').map((n) => n.metadata.name)).toEqual(['n1']);
    await store.state.writer.flush();
    expect(existsSync(store.state.objectPath('Node', 'default', 'n2'))).toBe(false);
    expect(existsSync(store.state.objectPath('Node', 'default', 'n1'))).toBe(true);
  });

  it('bumps generation only on a spec change; a label change bumps only resourceVersion', async () => {
    h.write('n1.yaml', nodeYaml('n1'));
    const store = await h.open();
    const before = mustGet(store);
    h.write('n1.yaml', nodeYaml('n1', { labels: { zone: 'b' } }));
    await waitForEvent(h.events, 'MODIFIED', 'n1', (o) => o.metadata.labels?.zone === 'b');
    const relabeled = mustGet(store);
    expect(relabeled.metadata.generation).toBe(1);
    expect(relabeled.metadata.resourceVersion).not.toBe(before.metadata.resourceVersion);

    // rewriting identical content changes nothing at all
    const rv = relabeled.metadata.resourceVersion;
    const eventsBefore = h.events.length;
    h.write('n1.yaml', nodeYaml('n1', { labels: { zone: 'b' } }));
    h.write('marker.yaml', nodeYaml('marker'));
    await waitForEvent(h.events, 'ADDED', 'marker');
    expect(mustGet(store).metadata.resourceVersion).toBe(rv);
    expect(h.events.slice(eventsBefore).map((e) => e.object.metadata.name)).toEqual(['marker']);
  });

  it('ignores the state directory when it lives inside the folder, and non-YAML files', async () => {
    const store = new FolderStore({ dir: h.dir });
    h.stores.push(store);
    h.write('n1.yaml', nodeYaml('n1'));
    h.write('notes.txt', 'kind: Node\n');
    await store.start();
    expect(store.state.root).toBe(join(h.dir, '.orion'));
    expect(store.list('Node').map((n) => n.metadata.name)).toEqual(['n1']);
    expect(store.invalid).toEqual([]);
    expect(existsSync(join(h.dir, '.orion', 'objects', 'Node', 'default', 'n1.json'))).toBe(true);
  });
});

describe('FolderStore: invalid files never delete', () => {
  it('an edit that breaks the YAML keeps the old object and reports file and line; fixing it clears the error', async () => {
    const file = h.write('n1.yaml', nodeYaml('n1', { port: 2200 }));
    const store = await h.open();
    const before = mustGet(store);
    h.write('n1.yaml', 'apiVersion: orion.lab/v1alpha1\nkind: Node\nmetadata:\n  name: n1\nspec: [unclosed\n');
    await waitFor(() => store.invalid.length > 0, 'the YAML error');
    expect(store.invalid[0]).toMatchObject({ file: display(file), field: '' });
    expect(store.invalid[0]?.line).toBeGreaterThanOrEqual(5);
    expect(store.invalid[0]?.message).toMatch(/^invalid YAML/);
    expect(mustGet(store)).toEqual(before);
    await store.state.writer.flush();
    const reported = JSON.parse(readFileSync(store.state.invalidPath, 'utf8')) as unknown[];
    expect(reported).toEqual(store.invalid);

    h.write('n1.yaml', nodeYaml('n1', { port: 2201 }));
    await waitFor(() => store.invalid.length === 0, 'the error to clear');
    expect(mustGet(store).spec.port).toBe(2201);
  });

  it('a schema error keeps the old object and reports file, line and field', async () => {
    const file = h.write('n1.yaml', nodeYaml('n1'));
    const store = await h.open();
    const before = mustGet(store);
    h.write('n1.yaml', nodeYaml('n1', { port: 99999 }));
    await waitFor(() => store.invalid.length > 0, 'the schema error');
    expect(store.invalid).toEqual([{ file: display(file), line: 7, field: 'spec.port', message: 'must be <= 65535' }]);
    expect(mustGet(store)).toEqual(before);
  });

  it('an emptied file keeps its objects and says why', async () => {
    const file = h.write('n1.yaml', nodeYaml('n1'));
    const store = await h.open();
    h.write('n1.yaml', '');
    await waitFor(() => store.invalid.length > 0, 'the empty-file error');
    expect(store.invalid[0]).toMatchObject({ file: display(file), message: expect.stringContaining('file is empty; keeping its previous resources') });
    expect(nodeOf(store)).toBeDefined();
    expect(h.events.some((e) => e.type === 'DELETED')).toBe(false);
  });

  // Damage done while Orion was stopped: nothing is in memory, the state directory remembers what the file declared.
  const damages: Array<{ what: string; damage: (path: string) => void; reason: RegExp }> = [
    { what: 'emptied', damage: (path) => writeFileSync(path, ''), reason: /^file is empty; keeping its previous resources/ },
    { what: 'left with comments only', damage: (path) => writeFileSync(path, '# gone\n'), reason: /^file declares nothing; keeping/ },
    { what: 'truncated', damage: (path) => writeFileSync(path, nodeYaml('n1').slice(0, 50)), reason: /^invalid YAML|must have required property/ },
    {
      what: 'replaced by a FIFO',
      damage: (path) => {
        unlinkSync(path);
        spawnSync('mkfifo', [path]);
      },
      reason: /^not a regular file \(a FIFO\); keeping/,
    },
  ];

  it.each(damages)('a file $what while Orion was stopped keeps its objects (same uid, no deletion) after the restart', async ({ damage, reason }) => {
    const file = h.write('n1.yaml', nodeYaml('n1'));
    const first = await h.open();
    const kept = await first.addFinalizer(mustGet(first), FINALIZER);
    await first.stop();

    damage(file);
    const second = await h.open();
    expect(second.invalid).toEqual([expect.objectContaining({ file: display(file), message: expect.stringMatching(reason) })]);
    expect(mustGet(second).metadata.uid).toBe(kept.metadata.uid);
    expect(mustGet(second).metadata.deletionTimestamp).toBeUndefined();

    // Restored: the same object, no error; only removing the file deletes.
    rmSync(file, { force: true });
    h.write('n1.yaml', nodeYaml('n1'));
    await waitFor(() => second.invalid.length === 0, 'the error cleared');
    expect(mustGet(second).metadata.uid).toBe(kept.metadata.uid);
    unlinkSync(file);
    await waitFor(() => nodeOf(second)?.metadata.deletionTimestamp !== undefined, 'the deletion of a removed file');
  });

  it('a duplicate name in a second file: the first owner keeps it and the duplicate is reported', async () => {
    h.write('z-first.yaml', nodeYaml('n1', { address: 'first.example' }));
    const store = await h.open();
    const dup = h.write('a-second.yaml', nodeYaml('n1', { address: 'second.example' }));
    await waitFor(() => store.invalid.length > 0, 'the duplicate error');
    expect(store.invalid).toEqual([
      expect.objectContaining({ file: display(dup), field: 'metadata.name', message: expect.stringContaining('duplicate Node/default/n1') }),
    ]);
    expect(mustGet(store).spec.address).toBe('first.example');
    expect(mustGet(store).metadata.generation).toBe(1);

    unlinkSync(dup);
    await waitFor(() => store.invalid.length === 0, 'the duplicate to go');
    expect(mustGet(store).spec.address).toBe('first.example');
  });
});

describe('FolderStore: a file being written is not read half-way', () => {
  it('a file rewritten in two parts 30 ms apart is read only once complete: what its first part lacks is never deleted', async () => {
    const file = h.write('two.yaml', `${nodeYaml('n1')}---\n${nodeYaml('n2')}`);
    const store = await h.open();
    const n2 = { ...N1, name: 'n2' };
    const before = store.get<NodeResource>(n2);
    expect(before).toBeDefined();
    // In place, as a program writing its output does: n1 (a complete, valid document on its own), a pause, then n2.
    writeFileSync(join(h.root, 'part1'), `${nodeYaml('n1')}---\n`);
    writeFileSync(join(h.root, 'part2'), nodeYaml('n2', { address: '10.0.0.2' }));
    const writer = spawn('sh', ['-c', 'cat "$1" > "$3"; sleep 0.03; cat "$2" >> "$3"', 'sh', join(h.root, 'part1'), join(h.root, 'part2'), file], { stdio: 'ignore' });
    await new Promise((resolve) => writer.once('exit', resolve));
    await waitFor(() => store.get<NodeResource>(n2)?.spec.address === '10.0.0.2', 'the complete file');
    const n2Events = h.events.filter((e) => e.object.metadata.name === 'n2');
    expect(n2Events.some((e) => e.type === 'DELETED' || e.object.metadata.deletionTimestamp)).toBe(false);
    expect(store.get<NodeResource>(n2)?.metadata.uid).toBe(before?.metadata.uid);
  });
});

describe('FolderStore: finalizers and deletion', () => {
  it('removing the file of an object without finalizer releases it at once', async () => {
    const file = h.write('n1.yaml', nodeYaml('n1'));
    const store = await h.open();
    unlinkSync(file);
    await waitForEvent(h.events, 'DELETED', 'n1');
    expect(nodeOf(store)).toBeUndefined();
    expect(h.events.map((e) => e.type)).toEqual(['ADDED', 'DELETED']);
  });

  it('removing the file of an object with a finalizer sets deletionTimestamp; removeFinalizer releases it', async () => {
    const file = h.write('n1.yaml', nodeYaml('n1'));
    const store = await h.open();
    await store.addFinalizer(mustGet(store), FINALIZER);
    unlinkSync(file);
    await waitForEvent(h.events, 'MODIFIED', 'n1', (o) => o.metadata.deletionTimestamp !== undefined);
    const deleting = mustGet(store);
    expect(deleting.metadata.finalizers).toEqual([FINALIZER]);
    expect(h.events.at(-1)?.type).toBe('MODIFIED');
    expect(await store.removeFinalizer(deleting, FINALIZER)).toBeUndefined();
    expect(nodeOf(store)).toBeUndefined();
    expect(h.events.at(-1)?.type).toBe('DELETED');
    await store.state.writer.flush();
    expect(existsSync(store.state.objectPath('Node', 'default', 'n1'))).toBe(false);
  });

  it.each([
    ['in the same folder', 'node-one.yaml'],
    ['into a new subfolder', 'moved/node-one.yaml'],
  ])('a rename %s (remove + add in one burst) keeps the object: no deletionTimestamp, same uid', async (_how, target) => {
    const from = h.write('n1.yaml', nodeYaml('n1'));
    const store = await h.open();
    const before = await store.addFinalizer(mustGet(store), FINALIZER);
    const to = join(h.dir, target);
    mkdirSync(dirname(to), { recursive: true });
    renameSync(from, to);
    const sourceOf = (): string | undefined => store.get<Resource & { source?: { file: string } }>(N1)?.source?.file;
    await waitFor(() => sourceOf() === to || h.events.some((e) => e.object.metadata.deletionTimestamp), 'the rename');
    // once later changes have been processed too, still no deletion
    h.write('marker.yaml', nodeYaml('marker'));
    await waitForEvent(h.events, 'ADDED', 'marker');
    const after = mustGet(store);
    expect(after.metadata.deletionTimestamp).toBeUndefined();
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.metadata.generation).toBe(1);
    expect(sourceOf()).toBe(to);
    const n1Events = h.events.filter((e) => e.object.metadata.name === 'n1');
    expect(n1Events.some((e) => e.type === 'DELETED' || e.object.metadata.deletionTimestamp)).toBe(false);
  });

  it('re-adding the file while the object is being finalized re-creates it after release', async () => {
    const file = h.write('n1.yaml', nodeYaml('n1'));
    const store = await h.open();
    const uid = (await store.addFinalizer(mustGet(store), FINALIZER)).metadata.uid;
    unlinkSync(file);
    await waitForEvent(h.events, 'MODIFIED', 'n1', (o) => o.metadata.deletionTimestamp !== undefined);
    h.write('n1.yaml', nodeYaml('n1', { port: 2222 }));
    h.write('marker.yaml', nodeYaml('marker'));
    await waitForEvent(h.events, 'ADDED', 'marker');
    expect(mustGet(store).metadata.deletionTimestamp).toBeDefined(); // deletion finishes first
    await store.removeFinalizer(mustGet(store), FINALIZER);
    const recreated = mustGet(store);
    expect(recreated.metadata.uid).not.toBe(uid);
    expect(recreated.metadata.deletionTimestamp).toBeUndefined();
    expect(recreated.spec.port).toBe(2222);
  });
});

describe('FolderStore: state directory', () => {
  it('restart recovery: a file removed while stopped still goes through its finalizer, status preserved', async () => {
    const file = h.write('n1.yaml', nodeYaml('n1'));
    const first = await h.open();
    const withFinalizer = await first.addFinalizer(mustGet(first), FINALIZER);
    await first.updateStatus(withFinalizer, { health: 'Alive', consecutiveFailures: 0 });
    const uid = withFinalizer.metadata.uid;
    await first.stop();

    unlinkSync(file);
    const second = await h.open();
    const recovered = mustGet(second);
    expect(recovered.metadata.uid).toBe(uid);
    expect(recovered.metadata.deletionTimestamp).toBeDefined();
    expect(recovered.metadata.finalizers).toEqual([FINALIZER]);
    expect(recovered.status).toEqual({ health: 'Alive', consecutiveFailures: 0 });
    expect(await second.removeFinalizer(recovered, FINALIZER)).toBeUndefined();
    expect(nodeOf(second)).toBeUndefined();
  });

  it('restart with the file unchanged keeps uid, generation, status and resourceVersion order', async () => {
    h.write('n1.yaml', nodeYaml('n1', { port: 2000 }));
    const first = await h.open();
    const updated = await first.updateStatus(mustGet(first), { health: 'Dead', lastError: 'refused' });
    await first.stop();
    const second = await h.open();
    const again = mustGet(second);
    expect(again).toEqual(updated);
    const next = await second.updateStatus(again, { health: 'Alive' });
    expect(Number(next.metadata.resourceVersion)).toBeGreaterThan(Number(again.metadata.resourceVersion));
  });

  it('a restart reads the whole folder before its first snapshot: objects of files the scan reports late are kept', async () => {
    // chokidar reports the files of its first scan one by one; a snapshot taken from the files reported so far lacked
    // the objects of the others (a slower subfolder, a FUSE mount), and deleted them (ADR 17).
    const names: string[] = [];
    for (let d = 0; d < 40; d++) {
      mkdirSync(join(h.dir, `rack-${d}`));
      for (let f = 0; f < 5; f++) {
        const name = `n-${d}-${f}`;
        names.push(name);
        h.write(join(`rack-${d}`, `${name}.yaml`), nodeYaml(name));
      }
    }
    const first = await h.open();
    await waitFor(() => first.list('Node').length === names.length, 'every Node');
    for (const name of names) await first.addFinalizer(first.get({ kind: 'Node', namespace: 'default', name }) as NodeResource, FINALIZER);
    const uids = new Map(first.list('Node').map((n) => [n.metadata.name, n.metadata.uid]));
    await first.stop();

    h.events.length = 0;
    const second = await h.open();
    await second.flush();
    const after = second.list<NodeResource>('Node');
    expect(after.map((n) => n.metadata.name).sort()).toEqual([...names].sort());
    for (const node of after) {
      expect(node.metadata.uid).toBe(uids.get(node.metadata.name));
      expect(node.metadata.deletionTimestamp).toBeUndefined();
    }
    expect(h.events.filter((e) => e.type !== 'ADDED' || e.object.metadata.deletionTimestamp)).toEqual([]);
  });

  it('updateStatus with a stale resourceVersion throws ConflictError and writes nothing', async () => {
    h.write('n1.yaml', nodeYaml('n1'));
    const store = await h.open();
    const stale = mustGet(store);
    const fresh = await store.updateStatus(stale, { health: 'Alive' });
    expect(fresh.status).toEqual({ health: 'Alive' });
    await expect(store.updateStatus(stale, { health: 'Dead' })).rejects.toBeInstanceOf(ConflictError);
    await expect(store.addFinalizer(stale, FINALIZER)).rejects.toBeInstanceOf(ConflictError);
    expect(mustGet(store).status).toEqual({ health: 'Alive' });
    await store.state.writer.flush();
    const onDisk = JSON.parse(readFileSync(store.state.objectPath('Node', 'default', 'n1'), 'utf8')) as NodeResource;
    expect(onDisk.status).toEqual({ health: 'Alive' });
    expect(onDisk.metadata.resourceVersion).toBe(fresh.metadata.resourceVersion);
  });

  it('cached objects are frozen: a stray mutation throws instead of corrupting the cache', async () => {
    h.write('n1.yaml', nodeYaml('n1'));
    const store = await h.open();
    const obj = mustGet(store);
    expect(() => {
      (obj.spec as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('records events with counts and keeps them in the state directory', async () => {
    h.write('n1.yaml', nodeYaml('n1'));
    const store = await h.open();
    const obj = mustGet(store);
    await store.recordEvent(obj, { type: 'Warning', reason: 'ProbeFailed', message: 'refused' });
    await store.recordEvent(obj, { type: 'Warning', reason: 'ProbeFailed', message: 'refused' });
    await store.recordEvent(obj, { type: 'Normal', reason: 'Alive', message: 'ok' });
    expect(store.eventsOf(obj).map((e) => [e.reason, e.count])).toEqual([['ProbeFailed', 2], ['Alive', 1]]);
    await store.state.writer.flush();
    const onDisk = JSON.parse(readFileSync(store.state.eventsPath('Node', 'default', 'n1'), 'utf8')) as unknown[];
    expect(onDisk).toHaveLength(2);
  });

  it('a second FolderStore on the same state directory is refused while the first runs', async () => {
    h.write('n1.yaml', nodeYaml('n1'));
    await h.open();
    await expect(h.open()).rejects.toThrow(/in use/);
  });

  it('a state directory held by another live process is refused; a dead holder is taken over', async () => {
    mkdirSync(h.stateDir, { recursive: true });
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(h.stateDir, 'orion.pid'), `${sleeper.pid}\n`);
      await expect(h.open()).rejects.toThrow(new RegExp(`pid ${sleeper.pid}`));
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((r) => sleeper.once('exit', r));
    }
    const store = await h.open(); // the holder is gone now
    expect(readFileSync(join(h.stateDir, 'orion.pid'), 'utf8').trim()).toBe(String(process.pid));
    await store.stop();
    expect(existsSync(join(h.stateDir, 'orion.pid'))).toBe(false);
  });
});

describe('FolderStore: secrets', () => {
  const secretYaml = (key: string): string =>
    [
      'apiVersion: v1',
      'kind: Secret',
      'metadata:',
      '  name: key',
      'type: Opaque',
      'data:',
      `  privateKey: ${Buffer.from(key).toString('base64')}`,
      'stringData:',
      '  user: probe',
      '',
    ].join('\n');

  it('reads Secrets from kind: Secret manifests and fires watchSecrets on change and removal', async () => {
    const file = h.write('secret.yaml', secretYaml('KEY-1'));
    h.write('n1.yaml', nodeYaml('n1'));
    const store = await h.open();
    expect(await store.readSecret('default', 'key')).toEqual({ privateKey: 'KEY-1', user: 'probe' });
    expect(await store.readSecret('default', 'missing')).toBeUndefined();
    expect(store.list('Node')).toHaveLength(1);

    const fired: string[] = [];
    store.watchSecrets((ns, name) => fired.push(`${ns}/${name}`));
    h.write('secret.yaml', secretYaml('KEY-2'));
    await waitFor(() => fired.length > 0, 'the secret change');
    expect(fired).toEqual(['default/key']);
    expect(await store.readSecret('default', 'key')).toEqual({ privateKey: 'KEY-2', user: 'probe' });

    unlinkSync(file);
    await waitFor(() => fired.length > 1, 'the secret removal');
    expect(await store.readSecret('default', 'key')).toBeUndefined();
  });
});
