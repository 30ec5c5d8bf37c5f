// Benchmark: 20 trials of killing the worker a rental is bound to. Prints p50/p95 of detection
// (kill → Dead), scheduling (Dead → bound elsewhere) and provisioning (bound → Ready), and beside them
// the bare `ansible-playbook create_user.yml` on the same machine, to show Orion's own overhead.
// Run: npx tsx bench/failover.ts [trials]
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import type { NodeResource, RentalResource } from '../src/api/types.js';
import { sshArgs } from '../src/exec/ansible/inventory.js';
import { defaultPlaybookDir } from '../src/exec/ansible/playbooks.js';
import type { SshWorker } from '../src/dataplane/workers.js';
import { TestBed } from '../test/harness/cluster.js';
import { fmt, line, percentile, until } from './support.js';

const TRIALS = Number(process.argv[2] ?? 20);

interface Trial {
  detection: number;
  scheduling: number;
  provisioning: number;
  failover: number;
  bareAnsible: number;
}

async function main(): Promise<void> {
  const bed = await TestBed.create({
    workers: 4,
    basePort: 22950,
    probe: { intervalSeconds: 1, timeoutSeconds: 1, failureThreshold: 2, successThreshold: 1 },
  });
  try {
    await bed.startOrion();
    await bed.write('rental.yaml', [bed.rentalManifest('bench')]);
    const trials: Trial[] = [];
    for (let i = 0; i < TRIALS; i++) {
      trials.push(await trial(bed));
      process.stderr.write(`trial ${i + 1}/${TRIALS}: ${JSON.stringify(trials.at(-1), (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}\n`);
    }
    report(trials);
  } finally {
    await bed.destroy();
  }
}

const rental = (bed: TestBed): RentalResource | undefined => bed.get<RentalResource>('Rental', 'bench');
const node = (bed: TestBed, name: string): NodeResource | undefined => bed.get<NodeResource>('Node', name);

async function trial(bed: TestBed): Promise<Trial> {
  await until('rental Ready', () => rental(bed)?.status?.phase === 'Ready', 120_000, 10);
  await until('all nodes Alive and clean', () => bed.list<NodeResource>('Node').every((n) => n.status?.health === 'Alive' && !(n.status.cleanup ?? []).length), 120_000, 10);
  const worker = bed.dataPlane.worker(rental(bed)?.status?.nodeName ?? '');
  const killedAt = performance.now();
  await worker.kill();
  await until('node Dead', () => node(bed, worker.name)?.status?.health === 'Dead', 60_000, 5);
  const deadAt = performance.now();
  await until('bound elsewhere', () => Boolean(rental(bed)?.status?.nodeName) && rental(bed)?.status?.nodeName !== worker.name, 60_000, 5);
  const boundAt = performance.now();
  await until('Ready elsewhere', () => rental(bed)?.status?.phase === 'Ready', 120_000, 5);
  const readyAt = performance.now();
  await worker.start(); // comes back; the cleanup controller removes the tenant there
  // Measure the bare tool alone: after the cleanup run on the returned node, not beside it.
  await until('returned node cleaned', () => bed.list<NodeResource>('Node').every((n) => n.status?.health === 'Alive' && !(n.status.cleanup ?? []).length), 120_000, 10);
  const spare = bed.dataPlane.workers.find((w) => w.name !== worker.name && w.name !== rental(bed)?.status?.nodeName) as SshWorker;
  const bareAnsible = await bareCreateUser(bed, spare);
  return {
    detection: deadAt - killedAt,
    scheduling: boundAt - deadAt,
    provisioning: readyAt - boundAt,
    failover: readyAt - deadAt,
    bareAnsible,
  };
}

/** The bare tool: ansible-playbook create_user.yml against one worker, with a pinned known_hosts. */
async function bareCreateUser(bed: TestBed, worker: SshWorker): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'orion-bare-'));
  try {
    await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${worker.port} ${await worker.hostPublicKey()}\n`);
    await writeFile(join(dir, 'inventory.yml'), `all:\n  hosts:\n    w:\n      ansible_host: 127.0.0.1\n      ansible_port: ${worker.port}\n      ansible_user: root\n      ansible_ssh_private_key_file: ${bed.orchestratorKey.privateKeyPath}\n`);
    await writeFile(join(dir, 'vars.json'), JSON.stringify({ tenant_user: 'barebench', tenant_ssh_keys: [bed.tenantKey.publicKey] }));
    // The same Ansible settings Orion uses (pipelining, one SSH connection per run), minus Orion.
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      ANSIBLE_SSH_ARGS: sshArgs(join(dir, 'known_hosts')),
      ANSIBLE_SSH_CONTROL_PATH_DIR: join(dir, 'cp'),
      ANSIBLE_PIPELINING: 'true',
      ANSIBLE_GATHERING: 'explicit',
      ANSIBLE_RETRY_FILES_ENABLED: 'false',
      ANSIBLE_LOCAL_TEMP: dir,
    };
    const started = performance.now();
    const run = await execa('ansible-playbook', ['-i', join(dir, 'inventory.yml'), '-e', `@${join(dir, 'vars.json')}`, join(defaultPlaybookDir(), 'create_user.yml')], { env, extendEnv: false, reject: false, timeout: 300_000 });
    const elapsed = performance.now() - started;
    if (run.exitCode !== 0) throw new Error(`bare ansible-playbook failed:\n${run.stdout}\n${run.stderr}`);
    await worker.exec(['userdel', '-r', 'barebench']);
    return elapsed;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function report(trials: Trial[]): void {
  const stat = (values: number[]): string => `p50 ${fmt(percentile(values, 50) / 1000, 2)} s   p95 ${fmt(percentile(values, 95) / 1000, 2)} s`;
  const overhead = trials.map((t) => t.failover - t.bareAnsible);
  line('trials', `${trials.length} (probe interval 1 s, failureThreshold 2)`);
  line('detection (kill → Dead)', `${stat(trials.map((t) => t.detection))}   (goal p95 ≤ 3 s)`);
  line('scheduling (Dead → bound elsewhere)', stat(trials.map((t) => t.scheduling)));
  line('provisioning (bound → Ready)', stat(trials.map((t) => t.provisioning)));
  line('failover (Dead → Ready elsewhere)', stat(trials.map((t) => t.failover)));
  line('bare ansible-playbook create_user.yml', stat(trials.map((t) => t.bareAnsible)));
  line('Orion overhead (failover − bare ansible)', `p50 ${fmt(percentile(overhead, 50), 0)} ms   p95 ${fmt(percentile(overhead, 95), 0)} ms   (goal p95 ≤ 300 ms)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
