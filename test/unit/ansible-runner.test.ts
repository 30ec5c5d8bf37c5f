import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { renderInventory, renderKnownHosts, sshArgs } from '../../src/exec/ansible/inventory.js';
import { defaultPlaybookDir } from '../../src/exec/ansible/playbooks.js';
import { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import { condenseMessage, outcomeOf, parseRunSummary, stderrSummary } from '../../src/exec/ansible/summary.js';
import { InvalidPlaybookError, InvalidRunRequestError, type AnsibleHost, type AnsibleRunRequest } from '../../src/exec/ansible/types.js';
import { validateRunRequest } from '../../src/exec/ansible/validate.js';
import { listRunLogs, runLogName } from '../../src/exec/run-logs.js';
import type { ProcessResult } from '../../src/exec/process.js';

const KEY = 'AAAAC3NzaC1lZDI1NTE5AAAAIBGmzEzF5EqTqgC3jJDNGmP0EXS0DHcBe/OhFSeoYwq4';
const host = (over: Partial<AnsibleHost> = {}): AnsibleHost => ({
  name: 'worker-0',
  address: '127.0.0.1',
  port: 22301,
  user: 'root',
  hostKey: `ssh-ed25519 ${KEY} orion-worker-worker-0`,
  ...over,
});
const proc = (over: Partial<ProcessResult> = {}): ProcessResult => ({
  exitCode: 0,
  stdout: '',
  stderr: '',
  durationMs: 1000,
  timedOut: false,
  cancelled: false,
  ...over,
});

describe('playbook resolution', () => {
  const runner = new AnsibleRunner({ runsDir: join(tmpdir(), 'orion-unused-runs') });

  it.each(['../x', 'a/b', 'a\\b', '.hidden', 'x;y', '', '.yml', 'create user', '..', 'create_user.yaml/..'])(
    'rejects %j',
    (name) => {
      expect(() => runner.resolvePlaybook(name)).toThrow(InvalidPlaybookError);
    },
  );

  it('explains why a name is rejected', () => {
    expect(() => runner.resolvePlaybook('../etc/passwd')).toThrow(/invalid playbook name.*bare name/);
  });

  it('resolves create_user with or without .yml from the project ansible/ folder', () => {
    const expected = join(defaultPlaybookDir(), 'create_user.yml');
    expect(runner.resolvePlaybook('create_user')).toBe(expected);
    expect(runner.resolvePlaybook('create_user.yml')).toBe(expected);
    expect(runner.resolvePlaybook('delete_user')).toBe(join(defaultPlaybookDir(), 'delete_user.yml'));
  });

  it('rejects a well-formed name that no directory holds', () => {
    expect(() => runner.resolvePlaybook('no_such_playbook')).toThrow(/not found/);
  });

  describe('with a symlink leaving the directory', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'orion-pb-'));
      mkdirSync(join(dir, 'books'));
      writeFileSync(join(dir, 'outside.yml'), '---\n');
      symlinkSync(join(dir, 'outside.yml'), join(dir, 'books', 'escape.yml'));
      writeFileSync(join(dir, 'books', 'inside.yml'), '---\n');
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('refuses it, and still resolves a file inside', () => {
      const r = new AnsibleRunner({ runsDir: dir, playbookDirs: [join(dir, 'books')] });
      expect(() => r.resolvePlaybook('escape')).toThrow(/outside/);
      expect(r.resolvePlaybook('inside')).toMatch(/books\/inside\.yml$/);
    });
  });
});

