// The seeds' own curl commands, run verbatim with the real curl against a running Orion: seed 001's sessions (a
// session is a Desktop: real OpenTofu and Ansible on the desktop stand-in of test/harness/desktop-standin.ts) and
// seed 002's jobs (a PlaybookRun of the shipped `base` recipe on two real sshd nodes picked by serverIds).
// Only what a person's machine adds is outside the command: curl reads ~/.curlrc, where the test puts the bearer
// token (Authorization header) and --connect-to, which sends the seeds' hosts (10.0.0.7:5000, localhost:3001) to
// Orion on loopback. Nothing is sent anywhere else.
import { execa } from 'execa';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesktopResource, NodeResource } from '../../src/api/types.js';
import { defaultPlaybookDir } from '../../src/exec/ansible/playbooks.js';
import { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import { TerraformRunner } from '../../src/exec/terraform/runner.js';
import { generateClientKeyPair, SshWorker } from '../../src/dataplane/workers.js';
import { waitFor } from '../harness/cluster.js';
import { STANDIN_MODULE, STANDIN_MODULE_TF, authorizeOnWorker, standInClasses, standInRenderer } from '../harness/desktop-standin.js';
import { writeManifestFile } from '../harness/manifest-files.js';
import { PortalBed } from '../harness/portal-bed.js';
import { ensureTofu } from '../harness/tofu.js';

const DESKTOP_PORT = 24210;

// Seed 001, "Tests manuels actuels" (the placeholder desktop-abc123 stands for the session just created).
const SEED_001_CREATE = `curl -X POST http://10.0.0.7:5000/api/session/create \\
  -H "Content-Type: application/json" \\
  -d '{"username": "testuser"}'`;
const SEED_001_LIST = 'curl http://10.0.0.7:5000/api/sessions';
const SEED_001_DESTROY = `curl -X POST http://10.0.0.7:5000/api/session/destroy \\
  -H "Content-Type: application/json" \\
  -d '{"session_id": "desktop-abc123"}'`;
// Seed 002, "Tests rapides (dev)", steps 3 and 5.
const SEED_002_RUN = `curl -X POST http://localhost:3001/ansible/run \\
     -H 'Content-Type: application/json' \\
     -d '{"serverIds":[1,2], "recipe":"base.yml"}'`;
const SEED_002_STATUS = 'curl http://localhost:3001/ansible/jobs/<jobId>';

describe('the seeds\' curl commands, verbatim (real curl, OpenTofu, Ansible, sshd)', () => {
  let bed: PortalBed;
  let root: string;
  let desktopVm: SshWorker;
  const homes: Record<string, string> = {};

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'orion-seeds-'));
    const parts = await desktopStandIn(root);
    desktopVm = parts.worker;
    bed = await PortalBed.create({
      workers: 2,
      basePort: 24200,
      orion: {
        desktop: parts.controller,
        portal: { allowedHosts: ['10.0.0.7'], sessionWaitSeconds: 300 },
      },
    });
    // The admin's default MachineClass offers desktops: the session route uses it and its first image, and the
    // Desktop's key is the one Orion generates for it (the stand-in authorizes it as cloud-init would).
    await writeManifestFile(bed.manifests, 'desktop-classes.yaml', standInClasses({ maxTtlSeconds: 28800 }));
    await waitFor('2 Alive nodes', () => bed.list<NodeResource>('Node').filter((n) => n.status?.health === 'Alive').length === 2, 60_000);
    for (const [name, admin] of [['testuser', false], ['ops', true]] as const) homes[name] = await curlHome(root, name, await bed.token(name, admin), bed.url);
  }, 600_000);

  afterAll(async () => {
    await bed?.destroy();
    await desktopVm?.stop().catch(() => undefined);
    if (root) await rm(root, { recursive: true, force: true });
  });

  const curl = async (home: string, command: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    // -w is curl's own flag, appended to read the status; the command itself is the seed's.
    const result = await execa('bash', ['-c', `${command} -s -w '\\n%{http_code}'`], { env: { HOME: home, PATH: process.env.PATH ?? '' }, timeout: 600_000, reject: false });
    const lines = String(result.stdout).trimEnd().split('\n');
    const status = Number(lines.pop());
    return { status, body: JSON.parse(lines.join('\n') || '{}') as Record<string, unknown> };
  };

  it('seed 001: creates a session, lists it, destroys it; 400 when a field is missing', async () => {
    const created = await curl(homes.testuser as string, SEED_001_CREATE);
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body).toMatchObject({ vm_ip: '127.0.0.1', rdp_port: 3389, username: 'testuser', session_user: null, status: 'ready' });
    const id = String(created.body.session_id);
    expect(created.body.vm_name).toBe(id);
    expect(Date.parse(String(created.body.created_at))).not.toBeNaN();
    expect((await desktopVm.exec(['getent', 'passwd', 'testuser'])).exitCode).toBe(0);

    const listed = await curl(homes.testuser as string, SEED_001_LIST);
    expect(listed.status).toBe(200);
    expect(listed.body[id]).toMatchObject({ session_id: id, vm_name: id, vm_ip: '127.0.0.1', rdp_port: 3389, username: 'testuser', status: 'active' });

    const missing = await curl(homes.testuser as string, SEED_001_DESTROY.replace('"session_id": "desktop-abc123"', '"id": "x"'));
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ error: 'session_id required', status: 400 });
    const noUser = await curl(homes.testuser as string, SEED_001_CREATE.replace('"username": "testuser"', '"user": "testuser"'));
    expect(noUser.status).toBe(400);
    expect(noUser.body.error).toBe('username required');

    const destroyed = await curl(homes.testuser as string, SEED_001_DESTROY.replace('desktop-abc123', id));
    expect(destroyed.status).toBe(200);
    expect(destroyed.body).toEqual({ session_id: id, status: 'destroyed' });
    expect(bed.list<DesktopResource>('Desktop')).toEqual([]);
  }, 600_000);

  it('seed 002: runs the base recipe on the nodes of serverIds 1 and 2 and reports SUCCESS', async () => {
    const denied = await curl(homes.testuser as string, SEED_002_RUN);
    expect(denied.status).toBe(403);
    const run = await curl(homes.ops as string, SEED_002_RUN);
    expect(run.status).toBe(202);
    const jobId = String(run.body.jobId);
    expect(jobId).toMatch(/^job-/);
    const done = await waitFor('the job ended', async () => {
      const answer = await curl(homes.ops as string, SEED_002_STATUS.replace('<jobId>', jobId));
      return ['SUCCESS', 'ERROR'].includes(String(answer.body.status)) && answer;
    }, 120_000);
    expect(done.body).toMatchObject({ status: 'SUCCESS', recipe: 'base', nodes: ['n0', 'n1'] });
    expect(Date.parse(String(done.body.endedAt))).toBeGreaterThanOrEqual(Date.parse(String(done.body.startedAt)));
    const log = await execa('curl', ['-s', `http://localhost:3001/ansible/jobs/${jobId}/log`], { env: { HOME: homes.ops as string, PATH: process.env.PATH ?? '' } });
    expect(log.stdout).toMatch(/TASK \[Ping\]/);
  }, 300_000);
});

