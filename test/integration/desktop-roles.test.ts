// ansible/desktop.yml and its roles against a real sshd worker on loopback (src/dataplane/workers.ts), through the
// AnsibleRunner the controller uses. The worker shares this host's packages and has no mirror, so the tasks tagged
// "packages" (apt, xrdp service, realm join) are skipped with --skip-tags: what runs is the rest of the roles —
// the local user, its password, the XFCE session, the pam_mount configuration — for real, twice (idempotence),
// and the whole playbook with the AD join in --check mode.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectRef } from '../../src/api/refs.js';
import { generateClientKeyPair, SshWorker, type ClientKeyPair } from '../../src/dataplane/workers.js';
import { defaultPlaybookDir } from '../../src/exec/ansible/playbooks.js';
import { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import type { AnsibleHost } from '../../src/exec/ansible/types.js';

const PASSWORD = 'Rdp-secret-not-in-logs';
const AD_PASSWORD = 'Ad-join-secret-not-in-logs';
const PORT = 22820;

let root: string;
let worker: SshWorker;
let key: ClientKeyPair;
let host: AnsibleHost;

async function runner(name: string, extraArgs: string): Promise<AnsibleRunner> {
  const wrapper = join(root, name);
  await writeFile(wrapper, `#!/bin/sh\nexec ansible-playbook --skip-tags packages ${extraArgs} "$@"\n`);
  await chmod(wrapper, 0o755);
  return new AnsibleRunner({ playbookDirs: [defaultPlaybookDir()], runsDir: join(root, 'runs'), ansiblePlaybook: wrapper });
}

const resource: ObjectRef = { kind: 'Desktop', namespace: 'default', name: 'roles' };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'orion-desktop-roles-'));
  key = await generateClientKeyPair(join(root, 'key'));
  worker = new SshWorker({ name: 'desktop-roles', port: PORT, dir: join(root, 'worker'), authorizedKeys: [key.publicKey] });
  await worker.start();
  host = { name: 'desktop', address: '127.0.0.1', port: PORT, user: 'root', hostKey: await worker.hostPublicKey() };
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('ansible/desktop.yml', () => {
  it('passes ansible-playbook --syntax-check', async () => {
    const run = await execa('ansible-playbook', ['--syntax-check', '-i', 'localhost,', join(defaultPlaybookDir(), 'desktop.yml')], { reject: false });
    expect(run.exitCode, run.stderr).toBe(0);
  });

  it('configures the user, its XFCE session and pam_mount, and changes nothing the second time', async () => {
    const ansible = await runner('apply', '');
    const extraVars = { desktop_user: 'carol', desktop_password: PASSWORD, pam_mount_server: 'files.proto.lan', pam_mount_share: 'Partage', pam_mount_mountpoint: '~/Partage' };
    const first = await ansible.run({ playbook: 'desktop', hosts: [host], privateKey: key.privateKey, extraVars, resource });
    expect(first.result, first.message).toBe('success');
    expect(first.changed).toBe(true);
    const passwd = await worker.exec(['getent', 'passwd', 'carol']);
    expect(passwd.stdout).toMatch(/^carol:x:\d+:\d+::\/home\/carol:\/bin\/bash$/m);
    expect((await worker.exec(['getent', 'shadow', 'carol'])).stdout).toMatch(/^carol:\$6\$/);
    expect((await worker.exec(['cat', '/home/carol/.xsession'])).stdout).toContain('exec startxfce4');
    const pamMount = (await worker.exec(['cat', '/etc/security/pam_mount.conf.xml'])).stdout;
    expect(pamMount).toContain('<volume user="carol" fstype="cifs" server="files.proto.lan" path="Partage"');
    expect(pamMount).toContain('mountpoint="~/Partage"');

    const second = await ansible.run({ playbook: 'desktop', hosts: [host], privateKey: key.privateKey, extraVars, resource });
    expect(second.result, second.message).toBe('success');
    expect(second.hosts.desktop?.changed).toBe(0);
    const log = (await readFile(first.logFile, 'utf8')) + (await readFile(second.logFile, 'utf8'));
    expect(log).not.toContain(PASSWORD);
  }, 180_000);

  it('runs with the AD join in --check mode, the join credentials hidden', async () => {
    const ansible = await runner('check', '--check');
    const extraVars = { desktop_user: 'dave', ad_join_domain: 'proto.lan', ad_join_ou: 'OU=Desktops,DC=proto,DC=lan', ad_join_user: 'svc-join', ad_join_password: AD_PASSWORD };
    const run = await ansible.run({ playbook: 'desktop', hosts: [host], privateKey: key.privateKey, extraVars, resource });
    expect(run.result, run.message).toBe('success');
    // Check mode: nothing was created (with AD the user comes from the domain anyway).
    expect((await worker.exec(['getent', 'passwd', 'dave'])).exitCode).not.toBe(0);
    expect(await readFile(run.logFile, 'utf8')).not.toContain(AD_PASSWORD);
  }, 180_000);

  it('refuses a reserved desktop user before touching the machine', async () => {
    const ansible = await runner('refuse', '');
    const run = await ansible.run({ playbook: 'desktop', hosts: [host], privateKey: key.privateKey, extraVars: { desktop_user: 'root' }, resource });
    expect(run.result).toBe('failed');
    expect(run.failedTask).toBe('Check the desktop variables');
  }, 120_000);
});
