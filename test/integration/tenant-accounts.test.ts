// create_user and delete_user touch only the accounts Orion made, against a real sshd worker and real Ansible.
// Each case below puts on the node something Orion did not make for the rental that asks (a login made by hand, a
// system account, a lone group or home, another rental's tenant, the node's own login); create_user must refuse it
// with AccountExists and delete_user must leave it, both without changing one byte of it (passwd, shadow and group
// entries, home, authorized_keys, sudoers, markers). Then the marker: it is what create_user writes first and what
// delete_user checks before removing anything.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClientKeyPair, SshWorker, type ClientKeyPair } from '../../src/dataplane/workers.js';
import { defaultPlaybookDir } from '../../src/exec/ansible/playbooks.js';
import { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import type { AnsibleRunRequest, AnsibleRunResult } from '../../src/exec/ansible/types.js';

const PORTS = [22900, 22901, 22902, 22903];
const RENTAL = '3f2a9a54-1111-4000-8000-00000000000a';
const OTHER_RENTAL = '3f2a9a54-2222-4000-8000-00000000000b';
/** A SHA-512 crypt hash an admin set by hand: it must come out of every run unchanged. */
const HAND_HASH = '$6$handmade$0eW1Fz8bXo3s4dC5gQHq1bEo0r1nqkz5mDC0mNnqCzW6iU7hK0a6vC1w3S9eYJkZ8QH0fGz1sK1dPzE2xN1o.';

async function startWorker(dir: string, authorizedKey: string): Promise<SshWorker> {
  let lastError: unknown;
  for (const port of PORTS) {
    const worker = new SshWorker({ name: 'accounts-it', port, dir: join(dir, `worker-${port}`), authorizedKeys: [authorizedKey] });
    try {
      await worker.start();
      return worker;
    } catch (err) {
      lastError = err; // the port is taken: try the next one
    }
  }
  throw lastError;
}

describe('tenant accounts: Orion creates and removes only what it made (real sshd, real Ansible)', () => {
  let dir: string;
  let admin: ClientKeyPair;
  let tenant: ClientKeyPair;
  let worker: SshWorker;
  let hostKey: string;
  let runner: AnsibleRunner;

  const sh = async (script: string): Promise<string> => {
    const result = await worker.exec(['sh', '-c', script]);
    if (result.exitCode !== 0) throw new Error(`${script}: ${result.stderr}`);
    return result.stdout;
  };

  /** Everything of the name on the node, byte for byte (hashes of file contents, modes and owners). */
  const snapshot = (user: string): Promise<string> =>
    sh(`
      getent passwd ${user}; getent shadow ${user}; getent group ${user}
      if [ -e /home/${user} ]; then find /home/${user} -printf '%p %u %g %m %s\\n' | sort; find /home/${user} -type f -exec sha256sum {} + | sort; fi
      ls -la /etc/sudoers.d; sha256sum /etc/sudoers.d/* 2>/dev/null | sort
      if [ -e /etc/orion/tenants ]; then find /etc/orion/tenants -printf '%p %u %g %m\\n' | sort; cat /etc/orion/tenants/* 2>/dev/null; fi
      true`);

  const run = (playbook: 'create_user' | 'delete_user', user: string, owner: string, hostUser = 'root'): Promise<AnsibleRunResult> => {
    const vars = playbook === 'create_user'
      ? { tenant_user: user, tenant_owner: owner, tenant_ssh_keys: [tenant.publicKey], tenant_sudo: false }
      : { tenant_user: user, tenant_owner: owner };
    const request: AnsibleRunRequest = {
      playbook,
      hosts: [{ name: 'node-a', address: '127.0.0.1', port: worker.port, user: hostUser, hostKey, vars }],
      privateKey: admin.privateKey,
      extraVars: {},
      resource: { kind: 'Rental', namespace: 'default', name: 'accounts-it' },
    };
    return runner.run(request);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orion-accounts-it-'));
    admin = await generateClientKeyPair(join(dir, 'admin'));
    tenant = await generateClientKeyPair(join(dir, 'tenant'));
    worker = await startWorker(dir, admin.publicKey);
    hostKey = await worker.hostPublicKey();
    runner = new AnsibleRunner({ playbookDirs: [defaultPlaybookDir()], runsDir: join(dir, 'runs') });
    // The node's own login for Orion, as an admin sets one up: sudo without a password, Orion's key.
    await sh(`useradd -m -s /bin/bash ops && install -d -m 700 -o ops -g ops /home/ops/.ssh
      printf '%s\\n' '${admin.publicKey}' > /home/ops/.ssh/authorized_keys && chown ops:ops /home/ops/.ssh/authorized_keys
      echo 'ops ALL=(ALL:ALL) NOPASSWD: ALL' > /etc/sudoers.d/ops && chmod 440 /etc/sudoers.d/ops`);
  }, 120_000);

  afterAll(async () => {
    await worker?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  // What is on the node before Orion is asked for the name, made the way an admin or another rental would.
  const existing: Array<{ what: string; user: string; make: () => Promise<unknown> }> = [
    {
      what: 'a login made by hand, with a password, keys and sudo',
      user: 'carol',
      make: () => sh(`useradd -m -s /bin/bash carol && usermod -p '${HAND_HASH}' carol
        install -d -m 700 -o carol -g carol /home/carol/.ssh && echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHandMadeKeyHandMadeKeyHandMadeKey0000 carol@desk' > /home/carol/.ssh/authorized_keys
        chown carol:carol /home/carol/.ssh/authorized_keys && echo 'data' > /home/carol/thesis.txt
        echo 'carol ALL=(ALL:ALL) ALL' > /etc/sudoers.d/carol && chmod 440 /etc/sudoers.d/carol
        echo 'carol ALL=(ALL:ALL) NOPASSWD: ALL' > /etc/sudoers.d/orion-carol && chmod 440 /etc/sudoers.d/orion-carol`),
    },
    { what: 'a system account without a home', user: 'backupd', make: () => sh('useradd -r -M -s /usr/sbin/nologin backupd') },
    { what: 'a group alone (its members would gain what the group grants)', user: 'dockerish', make: () => sh('groupadd dockerish') },
    { what: 'a home alone, with files in it', user: 'dave', make: () => sh('mkdir -p /home/dave/work && echo kept > /home/dave/work/notes && chmod 750 /home/dave') },
    {
      what: 'the tenant of another rental (its marker names that rental)',
      user: 'erin',
      make: async () => {
        const made = await run('create_user', 'erin', OTHER_RENTAL);
        if (made.result !== 'success') throw new Error(`setting up erin: ${made.message}`);
      },
    },
  ];

  it.each(existing)('never takes over nor removes $what', async ({ user, make }) => {
    await make();
    const before = await snapshot(user);

    const created = await run('create_user', user, RENTAL);
    expect(created).toMatchObject({ result: 'failed', failedTask: 'Refuse an account Orion did not create for this rental' });
    expect(created.message).toMatch(new RegExp(`^AccountExists: ${user} already exists on this node \\(.+\\) and Orion did not create it for this rental; nothing was changed`));
    expect(created.hosts['node-a']?.changed).toBe(0);
    expect(await snapshot(user)).toBe(before);

    const deleted = await run('delete_user', user, RENTAL);
    expect(deleted, deleted.message).toMatchObject({ result: 'success', changed: false });
    expect(await snapshot(user)).toBe(before);
  }, 180_000);

  it('the node\'s own login can never be a tenant: both playbooks refuse it, changing nothing', async () => {
    const before = await snapshot('ops');
    // Orion logs in as ops (with sudo): tenant_user ops is its own login.
    for (const playbook of ['create_user', 'delete_user'] as const) {
      const result = await run(playbook, 'ops', RENTAL, 'ops');
      expect(result).toMatchObject({ result: 'failed', failedTask: 'Check the tenant variables' });
      expect(result.message).toMatch(/nor the node's own login/);
    }
    expect(await snapshot('ops')).toBe(before);
    // And even a marker that claims it (written by hand) does not make delete_user remove it.
    await sh(`mkdir -p /etc/orion/tenants && echo ${RENTAL} > /etc/orion/tenants/ops`);
    const forged = await run('delete_user', 'ops', RENTAL, 'ops');
    expect(forged.result).toBe('failed');
    expect((await worker.exec(['id', 'ops'])).exitCode).toBe(0);
    await sh('rm /etc/orion/tenants/ops');
  }, 180_000);

  it('create_user writes a root-only marker naming the rental first; only that rental\'s delete_user removes the account', async () => {
    const created = await run('create_user', 'frank', RENTAL);
    expect(created, created.message).toMatchObject({ result: 'success', changed: true });
    expect(await sh('stat -c "%U %G %a" /etc/orion/tenants /etc/orion/tenants/frank; cat /etc/orion/tenants/frank')).toBe(
      `root root 700\nroot root 600\n${RENTAL}`,
    );
    expect((await run('create_user', 'frank', RENTAL)).changed).toBe(false);

    // Another rental's delete_user: frank stays, marker and all.
    const before = await snapshot('frank');
    const other = await run('delete_user', 'frank', OTHER_RENTAL);
    expect(other, other.message).toMatchObject({ result: 'success', changed: false });
    expect(await snapshot('frank')).toBe(before);

    // Its own: the account, its home, its group and the marker go.
    const removed = await run('delete_user', 'frank', RENTAL);
    expect(removed, removed.message).toMatchObject({ result: 'success', changed: true });
    expect((await worker.exec(['id', 'frank'])).exitCode).not.toBe(0);
    expect((await worker.exec(['getent', 'group', 'frank'])).exitCode).not.toBe(0);
    expect((await worker.exec(['test', '-e', '/home/frank'])).exitCode).toBe(1);
    expect((await worker.exec(['test', '-e', '/etc/orion/tenants/frank'])).exitCode).toBe(1);
    expect((await run('delete_user', 'frank', RENTAL)).changed).toBe(false);
  }, 240_000);

  it('a run cut short after the marker (no account yet) is finished by the same rental, and removable by it', async () => {
    await sh(`mkdir -p /etc/orion/tenants && chmod 700 /etc/orion/tenants && echo ${RENTAL} > /etc/orion/tenants/gina && chmod 600 /etc/orion/tenants/gina`);
    const created = await run('create_user', 'gina', RENTAL);
    expect(created, created.message).toMatchObject({ result: 'success', changed: true });
    expect((await worker.exec(['id', '-un', 'gina'])).stdout.trim()).toBe('gina');
    await sh('userdel -r gina');
    const removed = await run('delete_user', 'gina', RENTAL);
    expect(removed, removed.message).toMatchObject({ result: 'success', changed: true });
    expect((await worker.exec(['test', '-e', '/etc/orion/tenants/gina'])).exitCode).toBe(1);
  }, 240_000);
});