/** ~/.curlrc of a person: their token, and the seeds' hosts sent to Orion on loopback. */
async function curlHome(root: string, name: string, token: string, url: string): Promise<string> {
  const home = join(root, 'home', name);
  await mkdir(home, { recursive: true });
  const port = new URL(url).port;
  await writeFile(join(home, '.curlrc'), [
    `header = "Authorization: Bearer ${token}"`,
    `connect-to = 10.0.0.7:5000:127.0.0.1:${port}`,
    `connect-to = localhost:3001:127.0.0.1:${port}`,
    '',
  ].join('\n'), { mode: 0o600 });
  return home;
}

/** The pieces of test/harness/desktop-standin.ts for Orion's own Desktop controller: module, runners. */
async function desktopStandIn(root: string) {
  const modules = join(root, 'modules');
  const records = join(root, 'machines');
  await mkdir(join(modules, STANDIN_MODULE), { recursive: true });
  await mkdir(records, { recursive: true });
  await writeFile(join(modules, STANDIN_MODULE, 'main.tf'), STANDIN_MODULE_TF);
  const wrapper = join(root, 'ansible-playbook-standin');
  await writeFile(wrapper, '#!/bin/sh\nexec ansible-playbook --skip-tags packages "$@"\n');
  await chmod(wrapper, 0o755);
  const key = await generateClientKeyPair(join(root, 'keys', 'desktop'));
  const worker = new SshWorker({ name: 'desktop-vm', port: DESKTOP_PORT, dir: join(root, 'desktop-vm'), authorizedKeys: [key.publicKey] });
  const [tools] = await Promise.all([ensureTofu('core'), worker.start()]);
  await worker.exec(['sh', '-c', 'touch /run/utmp && chmod 664 /run/utmp']);
  const state = join(root, 'desktop-state');
  const controller = {
    terraform: await TerraformRunner.create({ stateRoot: join(state, 'terraform'), binary: tools.tofu, env: tools.env }),
    ansible: new AnsibleRunner({ playbookDirs: [defaultPlaybookDir()], runsDir: join(state, 'runs'), ansiblePlaybook: wrapper }),
    modulesDir: modules,
    machineModule: { name: STANDIN_MODULE, render: standInRenderer(records, () => DESKTOP_PORT, (_d, publicKey) => authorizeOnWorker(worker, publicKey)) },
    pollMs: 300,
  };
  return { worker, key, controller };
}