describe('rendering', () => {
  it('writes known_hosts lines from the pinned keys, bare address for port 22, comments dropped', () => {
    const text = renderKnownHosts([host(), host({ name: 'n2', address: 'node2.lab', port: 22, hostKey: `ssh-ed25519 ${KEY}` })]);
    expect(text).toBe(`[127.0.0.1]:22301 ssh-ed25519 ${KEY}\nnode2.lab ssh-ed25519 ${KEY}\n`);
  });

  it('refuses a host key that could inject known_hosts lines', () => {
    expect(() => renderKnownHosts([host({ hostKey: `ssh-ed25519 ${KEY}\n* ssh-ed25519 ${KEY}` })])).toThrow(InvalidRunRequestError);
    expect(() => renderKnownHosts([host({ hostKey: 'not a key' })])).toThrow(/pinned host key/);
  });

  it('renders a YAML inventory of hosts by name', () => {
    const inv = parseYaml(renderInventory([host(), host({ name: 'worker-1', port: 22302 })], '/run/x/id_key'));
    expect(inv).toEqual({
      all: {
        hosts: {
          'worker-0': { ansible_host: '127.0.0.1', ansible_port: 22301, ansible_user: 'root', ansible_ssh_private_key_file: '/run/x/id_key' },
          'worker-1': { ansible_host: '127.0.0.1', ansible_port: 22302, ansible_user: 'root', ansible_ssh_private_key_file: '/run/x/id_key' },
        },
      },
    });
  });

  it('checks host keys strictly against the run known_hosts only', () => {
    const args = sshArgs('/tmp/run/known_hosts');
    expect(args).toContain('-o StrictHostKeyChecking=yes');
    expect(args).toContain('-o UserKnownHostsFile="/tmp/run/known_hosts"');
    expect(args).not.toMatch(/StrictHostKeyChecking=no/);
  });

  it('names run logs by ISO time and playbook, and lists them back oldest first', async () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'orion-runs-'));
    try {
      const ref = { kind: 'Rental', namespace: 'default', name: 'r1' };
      const dir = join(runsDir, 'Rental', 'default', 'r1');
      mkdirSync(dir, { recursive: true });
      const name = runLogName(new Date('2026-11-21T22:28:28.187Z'), 'create_user');
      expect(name).toBe('20261121T222828.187Z-create_user.log');
      writeFileSync(join(dir, name), '');
      writeFileSync(join(dir, runLogName(new Date('2026-11-21T22:30:00.000Z'), 'delete_user')), '');
      writeFileSync(join(dir, 'unrelated.txt'), '');
      const logs = await listRunLogs(runsDir, ref);
      expect(logs.map((l) => [l.startedAt, l.playbook])).toEqual([
        ['2026-11-21T22:28:28.187Z', 'create_user'],
        ['2026-11-21T22:30:00.000Z', 'delete_user'],
      ]);
      expect(await listRunLogs(runsDir, { ...ref, name: 'other' })).toEqual([]);
    } finally {
      rmSync(runsDir, { recursive: true, force: true });
    }
  });
});

describe('request validation', () => {
  const req = (over: Partial<AnsibleRunRequest> = {}): AnsibleRunRequest => ({
    playbook: 'create_user',
    hosts: [host()],
    privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n-----END OPENSSH PRIVATE KEY-----\n',
    extraVars: { tenant_user: 'alice', tenant_ssh_keys: [`ssh-ed25519 ${KEY} alice@laptop`] },
    resource: { kind: 'Rental', namespace: 'default', name: 'r1' },
    ...over,
  });

  it('accepts a well-formed request', () => {
    expect(() => validateRunRequest(req())).not.toThrow();
  });

  it.each([
    ['an extra var named as one of Ansible\'s own', { extraVars: { ansible_ssh_common_args: '-o ProxyCommand=id' } }],
    ['a value that is not valid Unicode', { extraVars: { lab_vars: { x: 'a\ud800b' } } }],
    ['a traversal in the resource', { resource: { kind: 'Rental', namespace: '..', name: 'r1' } }],
    ['a slash in the resource', { resource: { kind: 'Rental', namespace: 'default', name: 'a/b' } }],
    ['no hosts', { hosts: [] }],
    ['a bad user', { hosts: [host({ user: 'root; rm -rf /' })] }],
    ['a bad port', { hosts: [host({ port: 0 })] }],
    ['duplicate host names', { hosts: [host(), host()] }],
    ['a private key that is not one', { privateKey: 'hunter2' }],
  ])('rejects %s', (_what, over) => {
    expect(() => validateRunRequest(req(over as Partial<AnsibleRunRequest>))).toThrow(InvalidRunRequestError);
  });

  it('accepts templates in values: they are written as data (unsafe), never run', () => {
    expect(() => validateRunRequest(req({ extraVars: { tenant_user: "{{ lookup('pipe', 'id') }}", tenant_ssh_keys: ['ssh-ed25519 AAAA {% raw %}'] } }))).not.toThrow();
  });

  it('never puts the private key in its messages', () => {
    const secret = '-----BEGIN OPENSSH PRIVATE KEY-----\nSECRETSECRET\n-----END OPENSSH PRIVATE KEY-----';
    try {
      validateRunRequest(req({ privateKey: secret, hosts: [] }));
    } catch (err) {
      expect(String(err)).not.toContain('SECRETSECRET');
    }
  });
});

