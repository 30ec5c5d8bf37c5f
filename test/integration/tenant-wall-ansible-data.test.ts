// A Lab's Ansible vars are data (docs/adr/0022-data-stays-data.md), proven with real ansible-playbook against a real
// sshd worker: vars named as Ansible's connection variables or holding Jinja reach the playbook as one dict,
// lab_vars, literally, and nothing of them runs on Orion's host. The Lab's own playbook, lab-base, writes a motd
// holding a template as the text it is.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labView } from '../../controllers/lab/view.js';
import type { MachineSpec } from '../../controllers/machine/spec.js';
import type { LabResource } from '../../src/api/types.js';
import { generateClientKeyPair, SshWorker, type ClientKeyPair } from '../../src/dataplane/workers.js';
import { defaultPlaybookDir } from '../../src/exec/ansible/playbooks.js';
import { AnsibleRunner } from '../../src/exec/ansible/runner.js';

const FIXTURE_PLAYBOOKS = fileURLToPath(new URL('../fixtures/ansible', import.meta.url));
/** This file's share of the test ports: 127.0.0.1:23760-23763. */
const PORTS = [23760, 23761, 23762, 23763];

async function startWorker(dir: string, authorizedKey: string): Promise<SshWorker> {
  let lastError: unknown;
  for (const port of PORTS) {
    const worker = new SshWorker({ name: 'wall-data', port, dir: join(dir, `worker-${port}`), authorizedKeys: [authorizedKey] });
    try {
      await worker.start();
      return worker;
    } catch (err) {
      lastError = err; // the port is most likely taken: try the next one
    }
  }
  throw lastError;
}

/** A Lab whose spec.ansible is the given one; the run's extra vars are what the Lab controller passes (labView). */
function labWith(playbook: string, vars: Record<string, unknown>): LabResource {
  return {
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'Lab',
    metadata: { name: 'wall', namespace: 'default' },
    spec: { machines: [{ name: 'vm' }], ansible: { playbook, user: 'root', vars } },
  } as unknown as LabResource;
}

describe('Lab vars reach Ansible as data', () => {
  let dir: string;
  let admin: ClientKeyPair;
  let worker: SshWorker;
  let hostKey: string;
  let runner: AnsibleRunner;

  const runLab = async (lab: LabResource) => {
    // What the Lab controller passes: its view's playbook, from the Lab's spec resolved (its ansible part is the Lab's own).
    const view = labView({ machineClasses: () => [], hypervisors: () => [], secretNamespace: 'default' });
    const run = view.playbook(lab, { ...lab.spec, provider: { type: 'libvirt' } } as MachineSpec, {});
    if (!run) throw new Error('the Lab has no playbook');
    return runner.run({
      playbook: run.playbook,
      hosts: [{ name: 'vm-0', address: '127.0.0.1', port: worker.port, user: run.user, hostKey }],
      privateKey: admin.privateKey,
      extraVars: { ...run.vars, ...run.identity },
      resource: { kind: 'Lab', namespace: 'default', name: 'wall' },
    });
  };
  const readOnWorker = async (path: string) => {
    // A dot after the file: exec's output loses its last newline, the file's must count.
    const cat = await worker.exec(['sh', '-c', 'cat "$1" && printf .', 'cat', path]);
    expect(cat.exitCode, cat.stderr).toBe(0);
    return cat.stdout.slice(0, -1);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orion-wall-data-'));
    admin = await generateClientKeyPair(join(dir, 'admin'));
    worker = await startWorker(dir, admin.publicKey);
    hostKey = await worker.hostPublicKey();
    runner = new AnsibleRunner({ runsDir: join(dir, 'runs'), playbookDirs: [defaultPlaybookDir(), FIXTURE_PLAYBOOKS] });
  }, 60_000);

  afterAll(async () => {
    await worker?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('connection variables and templates in a Lab\'s vars arrive literally in lab_vars, and nothing runs on the host', async () => {
    const proxyMarker = join(dir, 'proxy-command-ran');
    const pipeMarker = join(dir, 'pipe-lookup-ran');
    const vars = {
      ansible_ssh_common_args: `-o ProxyCommand=touch ${proxyMarker}`,
      ansible_python_interpreter: `/bin/sh -c 'touch ${proxyMarker}'`,
      ansible_become_exe: `touch ${proxyMarker}`,
      x: `{{ lookup('pipe','touch ${pipeMarker}') }}`,
      nested: {
        list: ['{% if true %}y{% endif %}', 1, 2.5, true, null, '{# c #}'],
        '{{ key }}': '$(touch /tmp/x)\n`id`; ${HOME} %{ if true }t%{ endif }',
      },
      unicode: 'é ✓ 😀 \u2028 \u0085 \ufeff',
    };
    const result = await runLab(labWith('dump-lab-vars', vars));
    expect(result, result.message).toMatchObject({ result: 'success' });
    expect(JSON.parse(await readOnWorker('/root/lab_vars.json'))).toEqual(vars);
    expect(existsSync(proxyMarker)).toBe(false);
    expect(existsSync(pipeMarker)).toBe(false);
  }, 120_000);

  it('lab-base writes a motd holding a template as the text it is', async () => {
    const marker = join(dir, 'motd-lookup-ran');
    const motd = `hello {{ lookup('pipe', 'touch ${marker}') }} {{ inventory_hostname }}`;
    const result = await runLab(labWith('lab-base', { motd }));
    expect(result, result.message).toMatchObject({ result: 'success' });
    expect(await readOnWorker('/etc/motd')).toBe(`${motd}\n`);
    expect(await readOnWorker('/etc/orion-lab')).toBe('lab=wall\nmachine=vm-0\n');
    expect(existsSync(marker)).toBe(false);
  }, 120_000);
});
