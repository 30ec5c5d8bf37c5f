// Unit tests of the pieces around the Terraform runner that need no Terraform: workspace names and paths,
// atomic rendering, the init key, state history, error and lock parsing, lock release against real kernel locks.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initKey } from '../../src/exec/terraform/runner.js';
import { findTerraformBinary, parseVersionOutput, pluginCacheIsConcurrencySafe } from '../../src/exec/terraform/binary.js';
import { extractTerraformError } from '../../src/exec/terraform/diagnostics.js';
import {
  inspectLock,
  LOCK_INFO_FILE,
  parseLockError,
  recordLockHolderPid,
  releaseStaleLock,
} from '../../src/exec/terraform/lock.js';
import { FolderStateBackend, STATE_FILE, stateOutputs, stateResourceAddresses } from '../../src/exec/terraform/state.js';
import { openWorkspace, renderRootModule, RootModule, VARIABLES_FILE, workspacePaths, WorkspaceNameError } from '../../src/exec/terraform/workspace.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'orion-ws-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const ref = { kind: 'lab', namespace: 'default', name: 'web' };

describe('workspace names and paths', () => {
  it('lays a workspace out as workspaces/<kind>/<namespace>/<name> and logs/<kind>/<namespace>/<name>', async () => {
    const ws = await openWorkspace(root, ref);
    expect(ws.dir).toBe(join(root, 'workspaces', 'lab', 'default', 'web'));
    expect(ws.logDir).toBe(join(root, 'logs', 'lab', 'default', 'web'));
  });

  it.each(['../x', '..', '.', 'a/b', '/etc', 'Web', 'a_b', '-a', 'a-', '', 'x'.repeat(64), 'a\u0000b'])(
    'rejects the name %j',
    (name) => {
      expect(() => workspacePaths(root, { ...ref, name })).toThrow(WorkspaceNameError);
      expect(() => workspacePaths(root, { ...ref, namespace: name })).toThrow(WorkspaceNameError);
      expect(() => workspacePaths(root, { ...ref, kind: name })).toThrow(WorkspaceNameError);
    },
  );

  it('accepts DNS labels up to 63 characters', () => {
    expect(workspacePaths(root, { ...ref, name: 'a'.repeat(63) }).name).toHaveLength(63);
    expect(workspacePaths(root, { ...ref, name: 'lab-01' }).dir).toMatch(/lab-01$/);
  });

  it('refuses a workspace whose directory is a symlink out of the state root', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'orion-outside-'));
    try {
      await mkdir(join(root, 'workspaces', 'lab'), { recursive: true });
      await symlink(outside, join(root, 'workspaces', 'lab', 'default'));
      await expect(openWorkspace(root, ref)).rejects.toThrow(/outside the state root/);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe('renderRootModule', () => {
  it('writes main.tf.json as JSON, reports changes by content hash and leaves no temporary file', async () => {
    const ws = await openWorkspace(root, ref);
    const module = { resource: { local_file: { a: { filename: 'x', content: 'say "hi" ${not.templated}' } } } };
    const first = await renderRootModule(ws, module);
    expect(first.changed).toBe(true);
    expect(JSON.parse(await readFile(first.path, 'utf8'))).toEqual(module);
    const again = await renderRootModule(ws, module);
    expect(again).toEqual({ ...first, changed: false });
    const other = await renderRootModule(ws, { ...module, output: { a: { value: 1 } } });
    expect(other.changed).toBe(true);
    expect(other.hash).not.toBe(first.hash);
    expect((await readdir(ws.dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('RootModule', () => {
  it('writes the variables beside main.tf.json as terraform.tfvars.json, and its hash covers both', async () => {
    const ws = await openWorkspace(root, { kind: 'lab', namespace: 'default', name: 'vars' });
    const main = { variable: { v: {} }, output: { v: { value: '${var.v}' } } };
    const first = await renderRootModule(ws, new RootModule(main, { v: '${file("/etc/hostname")}' }));
    expect(first.changed).toBe(true);
    expect(JSON.parse(await readFile(join(ws.dir, VARIABLES_FILE), 'utf8'))).toEqual({ v: '${file("/etc/hostname")}' });
    expect((await renderRootModule(ws, new RootModule(main, { v: '${file("/etc/hostname")}' }))).changed).toBe(false);
    const other = await renderRootModule(ws, new RootModule(main, { v: 'x' }));
    expect(other).toMatchObject({ changed: true });
    expect(other.hash).not.toBe(first.hash);
    expect(other.hash).toBe(new RootModule(main, { v: 'x' }).hash());
    // A plain object is a root module without variables: its variables file is emptied, not left behind.
    await renderRootModule(ws, main);
    expect(JSON.parse(await readFile(join(ws.dir, VARIABLES_FILE), 'utf8'))).toEqual({});
  });
});

describe('initKey', () => {
  const base = { resource: { local_file: { a: { filename: 'x', content: 'one' } } } };
  it('ignores changes that need no init and follows the provider set, module sources and binary', () => {
    const key = initKey('/bin/tofu', JSON.stringify(base));
    const contentChanged = { resource: { local_file: { a: { filename: 'x', content: 'two' } } } };
    expect(initKey('/bin/tofu', JSON.stringify(contentChanged))).toBe(key);
    const newProvider = { resource: { ...base.resource, null_resource: { n: {} } } };
    expect(initKey('/bin/tofu', JSON.stringify(newProvider))).not.toBe(key);
    const withModule = { ...base, module: { vm: { source: './modules/vm' } } };
    expect(initKey('/bin/tofu', JSON.stringify(withModule))).not.toBe(key);
    expect(initKey('/bin/terraform', JSON.stringify(base))).not.toBe(key);
  });
});

describe('FolderStateBackend', () => {
  const state = (serial: number): Buffer =>
    Buffer.from(JSON.stringify({ version: 4, serial, resources: [{ mode: 'managed', type: 'local_file', name: 'a', instances: [{}] }] }));

  it('keeps the last N distinct versions, newest first, and the state file in the workspace', async () => {
    const ws = await openWorkspace(root, ref);
    const backend = new FolderStateBackend(ws, 3);
    expect(await backend.load()).toBeUndefined();
    for (const serial of [1, 2, 2, 3, 4, 5]) await backend.save(state(serial));
    const history = await backend.history();
    expect(history).toHaveLength(3);
    expect(history.map((h) => /serial0*(\d+)/.exec(h)?.[1])).toEqual(['5', '4', '3']);
    expect((await backend.load())?.equals(state(5))).toBe(true);
    expect((await readFile(join(ws.dir, STATE_FILE))).equals(state(5))).toBe(true);
    expect((await backend.version(history[2] ?? ''))?.equals(state(3))).toBe(true);
    expect(await backend.version('../../etc/passwd')).toBeUndefined();
    expect(stateResourceAddresses(state(1))).toEqual(['local_file.a']);
  });
});

describe('stateOutputs', () => {
  it('reads the outputs as output -json prints them, sensitive false when the state leaves it out', () => {
    const state = Buffer.from(JSON.stringify({
      version: 4,
      serial: 3,
      outputs: {
        machines: { value: [{ name: 'vm-0' }], type: ['tuple', [['object', { name: 'string' }]]] },
        token: { value: 's3cret', type: 'string', sensitive: true },
      },
      resources: [],
    }));
    expect(stateOutputs(state)).toEqual({
      machines: { value: [{ name: 'vm-0' }], type: ['tuple', [['object', { name: 'string' }]]], sensitive: false },
      token: { value: 's3cret', type: 'string', sensitive: true },
    });
  });

  it('reads no outputs from no state or a state without any', () => {
    expect(stateOutputs(undefined)).toEqual({});
    expect(stateOutputs(Buffer.alloc(0))).toEqual({});
    expect(stateOutputs(Buffer.from('{"version":4,"resources":[]}'))).toEqual({});
  });

  it('reports a state that does not parse without quoting it', () => {
    for (const text of ['{"outputs":{"token":{"value":"s3cret"', 's3cret-not-json']) {
      const message = ((): string => {
        try {
          stateOutputs(Buffer.from(text));
          return 'no error';
        } catch (err) {
          return (err as Error).message;
        }
      })();
      expect(message).toMatch(/cannot be read/);
      expect(message).not.toContain('s3cret');
    }
    expect(() => stateOutputs(Buffer.from('{"outputs":[1]}'))).toThrow(/not an object/);
  });
});

describe('the binary\'s plugin cache concurrency', () => {
  it.each([
    ['OpenTofu v1.12.6\non linux_amd64', 'OpenTofu', true],
    ['OpenTofu v1.10.5\non linux_amd64', 'OpenTofu', true],
    ['OpenTofu v1.10.4\non linux_amd64', 'OpenTofu', false],
    ['OpenTofu v1.9.1\non linux_amd64', 'OpenTofu', false],
    ['Terraform v1.11.4\non linux_amd64', 'Terraform', false],
    ['something else', 'unknown', false],
  ])('%j: %s, concurrent inits %s', (text, name, concurrent) => {
    const flavor = parseVersionOutput(text);
    expect(flavor.name).toBe(name);
    expect(pluginCacheIsConcurrencySafe(flavor)).toBe(concurrent);
  });
});

describe('extractTerraformError', () => {
  it('keeps the Error boxes, without box drawing, and drops warnings', () => {
    const stderr = [
      '╷',
      '│ Warning: Deprecated',
      '│ ',
      '│ Something old.',
      '╵',
      '╷',
      '│ Error: Unsupported argument',
      '│ ',
      '│   on main.tf.json line 5, in resource "local_file" "a":',
      '│    5:         "contnet": "x"',
      '│ ',
      '│ An argument named "contnet" is not expected here.',
      '╵',
    ].join('\n');
    const error = extractTerraformError(stderr);
    expect(error).toMatch(/^Error: Unsupported argument/);
    expect(error).toContain('An argument named "contnet" is not expected here.');
    expect(error).not.toMatch(/[│╷╵]|Warning/);
  });

  it('falls back to unboxed output and says nothing when there is no error', () => {
    expect(extractTerraformError('noise\nError: Failed to load plan\n\ndetail')).toBe('Error: Failed to load plan\n\ndetail');
    expect(extractTerraformError('all good')).toBeUndefined();
  });
});

describe('locks', () => {
  const lockMessage = [
    '╷',
    '│ Error: Error acquiring the state lock',
    '│ ',
    '│ Error message: resource temporarily unavailable',
    '│ Lock Info:',
    '│   ID:        1c8ee4e5-1f0a-4a0b-9f54-d5d0b6b8e9a1',
    '│   Path:      terraform.tfstate',
    '│   Operation: OperationTypeApply',
    '│   Who:       root@lab-host',
    '│   Version:   1.12.6',
    '│   Created:   2026-11-21 22:40:01.123 +0000 UTC',
    '│   Info:      ',
    '╵',
  ].join('\n');

  it('parses the holder out of a lock error', () => {
    expect(parseLockError(lockMessage)).toEqual({
      ID: '1c8ee4e5-1f0a-4a0b-9f54-d5d0b6b8e9a1',
      Path: 'terraform.tfstate',
      Operation: 'OperationTypeApply',
      Who: 'root@lab-host',
      Version: '1.12.6',
      Created: '2026-11-21 22:40:01.123 +0000 UTC',
    });
    expect(parseLockError('Error: something else')).toBeUndefined();
  });

  async function writeLockInfo(dir: string, id: string, who = `root@${hostname()}`): Promise<void> {
    const info = { ID: id, Operation: 'OperationTypeApply', Info: '', Who: who, Version: '1.12.6', Created: new Date().toISOString(), Path: 'terraform.tfstate' };
    await writeFile(join(dir, LOCK_INFO_FILE), JSON.stringify(info));
  }

  /** A real POSIX record lock on the state file, held by another process (as tofu holds it). */
  async function holdRecordLock(path: string): Promise<ChildProcess> {
    const script = 'import fcntl,sys,time\nf=open(sys.argv[1],"r+")\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint("locked",flush=True)\ntime.sleep(60)';
    const child = spawn('python3', ['-c', script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout?.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
    });
    return child;
  }

  it('releases a lock whose holder is gone, only with its ID', async () => {
    const ws = await openWorkspace(root, ref);
    await writeFile(join(ws.dir, STATE_FILE), '{}');
    await writeLockInfo(ws.dir, 'dead-one');
    expect(await inspectLock(ws)).toMatchObject({ ID: 'dead-one', alive: false });
    expect(await releaseStaleLock(ws, 'other-id')).toMatchObject({ released: false });
    expect(await releaseStaleLock(ws, 'dead-one')).toMatchObject({ released: true });
    expect(await inspectLock(ws)).toBeUndefined();
  });

  it('never releases a lock that a live process holds, nor one taken on another host', async () => {
    const ws = await openWorkspace(root, ref);
    const statePath = join(ws.dir, STATE_FILE);
    await writeFile(statePath, '{}');
    await writeLockInfo(ws.dir, 'live-one');
    const holder = await holdRecordLock(statePath);
    try {
      expect(await recordLockHolderPid(statePath)).toBe(holder.pid);
      expect(await inspectLock(ws)).toMatchObject({ ID: 'live-one', pid: holder.pid, alive: true });
      const release = await releaseStaleLock(ws, 'live-one');
      expect(release.released).toBe(false);
      expect(release.reason).toMatch(/live process/);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    await writeLockInfo(ws.dir, 'remote-one', 'root@some-other-host');
    expect(await releaseStaleLock(ws, 'remote-one')).toMatchObject({ released: false });
    await writeLockInfo(ws.dir, 'live-one');
    expect(await releaseStaleLock(ws, 'live-one')).toMatchObject({ released: true });
  });
});

describe('findTerraformBinary', () => {
  async function fakeBinary(dir: string, name: string): Promise<string> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, name);
    await writeFile(path, '#!/bin/sh\nexit 0\n');
    await chmod(path, 0o755);
    return path;
  }

  it('prefers the configured binary, then tofu, then terraform on PATH, and says when there is none', async () => {
    const a = join(root, 'a');
    const b = join(root, 'b');
    const terraform = await fakeBinary(a, 'terraform');
    const tofu = await fakeBinary(b, 'tofu');
    expect(await findTerraformBinary(undefined, `${a}:${b}`)).toBe(tofu);
    expect(await findTerraformBinary(undefined, a)).toBe(terraform);
    expect(await findTerraformBinary('terraform', `${a}:${b}`)).toBe(terraform);
    expect(await findTerraformBinary(tofu, '')).toBe(tofu);
    await expect(findTerraformBinary(undefined, join(root, 'none'))).rejects.toThrow(/neither tofu nor terraform/);
    await expect(findTerraformBinary(join(root, 'missing'), `${a}:${b}`)).rejects.toThrow(/not an executable/);
  });
});