// Samples written by ansible/callback_plugins/orion_summary.py in real runs against a loopback worker.
const SAMPLES = {
  changedNothing:
    '{"version": 1, "hosts": {"w1": {"ok": 5, "changed": 0, "failed": 0, "unreachable": 0, "skipped": 1, "rescued": 0, "ignored": 0}}}',
  created:
    '{"version": 1, "hosts": {"w1": {"ok": 5, "changed": 3, "failed": 0, "unreachable": 0, "skipped": 1, "rescued": 0, "ignored": 0}}}',
  failed:
    '{"version": 1, "hosts": {"w1": {"ok": 1, "changed": 0, "failed": 1, "unreachable": 0, "skipped": 0, "rescued": 0, "ignored": 0, "failedTask": "Fail with a known message", "message": "orion test failure on w1"}}}',
  refused:
    '{"version": 1, "hosts": {"w1": {"ok": 1, "changed": 0, "failed": 0, "unreachable": 1, "skipped": 0, "rescued": 0, "ignored": 0, "failedTask": "Create the tenant group", "message": "Data could not be sent to remote host \\"127.0.0.1\\". Make sure this host can be reached over ssh: ssh: connect to host 127.0.0.1 port 22398: Connection refused"}}}',
  hostKeyChanged: JSON.stringify({
    version: 1,
    hosts: {
      w1: {
        ok: 1, changed: 0, failed: 0, unreachable: 1, skipped: 0, rescued: 0, ignored: 0,
        failedTask: 'Create the tenant group',
        message:
          'Data could not be sent to remote host "127.0.0.1". Make sure this host can be reached over ssh: @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\nIT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\r\nSomeone could be eavesdropping on you right now (man-in-the-middle attack)!\r\nIt is also possible that a host key has just been changed.\r\nThe fingerprint for the ED25519 key sent by the remote host is\nSHA256:yxXunGgDcfqMNsHeSsi+P8HJOCfmCzUoEaP9ad7fpow.\r\nPlease contact your system administrator.\r\nAdd correct host key in /tmp/orion-ansible-ERrXBn/known_hosts to get rid of this message.\r\nOffending ED25519 key in /tmp/orion-ansible-ERrXBn/known_hosts:1\r\n  remove with:\r\n  ssh-keygen -f "/tmp/orion-ansible-ERrXBn/known_hosts" -R "[127.0.0.1]:22350"\r\nHost key for [127.0.0.1]:22350 has changed and you have requested strict checking.\r\nHost key verification failed.',
      },
    },
  }),
};
const SYNTAX_ERROR_STDERR = `[WARNING]: Unhandled error in Python interpreter discovery for host w1
ERROR! We were unable to read either as JSON nor YAML, these are the errors we got from each:
JSON: Expecting value: line 1 column 1 (char 0)

Syntax Error while loading YAML.
  did not find expected ',' or '}'

The error appears to be in '/tmp/scratch/bad.yml': line 3, column 1, but may
be elsewhere in the file depending on the exact syntax problem.
`;

describe('outcome of a run', () => {
  it('maps an all-ok run to success, with changed from the stats', () => {
    expect(outcomeOf(parseRunSummary(SAMPLES.created), proc())).toMatchObject({ result: 'success', changed: true });
    const again = outcomeOf(parseRunSummary(SAMPLES.changedNothing), proc());
    expect(again).toMatchObject({ result: 'success', changed: false });
    expect(again.hosts.w1).toEqual({ ok: 5, changed: 0, failed: 0, unreachable: 0, skipped: 1 });
  });

  it('maps a failed task to failed with the task and its message', () => {
    expect(outcomeOf(parseRunSummary(SAMPLES.failed), proc({ exitCode: 2 }))).toMatchObject({
      result: 'failed',
      failedTask: 'Fail with a known message',
      message: 'orion test failure on w1',
    });
  });

  it('maps a refused connection to unreachable', () => {
    const out = outcomeOf(parseRunSummary(SAMPLES.refused), proc({ exitCode: 4 }));
    expect(out.result).toBe('unreachable');
    expect(out.message).toContain('Connection refused');
  });

  it('condenses a host key mismatch into one line that names the host key', () => {
    const out = outcomeOf(parseRunSummary(SAMPLES.hostKeyChanged), proc({ exitCode: 4 }));
    expect(out.result).toBe('unreachable');
    expect(out.message).toBe(
      'Host key verification failed for [127.0.0.1]:22350: the host key it offered ' +
        '(SHA256:yxXunGgDcfqMNsHeSsi+P8HJOCfmCzUoEaP9ad7fpow) does not match the pinned host key',
    );
    expect(condenseMessage('plain\r\nmessage')).toBe('plain\nmessage');
  });

  it('prefers unreachable over failed when hosts differ', () => {
    const summary = parseRunSummary(SAMPLES.failed);
    const down = parseRunSummary(SAMPLES.refused);
    if (!summary || !down || !down.hosts.w1) throw new Error('bad samples');
    summary.hosts.w2 = down.hosts.w1;
    const out = outcomeOf(summary, proc({ exitCode: 4 }));
    expect(out.result).toBe('unreachable');
    expect(out.message).toMatch(/^w2: Data could not be sent/);
  });

  it('reports timeout and cancel whatever the stats say', () => {
    expect(outcomeOf(undefined, proc({ exitCode: null, timedOut: true })).result).toBe('timeout');
    expect(outcomeOf(parseRunSummary(SAMPLES.created), proc({ exitCode: null, cancelled: true })).result).toBe('cancelled');
  });

  it('explains a run that ended before any stats with Ansible ERROR! block', () => {
    const out = outcomeOf(parseRunSummary(''), proc({ exitCode: 4, stderr: SYNTAX_ERROR_STDERR }));
    expect(out.result).toBe('failed');
    expect(out.message).toMatch(/^ERROR! We were unable to read either as JSON nor YAML/);
    expect(stderrSummary('')).toBeUndefined();
  });

  it('does not call a zero-exit run without stats a success', () => {
    expect(outcomeOf(undefined, proc({ exitCode: 0 })).result).toBe('failed');
  });
});
