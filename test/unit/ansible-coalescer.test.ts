// Group commit of single-host Ansible runs: which runs share a process, and how a shared run's outcome is
// split per host. The process itself is replaced by a recording function here; the real thing (sshd and
// ansible-playbook) is in test/integration/ansible-coalescing.test.ts.
import { describe, expect, it } from 'vitest';
import { AnsibleCoalescer } from '../../src/exec/ansible/coalescer.js';
import { hostOutcomeOf, parseRunSummary } from '../../src/exec/ansible/summary.js';
import type { AnsibleRunRequest, AnsibleRunResult } from '../../src/exec/ansible/types.js';
import type { ProcessResult } from '../../src/exec/process.js';

const request = (host: string, over: Partial<AnsibleRunRequest> = {}): AnsibleRunRequest => ({
  playbook: 'create_user',
  hosts: [{ name: host, address: '127.0.0.1', port: 22, user: 'root', hostKey: 'ssh-ed25519 AAAA', vars: { tenant_user: `u-${host}` } }],
  privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----',
  extraVars: {},
  resource: { kind: 'Rental', namespace: 'default', name: `r-${host}` },
  coalesce: true,
  ...over,
});

const success = (req: AnsibleRunRequest, note = ''): AnsibleRunResult => ({
  playbook: req.playbook,
  result: 'success',
  hosts: {},
  changed: false,
  message: note,
  exitCode: 0,
  durationMs: 1,
  logFile: '',
  startedAt: '',
});

/** A stand-in for the process runner that records the groups it is given and answers as told. */
function recorder(answer: (members: AnsibleRunRequest[]) => Array<AnsibleRunResult | undefined> = (m) => m.map((r) => success(r))) {
  const groups: string[][] = [];
  let release: () => void = () => {};
  let gate: Promise<void> = Promise.resolve();
  return {
    groups,
    /** Holds every process until open() (to let runs pile up behind busy slots). */
    hold() {
      gate = new Promise((resolve) => (release = resolve));
    },
    open: () => release(),
    run: async (members: AnsibleRunRequest[]) => {
      groups.push(members.map((m) => m.hosts[0]?.name ?? ''));
      await gate;
      return answer(members);
    },
  };
}

