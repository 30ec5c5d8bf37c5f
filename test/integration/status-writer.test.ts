// The one status writer on a real FolderStore: a write only when the status differs (run timing aside), a draft
// written once for several steps (and also when a step throws), a failure recorded by the controller loop on the
// latest object, and a controller that the status writes of its process do not wake up again while spec changes do.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ObjectRef } from '../../src/api/refs.js';
import type { LabResource } from '../../src/api/types.js';
import { FolderStore } from '../../src/folder/store.js';
import { RetryLater } from '../../src/runtime/errors.js';
import { Manager } from '../../src/runtime/manager.js';
import { recordFailure, StatusDraft, writeStatus } from '../../src/store/status-writer.js';
import type { WatchEvent } from '../../src/store/store.js';

const LAB: ObjectRef = { kind: 'Lab', namespace: 'default', name: 'l1' };

function labYaml(cpu: number): string {
  return [
    'apiVersion: orion.lab/v1alpha1',
    'kind: Lab',
    'metadata:',
    '  name: l1',
    'spec:',
    `  machines: [{ name: web, cpu: ${cpu} }]`,
    '',
  ].join('\n');
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let root: string;
let dir: string;
let store: FolderStore;
let events: WatchEvent[];

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'orion-status-'));
  dir = join(root, 'manifests');
  mkdirSync(dir);
  writeFileSync(join(dir, 'lab.yaml'), labYaml(1));
  store = new FolderStore({ dir, stateDir: join(root, 'state') });
  events = [];
  store.watch('Lab', (e) => events.push(e));
  await store.start();
});

afterEach(async () => {
  await store.stop().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

const lab = (): LabResource => store.get<LabResource>(LAB) as LabResource;
const run = (startedAt: string, message = 'boom') => ({ op: 'apply', result: 'failed', message, startedAt, durationMs: 5, logFile: `/logs/${startedAt}` });

describe('writeStatus', () => {
  it('writes a change, and not the same failure again when only its run timing differs', async () => {
    const initial = lab().metadata.resourceVersion;
    const failed = await writeStatus(store, lab(), { phase: 'Failed', conditions: [{ type: 'Ready', status: 'False', reason: 'TerraformFailed', message: 'boom' }], fields: { lastTerraformRun: run('t1') } });
    expect(failed.metadata.resourceVersion).not.toBe(initial);
    expect(failed.status?.conditions?.map((c) => c.type)).toEqual(['Ready', 'Reconciling']);
    const again = await writeStatus(store, failed, { phase: 'Failed', conditions: [{ type: 'Ready', status: 'False', reason: 'TerraformFailed', message: 'boom' }], fields: { lastTerraformRun: run('t2') } });
    expect(again.metadata.resourceVersion).toBe(failed.metadata.resourceVersion);
    expect(lab().status?.lastTerraformRun?.startedAt).toBe('t1');
    const other = await writeStatus(store, again, { fields: { lastTerraformRun: run('t3', 'another error') } });
    expect(other.metadata.resourceVersion).not.toBe(failed.metadata.resourceVersion);
  });
});

describe('StatusDraft', () => {
  it('writes several steps once, at the end', async () => {
    const before = lab().metadata.resourceVersion;
    const writes = events.length;
    await StatusDraft.around(store, lab(), async (draft) => {
      draft.set({ fields: { appliedHash: 'h' } });
      draft.set({ fields: { machines: [{ name: 'web-0', id: 'default.l1.web-0' }] } });
      draft.set({ phase: 'Ready', conditions: [{ type: 'Ready', status: 'True', reason: 'Ready' }] });
      expect(lab().metadata.resourceVersion).toBe(before);
    });
    await waitFor(() => events.length === writes + 1, 'one watch event');
    expect(lab().status).toMatchObject({ phase: 'Ready', appliedHash: 'h', machines: [{ name: 'web-0' }], observedGeneration: 1 });
  });

  it('keeps what the steps did when one throws, and lets the error go on', async () => {
    const failure = new RetryLater('PlaybookFailed', 'failed: task "x"');
    await expect(StatusDraft.around(store, lab(), async (draft) => {
      draft.set({ fields: { appliedHash: 'kept' } });
      throw failure;
    })).rejects.toBe(failure);
    expect(lab().status?.appliedHash).toBe('kept');
  });
});

describe('recordFailure', () => {
  it('writes the failure on the latest version of the object: Stalled when terminal', async () => {
    await writeStatus(store, lab(), { fields: { appliedHash: 'h' } });
    await recordFailure(store, LAB, { reason: 'LimitExceeded', message: 'cpu 9 is above the limit of 8', phase: 'Failed' }, true);
    const status = lab().status;
    expect(status?.phase).toBe('Failed');
    expect(status?.appliedHash).toBe('h');
    expect(status?.conditions?.map((c) => `${c.type}=${c.status}:${c.reason}`)).toEqual(['Ready=False:LimitExceeded', 'Stalled=True:LimitExceeded']);
  });
});

describe('a controller with reconcileOnOwnWrites false', () => {
  it('is not woken up by its status writes, is by a spec change, and its RetryLater lands in the status', async () => {
    await store.stop();
    store = new FolderStore({ dir, stateDir: join(root, 'state-2') });
    const manager = new Manager(store); // starts the store
    const seen: number[] = [];
    manager.add({
      name: 'status-test',
      kind: 'Lab',
      reconcileOnOwnWrites: false,
      backoff: { baseMs: 60_000, maxMs: 60_000 },
      reconcile: async () => {
        const current = lab();
        seen.push(current.metadata.generation);
        await writeStatus(store, current, { fields: { appliedHash: `run-${seen.length}` } });
        if (current.spec.machines[0]?.cpu === 2) throw new RetryLater('TerraformFailed', 'terraform apply: boom', { phase: 'Failed', condition: 'Provisioned' });
      },
    });
    await manager.start();
    try {
      await waitFor(() => seen.length > 0, 'the first reconcile');
      await new Promise((r) => setTimeout(r, 300)); // (the Manager's start may add the key once more)
      const settled = seen.length;
      await writeStatus(store, lab(), { fields: { configuredHash: 'written in this process' } });
      await new Promise((r) => setTimeout(r, 300));
      expect(seen.length).toBe(settled); // a status write of this process does not bring it back
      writeFileSync(join(dir, 'lab.yaml'), labYaml(2));
      await waitFor(() => lab().status?.phase === 'Failed', 'the failure recorded');
      expect(seen.slice(settled)).toEqual([2]);
      const status = lab().status;
      expect(status?.appliedHash).toBe(`run-${settled + 1}`);
      expect(status?.conditions?.map((c) => `${c.type}=${c.status}:${c.reason}`)).toEqual([
        'Provisioned=False:TerraformFailed', 'Ready=False:TerraformFailed', 'Reconciling=True:TerraformFailed',
      ]);
      await new Promise((r) => setTimeout(r, 300));
      expect(seen.slice(settled)).toEqual([2]); // nor did the failure's write: the backoff paces the retry
    } finally {
      await manager.stop();
    }
  });
});