describe('AnsibleCoalescer', () => {
  it('runs requests that arrive within the window in one process', async () => {
    const rec = recorder();
    const coalescer = new AnsibleCoalescer(rec.run, { windowMs: 50, maxHosts: 10, maxProcesses: 2 });
    const results = await Promise.all(['a', 'b', 'c'].map((h) => coalescer.submit(request(h))));
    expect(results.map((r) => r.result)).toEqual(['success', 'success', 'success']);
    expect(rec.groups).toEqual([['a', 'b', 'c']]);
  });

  it('starts a run at once when no process is running, without waiting the window for company', async () => {
    const rec = recorder();
    // A window longer than the test's timeout: waiting it would fail the test.
    const coalescer = new AnsibleCoalescer(rec.run, { windowMs: 10 * 60_000, maxHosts: 10, maxProcesses: 2 });
    const result = await coalescer.submit(request('a'));
    expect(result.result).toBe('success');
    expect(rec.groups).toEqual([['a']]);
  });

  it('keeps different playbooks, keys and extra vars apart', async () => {
    const rec = recorder();
    const coalescer = new AnsibleCoalescer(rec.run, { windowMs: 50, maxHosts: 10, maxProcesses: 4 });
    await Promise.all([
      coalescer.submit(request('a')),
      coalescer.submit(request('b', { playbook: 'delete_user' })),
      coalescer.submit(request('c', { privateKey: '-----BEGIN OPENSSH PRIVATE KEY----- other' })),
      coalescer.submit(request('d', { extraVars: { x: 1 } })),
      coalescer.submit(request('e')),
    ]);
    expect(rec.groups.map((g) => g.join(',')).sort()).toEqual(['a,e', 'b', 'c', 'd']);
  });

  it('bounds a group by maxHosts and never puts one host twice in a process', async () => {
    const rec = recorder();
    const coalescer = new AnsibleCoalescer(rec.run, { windowMs: 50, maxHosts: 2, maxProcesses: 1 });
    await Promise.all(['a', 'a', 'b', 'c'].map((h) => coalescer.submit(request(h))));
    expect(rec.groups).toEqual([['a', 'b'], ['a', 'c']]);
  });

  it('lets runs pile up while the processes are busy, then runs them together', async () => {
    const rec = recorder();
    const coalescer = new AnsibleCoalescer(rec.run, { windowMs: 10, maxHosts: 10, maxProcesses: 1 });
    rec.hold();
    const first = coalescer.submit(request('a'));
    await new Promise((r) => setTimeout(r, 40)); // 'a' is running, alone
    const later = ['b', 'c', 'd'].map((h) => coalescer.submit(request(h)));
    await new Promise((r) => setTimeout(r, 40));
    expect(rec.groups).toEqual([['a']]);
    rec.open();
    await Promise.all([first, ...later]);
    expect(rec.groups).toEqual([['a'], ['b', 'c', 'd']]);
  });

  it('runs a member again, alone, when the shared run did not tell its outcome', async () => {
    const rec = recorder((members) => (members.length > 1 ? members.map((m, i) => (i === 0 ? success(m, 'shared') : undefined)) : members.map((m) => success(m, 'alone'))));
    const coalescer = new AnsibleCoalescer(rec.run, { windowMs: 20, maxHosts: 10, maxProcesses: 2 });
    const results = await Promise.all(['a', 'b', 'c'].map((h) => coalescer.submit(request(h))));
    expect(results.map((r) => r.message)).toEqual(['shared', 'alone', 'alone']);
    expect(rec.groups.slice(1).map((g) => g.join(',')).sort()).toEqual(['b', 'c']);
  });

  it('rejects every member when the process cannot be run', async () => {
    const coalescer = new AnsibleCoalescer(async () => {
      throw new Error('no ansible-playbook');
    }, { windowMs: 10, maxHosts: 10, maxProcesses: 1 });
    const results = await Promise.allSettled(['a', 'b'].map((h) => coalescer.submit(request(h))));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});

describe('hostOutcomeOf: one host of a shared run', () => {
  const proc = (over: Partial<ProcessResult> = {}): ProcessResult => ({ exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, cancelled: false, ...over });
  const stats = (failed: number, unreachable: number, extra: object = {}) => ({ ok: 3, changed: 1, failed, unreachable, skipped: 0, ...extra });
  const summary = parseRunSummary(JSON.stringify({
    version: 1,
    hosts: {
      good: stats(0, 0),
      bad: stats(1, 0, { failedTask: 'Check the tenant variables', message: 'tenant_user must match' }),
      gone: stats(0, 1, { failedTask: 'Gathering', message: 'Connection refused' }),
    },
  }));

  it('a failed or unreachable host gets its own failure, named without the other hosts', () => {
    expect(hostOutcomeOf(summary, proc({ exitCode: 4 }), 'bad')).toMatchObject({ result: 'failed', failedTask: 'Check the tenant variables', message: 'tenant_user must match' });
    expect(hostOutcomeOf(summary, proc({ exitCode: 4 }), 'gone')).toMatchObject({ result: 'unreachable', message: 'Connection refused' });
    expect(Object.keys(hostOutcomeOf(summary, proc({ exitCode: 4 }), 'bad')?.hosts ?? {})).toEqual(['bad']);
  });

  it('a clean host of a run that failed elsewhere is not told (it runs again alone)', () => {
    expect(hostOutcomeOf(summary, proc({ exitCode: 2 }), 'good')).toBeUndefined();
  });

  it('a clean host of a successful run succeeded', () => {
    const clean = parseRunSummary(JSON.stringify({ version: 1, hosts: { good: stats(0, 0), other: stats(0, 0) } }));
    expect(hostOutcomeOf(clean, proc(), 'good')).toMatchObject({ result: 'success', changed: true, hosts: { good: { ok: 3 } } });
  });

  it('a timeout tells no host; a cancelled run is cancelled for all', () => {
    expect(hostOutcomeOf(summary, proc({ timedOut: true, exitCode: null }), 'bad')).toBeUndefined();
    expect(hostOutcomeOf(undefined, proc({ cancelled: true, exitCode: null }), 'good')).toMatchObject({ result: 'cancelled' });
  });

  it('a run that ended before any stats (a syntax error) tells no host', () => {
    expect(hostOutcomeOf(undefined, proc({ exitCode: 4, stderr: 'ERROR! bad' }), 'good')).toBeUndefined();
  });
});
