// Benchmark: Labs on a private libvirtd (QEMU/TCG) with real OpenTofu and the dmacvicar/libvirt provider, Orion's
// Lab controller running in-process on a FolderStore (as test/harness/lab-bed.ts sets it up). In one run:
//
//   1. bare vs Orion, one Lab: `tofu init` (reported apart) + `tofu apply` of the very root module Orion renders
//      (renderLabModule, written to a temp workspace with the same modules copy, CLI config and provider mirror),
//      and the pipeline Orion ran before issue #10 (plan -out, apply of the plan, output -json) by hand, versus
//      Orion from writing the manifest to Ready, split into file watch, Terraform processes and the rest. One
//      warm-up, then --trials (default 3), medians. Goal: Orion ≤ 1.10× bare init + apply.
//   2. 10 Labs written at once versus one Lab: wall time until all are Ready; beside it, the bare `tofu init` then
//      `tofu apply` of the same ten root modules all at once, and the applies as many at a time as the controller's
//      concurrency. --trials times, alternating which side goes first, medians. Goal: Orion ≤ 1.2× the ten bare
//      applies at once.
//   k. part 1 in Kubernetes mode: the same Lab created with one API call on a real kube-apiserver and etcd (built into
//      .tools/ by the test harness), Orion's kube mode in-process (KubeStore, status and finalizer through the API,
//      Terraform state saved in Secrets), until its informer sees it Ready; beside it the bare init + apply. No
//      folder watch on this path. Same trials, alternating, medians.
//   3. N unchanged Labs for M minutes (--labs 50 --minutes 10): Terraform and Ansible processes spawned, from the
//      runner's `spawned` counters and orion_terraform_runs_total / orion_ansible_runs_total, while every Lab is
//      reconciled again every --resync-seconds (as a periodic resync would).
//
// By default the Labs have NO Ansible playbook: their machines boot nothing (blank 1 GiB qcow2 disk, 1 vCPU,
// 256 MiB, TCG), so part 1 compares Terraform only — the bare side has no ansible-playbook to run — and part 3
// shows zero Ansible runs trivially. With --guest, part 1 instead uses one machine booting the harness's Debian
// image (test/harness/guest, built once into .tools/guest) and the lab-base playbook: bare `tofu apply`, waiting
// for the lease and SSH, `ansible-playbook` (inside the libvirt network namespace) versus Orion to Ready; parts 2
// and 3 keep the machines that boot nothing. --parts 1,2,3 selects parts. Figures only, never assertions.
// (Longer than 300 lines: the three parts share one bed, the bare workspaces and the timing helpers, and a reader
// compares Orion's side with the bare side best when both are in one file.)
//
//   npx tsx bench/provision.ts [--trials 3] [--labs 50] [--minutes 10] [--resync-seconds 30] [--drift-seconds S]
//                              [--parallel 10] [--concurrency C] [--guest] [--parts 1,k,2,3]
//   (env: BENCH_TRIALS, BENCH_LABS, BENCH_MINUTES, BENCH_RESYNC_SECONDS, BENCH_DRIFT_SECONDS, BENCH_CONCURRENCY,
//   BENCH_GUEST=1, BENCH_PARTS)
//   --drift-seconds defaults to max(3600, 2 × the window); --concurrency to the Lab controller's default.
import './quiet-logs.js';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { labController } from '../controllers/lab/controller.js';
import { labView, storeClasses } from '../controllers/lab/view.js';
import { LIBVIRT_MODULE, renderLabModule } from '../controllers/machine/module.js';
import { defaultModulesDir } from '../controllers/machine/render.js';
import { withVariables } from '../controllers/machine/variables.js';
import { installModule } from '../controllers/machine/terraform.js';
import { DEFAULT_LAB_LIMITS, validateLab } from '../controllers/machine/validate.js';
import { getCondition } from '../src/api/conditions.js';
import { refKey, workspaceRef } from '../src/api/refs.js';
import type { MachineSpec } from '../controllers/machine/spec.js';
import type { LabResource } from '../src/api/types.js';
import { sshArgs } from '../src/exec/ansible/inventory.js';
import { defaultPlaybookDir } from '../src/exec/ansible/playbooks.js';
import { AnsibleRunner } from '../src/exec/ansible/runner.js';
import type { Workspace } from '../src/exec/terraform/runner.js';
import { ROOT_MODULE_FILE, rootFilesHash, VARIABLES_FILE } from '../src/exec/terraform/workspace.js';
import { ansibleRunsTotal, reconcileTotal, terraformRunSeconds, terraformRunsTotal } from '../src/telemetry/metrics.js';
import { ensureGuestImage, type GuestImage } from '../test/harness/guest.js';
import { KubeBed, NAMESPACE as KUBE_NS } from '../test/harness/kube-bed.js';
import { BED_CLASS, LabBed } from '../test/harness/lab-bed.js';
import type { RunningKubeOrion } from '../src/cli/run-kube.js';
import { fmt, line, median, percentile, until } from './support.js';

const { values: args } = parseArgs({
  options: {
    trials: { type: 'string', default: process.env.BENCH_TRIALS ?? '3' },
    labs: { type: 'string', default: process.env.BENCH_LABS ?? '50' },
    minutes: { type: 'string', default: process.env.BENCH_MINUTES ?? '10' },
    'resync-seconds': { type: 'string', default: process.env.BENCH_RESYNC_SECONDS ?? '30' },
    'drift-seconds': { type: 'string', default: process.env.BENCH_DRIFT_SECONDS },
    parallel: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: process.env.BENCH_CONCURRENCY },
    guest: { type: 'boolean', default: process.env.BENCH_GUEST === '1' },
    parts: { type: 'string', default: process.env.BENCH_PARTS ?? '1,2,3' },
  },
});
const TRIALS = Number(args.trials);
const LABS = Number(args.labs);
const MINUTES = Number(args.minutes);
const RESYNC_S = Number(args['resync-seconds']);
const PARALLEL = Number(args.parallel);
const CONCURRENCY = args.concurrency ? Number(args.concurrency) : undefined;
const GUEST = args.guest ?? false;
const PARTS = new Set(args.parts.split(',').map((p) => p.trim()));
// Longer than the steady window (and than any part of the run before it), so that no drift check is due in it.
const DRIFT_S = Number(args['drift-seconds'] ?? Math.max(3600, 2 * MINUTES * 60));
const READY_TIMEOUT_MS = 15 * 60_000;
let guestImage: GuestImage | undefined;
const NS = 'default';

const MACHINES: MachineSpec['machines'] = [{ name: 'vm', count: 1, cpu: 1, memoryMiB: 256, diskGiB: 1 }];

const progress = (msg: string): void => {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

function labDoc(bed: LabBed, name: string, spec: Record<string, unknown> = { machines: MACHINES }): object {
  return bed.labManifest(name, { ...spec, driftDetection: { intervalSeconds: DRIFT_S } });
}

/** --guest: the bed's default MachineClass offers the harness's Debian image (direct boot) and lab-base. */
function guestClass(guest: GuestImage): Record<string, unknown> {
  return { images: [{ name: 'debian', path: guest.image, kernel: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline }], playbooks: ['lab-base'] };
}

/** --guest: one machine booting the harness's Debian image, configured by ansible/lab-base.yml. */
function guestSpec(): Record<string, unknown> {
  return {
    machines: [{ name: 'vm', count: 1, cpu: 1, memoryMiB: 512, diskGiB: 3, image: 'debian' }],
    sshKeySecretRef: { name: 'lab-key' },
    ansible: { playbook: 'lab-base', user: 'root', vars: { motd: 'configured by orion' } },
  };
}

function isReady(bed: LabBed, name: string): boolean {
  return getCondition(bed.lab(name)?.status?.conditions, 'Ready')?.status === 'True';
}

/** Waits until every Lab is Ready; returns the time (ms since `start`) each became Ready as seen by polling. */
async function waitReady(bed: LabBed, names: string[], start: number): Promise<number[]> {
  const readyAt = new Map<string, number>();
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (readyAt.size < names.length) {
    for (const name of names) if (!readyAt.has(name) && isReady(bed, name)) readyAt.set(name, performance.now() - start);
    if (Date.now() > deadline) {
      const stuck = names.filter((n) => !readyAt.has(n)).map((n) => `${n}: ${JSON.stringify(bed.lab(n)?.status?.conditions ?? [])}`);
      throw new Error(`Labs not Ready after ${READY_TIMEOUT_MS} ms:\n${stuck.slice(0, 5).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return names.map((n) => readyAt.get(n) as number);
}

async function removeLabs(bed: LabBed, file: string, names: string[]): Promise<void> {
  await bed.remove(file);
  await until(`${names.length} Lab(s) deleted`, () => names.every((n) => bed.lab(n) === undefined), READY_TIMEOUT_MS, 50);
}

function spawnedTotal(bed: LabBed): number {
  return Object.values(bed.runner.spawned).reduce((a, b) => a + b, 0);
}

async function counterSum(counter: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, unknown> }> }> }, filter?: (labels: Record<string, unknown>) => boolean): Promise<number> {
  const metric = await counter.get();
  return metric.values.filter((v) => !filter || filter(v.labels)).reduce((sum, v) => sum + v.value, 0);
}

// ---- 1. bare tools vs Orion ----------------------------------------------------------------------------------------

function tofuEnv(bed: LabBed): Record<string, string> {
  // What the runner gives every run (BASE_ENV in src/exec/terraform/runner.ts) plus the harness's CLI config and PATH.
  return { TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1', ...bed.tools.env };
}

async function tofu(bed: LabBed, dir: string, tofuArgs: string[]): Promise<number> {
  const started = performance.now();
  const run = await execa(bed.tools.tofu, tofuArgs, { cwd: dir, env: tofuEnv(bed), reject: false, timeout: READY_TIMEOUT_MS });
  const elapsed = performance.now() - started;
  if (run.exitCode !== 0) throw new Error(`bare tofu ${tofuArgs[0]} failed (exit ${run.exitCode}):\n${run.stderr || run.stdout}`);
  return elapsed;
}

interface BareWorkspace {
  dir: string;
  /** sha256 of main.tf.json and terraform.tfvars.json. */
  moduleHash: string;
  initMs: number;
}

/** The root module Orion renders for Lab `name` (same renderer, same modules copy), in a fresh workspace, initialized. */
async function bareWorkspace(bed: LabBed, name: string, labSpec?: Record<string, unknown>): Promise<BareWorkspace> {
  const dir = await mkdtemp(join(bed.root, `bare-${name}-`));
  // The Lab resolved through the bed's MachineClass and Hypervisor, as the controller does.
  const lab = { ...(labDoc(bed, name, labSpec) as LabResource), metadata: { name, namespace: NS } } as LabResource;
  const spec: MachineSpec = labView(storeClasses(bed.store, 'default')).machineSpec(lab);
  const imageDirs = [bed.virt.poolDir, bed.images, ...(labSpec && guestImage ? [guestImage.dir] : [])];
  const images = await validateLab(spec, { limits: DEFAULT_LAB_LIMITS, imageDirs });
  const moduleHash = await installModule({ dir } as Workspace, defaultModulesDir(), LIBVIRT_MODULE);
  const root = withVariables(renderLabModule({ namespace: NS, name, spec, moduleHash, images }));
  for (const [file, text] of Object.entries(root.files())) await writeFile(join(dir, file), text);
  const initMs = await tofu(bed, dir, ['init', '-input=false', '-no-color']);
  return { dir, moduleHash: root.hash(), initMs };
}

const bareApply = (bed: LabBed, ws: BareWorkspace): Promise<number> => tofu(bed, ws.dir, ['apply', '-input=false', '-no-color', '-auto-approve']);
const bareDestroy = (bed: LabBed, ws: BareWorkspace): Promise<number> => tofu(bed, ws.dir, ['destroy', '-input=false', '-no-color', '-auto-approve']);

/** The commands Orion's runner ran for a new module before issue #10, by hand: plan -out, apply of that plan, output -json. */
async function barePipeline(bed: LabBed, ws: BareWorkspace): Promise<number> {
  const started = performance.now();
  await execa(bed.tools.tofu, ['plan', '-input=false', '-no-color', '-lock-timeout=0s', '-out=plan.bin', '-detailed-exitcode'], { cwd: ws.dir, env: tofuEnv(bed), reject: false });
  await tofu(bed, ws.dir, ['apply', '-input=false', '-no-color', '-lock-timeout=0s', '-auto-approve', 'plan.bin']);
  await tofu(bed, ws.dir, ['output', '-no-color', '-json']);
  return performance.now() - started;
}

/** Seconds spent in Terraform processes so far, by operation (orion_terraform_run_seconds_sum). */
async function terraformSeconds(): Promise<Record<string, number>> {
  const metric = await terraformRunSeconds.get();
  const byOp: Record<string, number> = {};
  for (const v of metric.values.filter((v) => v.metricName === 'orion_terraform_run_seconds_sum')) {
    const op = String(v.labels.op);
    byOp[op] = (byOp[op] ?? 0) + v.value;
  }
  return byOp;
}

interface OrionRun {
  readyMs: number;
  /** Write → the FolderStore has the Lab (file watch and parse). */
  seenMs: number;
  /** Sum of the Terraform processes' durations. */
  terraformMs: number;
  /** The same, by operation. */
  terraformOpMs: Record<string, number>;
  moduleHash: string;
  spawned: string;
  /** From the Lab's status: when its playbook started (ms after the write) and how long it ran. */
  ansible?: { startMs: number; durationMs: number };
}

async function orionLab(bed: LabBed, name: string, spec?: Record<string, unknown>): Promise<OrionRun> {
  const before = { ...bed.runner.spawned };
  const tfBefore = await terraformSeconds();
  const file = `${name}.yaml`;
  const start = performance.now();
  const wallStart = Date.now();
  await bed.write(file, [labDoc(bed, name, spec)]);
  let seenMs: number | undefined;
  let readyMs: number | undefined;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (readyMs === undefined) {
    if (seenMs === undefined && bed.lab(name)) seenMs = performance.now() - start;
    if (isReady(bed, name)) readyMs = performance.now() - start;
    else if (Date.now() > deadline) throw new Error(`${name} not Ready: ${JSON.stringify(bed.lab(name)?.status?.conditions ?? [])}`);
    else await new Promise((r) => setTimeout(r, 5));
  }
  const tfAfter = await terraformSeconds();
  const terraformOpMs: Record<string, number> = {};
  for (const [op, seconds] of Object.entries(tfAfter)) {
    const ms = (seconds - (tfBefore[op] ?? 0)) * 1000;
    if (ms > 0) terraformOpMs[op] = ms;
  }
  const terraformMs = Object.values(terraformOpMs).reduce((a, b) => a + b, 0);
  const spawned = Object.entries(bed.runner.spawned)
    .map(([op, n]) => [op, n - before[op as keyof typeof before]] as const)
    .filter(([, n]) => n > 0)
    .map(([op, n]) => `${op} ${n}`)
    .join(', ');
  const ws = await bed.runner.workspace(workspaceRef({ kind: 'Lab', namespace: NS, name }));
  const files = Object.fromEntries(await Promise.all([ROOT_MODULE_FILE, VARIABLES_FILE].map(async (f) => [f, await readFile(join(ws.dir, f), 'utf8')] as const)));
  const moduleHash = rootFilesHash(files);
  const ansible = ansibleTiming(bed, name, wallStart);
  await removeLabs(bed, file, [name]);
  return { readyMs, seenMs: seenMs ?? readyMs, terraformMs, terraformOpMs, moduleHash, spawned, ...(ansible ? { ansible } : {}) };
}

function ansibleTiming(bed: LabBed, name: string, wallStart: number): OrionRun['ansible'] {
  const run = bed.lab(name)?.status?.lastAnsibleRun;
  return run ? { startMs: Date.parse(run.startedAt ?? '') - wallStart, durationMs: run.durationMs ?? NaN } : undefined;
}

interface BareTrial {
  ws: BareWorkspace;
  applyMs: number;
  pipelineMs: number;
  /** --guest: apply start → the machine's address in libvirt's lease table → SSH answers → playbook done. */
  guest?: { addressMs: number; sshMs: number; ansibleMs: number; totalMs: number };
}

async function bareTrial(bed: LabBed, name: string): Promise<BareTrial> {
  if (guestImage) return bareGuestTrial(bed, name, guestImage);
  const ws = await bareWorkspace(bed, name);
  const applyMs = await bareApply(bed, ws);
  await bareDestroy(bed, ws);
  const pipelineMs = await barePipeline(bed, ws);
  await bareDestroy(bed, ws);
  await rm(ws.dir, { recursive: true, force: true });
  return { ws, applyMs, pipelineMs };
}

/** By hand what Orion does for a booted Lab: apply, wait for the lease and for SSH, then ansible-playbook. */
async function bareGuestTrial(bed: LabBed, name: string, guest: GuestImage): Promise<BareTrial> {
  const ws = await bareWorkspace(bed, name, guestSpec());
  const t0 = performance.now();
  const applyMs = await bareApply(bed, ws);
  const domain = `${NS}.${name}.vm-0`;
  let address = '';
  await untilAsync('a DHCP lease', async () => {
    const out = await bed.virt.virsh('domifaddr', domain, '--source', 'lease').catch(() => '');
    address = /(\d+\.\d+\.\d+\.\d+)\//.exec(out)?.[1] ?? '';
    return Boolean(address);
  });
  const addressMs = performance.now() - t0;
  let hostKey = '';
  await untilAsync('SSH', async () => {
    const out = await bed.virt.inNetns('ssh-keyscan', ['-T', '2', '-t', 'ed25519', address]).catch(() => '');
    hostKey = out.split('\n').find((l) => l.includes('ssh-ed25519')) ?? '';
    return Boolean(hostKey);
  });
  const sshMs = performance.now() - t0;
  await writeFile(join(ws.dir, 'known_hosts'), `${hostKey}\n`);
  await writeFile(join(ws.dir, 'id_key'), guest.privateKey, { mode: 0o600 });
  await writeFile(join(ws.dir, 'inventory.yml'), `all:\n  hosts:\n    vm-0:\n      ansible_host: ${address}\n      ansible_user: root\n      ansible_ssh_private_key_file: ${join(ws.dir, 'id_key')}\n`);
  await writeFile(join(ws.dir, 'vars.json'), JSON.stringify({ motd: 'configured by orion', orion_lab: name }));
  // The same Ansible settings Orion uses (pinned host key, pipelining, one SSH connection), minus Orion.
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    ANSIBLE_HOST_KEY_CHECKING: 'true',
    ANSIBLE_SSH_ARGS: sshArgs(join(ws.dir, 'known_hosts')),
    ANSIBLE_SSH_CONTROL_PATH_DIR: join(ws.dir, 'cp'),
    ANSIBLE_PIPELINING: 'true',
    ANSIBLE_GATHERING: 'explicit',
    ANSIBLE_RETRY_FILES_ENABLED: 'false',
    ANSIBLE_LOCAL_TEMP: join(ws.dir, 'tmp'),
  };
  const started = performance.now();
  const run = await execa('ip', ['netns', 'exec', bed.virt.netns, 'ansible-playbook', '-i', join(ws.dir, 'inventory.yml'), '-e', `@${join(ws.dir, 'vars.json')}`, join(defaultPlaybookDir(), 'lab-base.yml')], { env, extendEnv: false, reject: false, timeout: READY_TIMEOUT_MS });
  const ansibleMs = performance.now() - started;
  if (run.exitCode !== 0) throw new Error(`bare ansible-playbook failed:\n${run.stdout}\n${run.stderr}`);
  const totalMs = performance.now() - t0;
  await bareDestroy(bed, ws);
  await rm(ws.dir, { recursive: true, force: true });
  return { ws, applyMs, pipelineMs: NaN, guest: { addressMs, sshMs, ansibleMs, totalMs } };
}

async function untilAsync(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function bareVersusOrion(bed: LabBed): Promise<number> {
  if (guestImage) return bareVersusOrionGuest(bed);
  // Warm-up, not measured: the first domain of a fresh daemon and the first provider start are slower.
  await bareTrial(bed, 'warmup');
  await orionLab(bed, 'warmup');
  const rows: Array<{ bare: BareTrial; orion: OrionRun }> = [];
  for (let i = 1; i <= TRIALS; i++) {
    const name = `one-${i}`;
    // Alternate the order so that neither side always runs on a warmer cache.
    let bare: BareTrial;
    let orion: OrionRun;
    if (i % 2 === 1) {
      bare = await bareTrial(bed, name);
      orion = await orionLab(bed, name);
    } else {
      orion = await orionLab(bed, name);
      bare = await bareTrial(bed, name);
    }
    rows.push({ bare, orion });
    progress(`part 1 trial ${i}/${TRIALS}: bare init ${fmt(bare.ws.initMs / 1000, 2)} s apply ${fmt(bare.applyMs / 1000, 2)} s pipeline ${fmt(bare.pipelineMs / 1000, 2)} s; orion ${fmt(orion.readyMs / 1000, 2)} s (${orion.spawned}; ${Object.entries(orion.terraformOpMs).map(([op, ms]) => `${op} ${fmt(ms / 1000, 2)} s`).join(', ')})`);
  }
  const med = median;
  const init = med(rows.map((r) => r.bare.ws.initMs));
  const apply = med(rows.map((r) => r.bare.applyMs));
  const both = med(rows.map((r) => r.bare.ws.initMs + r.bare.applyMs));
  const pipeline = med(rows.map((r) => r.bare.ws.initMs + r.bare.pipelineMs));
  const orion = med(rows.map((r) => r.orion.readyMs));
  const seen = med(rows.map((r) => r.orion.seenMs));
  const tf = med(rows.map((r) => r.orion.terraformMs));
  const same = rows.every((r) => r.bare.ws.moduleHash === r.orion.moduleHash);
  line('1. bare vs Orion, one Lab', `${TRIALS} trials after 1 warm-up, medians; 1 machine (1 vCPU, 256 MiB, blank 1 GiB disk, TCG)`);
  line('  Ansible', 'none on either side: the Lab has no playbook (its machine boots nothing)');
  line('  same root module (sha256 of main.tf.json and terraform.tfvars.json)', same ? 'yes, byte for byte' : 'NO: they differ');
  line('  bare tofu init (apart)', `${fmt(init / 1000, 2)} s`);
  line('  bare tofu apply', `${fmt(apply / 1000, 2)} s`);
  line('  bare init + apply', `${fmt(both / 1000, 2)} s`);
  line('  bare init + the pre-#10 pipeline by hand', `${fmt(pipeline / 1000, 2)} s   (plan -out, apply plan.bin, output -json)`);
  line('  Orion: manifest written → Ready', `${fmt(orion / 1000, 2)} s   (runs per trial: ${rows[0]?.orion.spawned ?? ''})`);
  line('    of which write → in the store', `${fmt(seen / 1000, 2)} s   (folder watch)`);
  const byOp = [...new Set(rows.flatMap((r) => Object.keys(r.orion.terraformOpMs)))]
    .map((op) => `${op} ${fmt(med(rows.map((r) => r.orion.terraformOpMs[op] ?? 0)) / 1000, 2)} s`)
    .join(', ');
  line('    of which Terraform processes', `${fmt(tf / 1000, 2)} s   (medians by operation: ${byOp})`);
  line('    rest (status writes, virsh power check)', `${fmt((orion - seen - tf) / 1000, 2)} s`);
  line('  ratio Orion / bare apply', `${fmt(orion / apply, 2)}×`);
  line('  ratio Orion / bare init + apply', `${fmt(orion / both, 2)}×   (goal ≤ 1.10×; Orion's fresh workspace runs init too)`);
  line('  ratio Orion / bare pre-#10 pipeline', `${fmt(orion / pipeline, 2)}×`);
  // Without the folder watch (its write-stability wait is a safety choice, src/folder/manifest-folder.ts): the converge.
  const converge = med(rows.map((r) => r.orion.readyMs - r.orion.seenMs));
  line('  ratio Orion in the store → Ready / bare init + apply', `${fmt(converge / both, 2)}×   (${fmt(converge / 1000, 2)} s: the converge alone, without the folder watch)`);
  line('  per trial: bare init+apply | Orion (s)', rows.map((r) => `${fmt((r.bare.ws.initMs + r.bare.applyMs) / 1000, 2)} | ${fmt(r.orion.readyMs / 1000, 2)}`).join('   '));
  return apply;
}

// ---- part k: one Lab in Kubernetes mode -----------------------------------------------------------------------------

/** The bed's Hypervisor and default class in a fresh cluster, and Orion's kube mode on them (the bed's tofu and pool). */
async function kubeOrion(bed: LabBed): Promise<{ kube: KubeBed; orion: RunningKubeOrion }> {
  const kube = await KubeBed.create();
  try {
    await kube.apply([bed.hypervisorManifest(), bed.classManifest(BED_CLASS, { images: [{ name: 'base', volume: 'base.qcow2' }] }, true)]);
    const orion = await kube.startOrion({ terraform: bed.tools.tofu, terraformEnv: bed.tools.env, imageDirs: [bed.virt.poolDir], lab: { shutdownGraceMs: 1500, pollMs: 500 } });
    return { kube, orion };
  } catch (err) {
    await kube.destroy();
    throw err;
  }
}

/** One Lab created with one API call → Ready in Orion's informer; then deleted and gone. Ms to Ready. */
async function kubeLab(orion: RunningKubeOrion, name: string): Promise<number> {
  const ref = { kind: 'Lab' as const, namespace: KUBE_NS, name };
  const start = performance.now();
  await orion.store.create({ apiVersion: 'orion.lab/v1alpha1', kind: 'Lab', metadata: { name, namespace: KUBE_NS }, spec: { machines: MACHINES, driftDetection: { intervalSeconds: DRIFT_S } } });
  const ready = (): boolean => getCondition(orion.store.get<LabResource>(ref)?.status?.conditions, 'Ready')?.status === 'True';
  await until(`${name} Ready`, ready, READY_TIMEOUT_MS, 5);
  const readyMs = performance.now() - start;
  await orion.store.delete(ref);
  await until(`${name} gone`, () => orion.store.get(ref) === undefined, READY_TIMEOUT_MS, 20);
  return readyMs;
}

async function kubeVersusBare(bed: LabBed): Promise<void> {
  progress('part k: starting kube-apiserver and etcd');
  const { kube, orion } = await kubeOrion(bed);
  try {
    await bareTrial(bed, 'kwarmup');
    await kubeLab(orion, 'kwarmup');
    const rows: Array<{ bare: BareTrial; orion: number }> = [];
    for (let i = 1; i <= TRIALS; i++) {
      const name = `kube-${i}`;
      // Alternate the order, as part 1 does.
      let bare: BareTrial;
      let orionMs: number;
      if (i % 2 === 1) {
        bare = await bareTrial(bed, name);
        orionMs = await kubeLab(orion, name);
      } else {
        orionMs = await kubeLab(orion, name);
        bare = await bareTrial(bed, name);
      }
      const row = { bare, orion: orionMs };
      rows.push(row);
      progress(`part k trial ${i}/${TRIALS}: bare init+apply ${fmt((row.bare.ws.initMs + row.bare.applyMs) / 1000, 2)} s; orion (kube) ${fmt(row.orion / 1000, 2)} s`);
    }
    const both = median(rows.map((r) => r.bare.ws.initMs + r.bare.applyMs));
    const ready = median(rows.map((r) => r.orion));
    line('k. bare vs Orion in Kubernetes mode, one Lab', `${TRIALS} trials after 1 warm-up, medians; the same machine; kube-apiserver + etcd on this host`);
    line('  bare init + apply', `${fmt(both / 1000, 2)} s`);
    line('  Orion (kube): API create → Ready in its informer', `${fmt(ready / 1000, 2)} s   (status, finalizer and Terraform state through the API server)`);
    line('  ratio Orion (kube) / bare init + apply', `${fmt(ready / both, 2)}×   (goal ≤ 1.10×)`);
    line('  per trial: bare init+apply | Orion kube (s)', rows.map((r) => `${fmt((r.bare.ws.initMs + r.bare.applyMs) / 1000, 2)} | ${fmt(r.orion / 1000, 2)}`).join('   '));
  } finally {
    await orion.stop();
    await kube.destroy();
  }
}

function guestTrialLine(i: number, bare: BareTrial, orion: OrionRun): string {
  const s = (ms: number | undefined): string => fmt((ms ?? NaN) / 1000, 1);
  const g = bare.guest;
  return `part 1 (guest) trial ${i}/${TRIALS}: bare apply ${s(bare.applyMs)} s, lease ${s(g?.addressMs)} s, ssh ${s(g?.sshMs)} s, ansible ${s(g?.ansibleMs)} s, total ${s(g?.totalMs)} s; ` +
    `orion ${s(orion.readyMs)} s (playbook started at ${s(orion.ansible?.startMs)} s, ran ${s(orion.ansible?.durationMs)} s; ${orion.spawned})`;
}

/** --guest: bare apply + boot wait + ansible-playbook versus Orion to Ready, for a machine that boots. */
async function bareVersusOrionGuest(bed: LabBed): Promise<number> {
  const spec = guestSpec();
  const rows: Array<{ bare: BareTrial; orion: OrionRun }> = [];
  for (let i = 1; i <= TRIALS; i++) {
    const name = `guest-${i}`;
    let bare: BareTrial;
    let orion: OrionRun;
    if (i % 2 === 1) {
      bare = await bareTrial(bed, name);
      orion = await orionLab(bed, name, spec);
    } else {
      orion = await orionLab(bed, name, spec);
      bare = await bareTrial(bed, name);
    }
    rows.push({ bare, orion });
    progress(guestTrialLine(i, bare, orion));
  }
  const med = (f: (r: { bare: BareTrial; orion: OrionRun }) => number): number => median(rows.map(f));
  const total = med((r) => r.bare.guest?.totalMs ?? NaN);
  const orion = med((r) => r.orion.readyMs);
  line('1. bare vs Orion, one booted Lab (--guest)', `${TRIALS} trials, medians; 1 machine (1 vCPU, 512 MiB, Debian image, direct kernel boot, TCG)`);
  line('  same root module (sha256 of main.tf.json and terraform.tfvars.json)', rows.every((r) => r.bare.ws.moduleHash === r.orion.moduleHash) ? 'yes, byte for byte' : 'NO: they differ');
  line('  bare tofu init (apart)', `${fmt(med((r) => r.bare.ws.initMs) / 1000, 2)} s`);
  line('  bare tofu apply', `${fmt(med((r) => r.bare.applyMs) / 1000, 2)} s`);
  line('  bare: apply start → DHCP lease', `${fmt(med((r) => r.bare.guest?.addressMs ?? NaN) / 1000, 2)} s   (virsh domifaddr --source lease, every 200 ms)`);
  line('  bare: apply start → SSH answers', `${fmt(med((r) => r.bare.guest?.sshMs ?? NaN) / 1000, 2)} s   (ssh-keyscan, every 200 ms)`);
  line('  bare ansible-playbook lab-base.yml', `${fmt(med((r) => r.bare.guest?.ansibleMs ?? NaN) / 1000, 2)} s`);
  line('  bare total (apply → playbook done)', `${fmt(total / 1000, 2)} s`);
  line('  Orion: manifest written → Ready', `${fmt(orion / 1000, 2)} s   (runs per trial: ${rows[0]?.orion.spawned ?? ''}; Ansible 1)`);
  line('    of which Terraform processes', `${fmt(med((r) => r.orion.terraformMs) / 1000, 2)} s`);
  line('    write → playbook started', `${fmt(med((r) => r.orion.ansible?.startMs ?? NaN) / 1000, 2)} s   (boot, lease, SSH, host key pinned)`);
  line('    ansible-playbook (status.lastAnsibleRun)', `${fmt(med((r) => r.orion.ansible?.durationMs ?? NaN) / 1000, 2)} s`);
  line('  ratio Orion / bare total', `${fmt(orion / total, 2)}×   (goal ≤ 1.05×; Orion looks again every pollMs = 500 ms)`);
  line('  per trial: bare total | Orion (s)', rows.map((r) => `${fmt((r.bare.guest?.totalMs ?? NaN) / 1000, 1)} | ${fmt(r.orion.readyMs / 1000, 1)}`).join('   '));
  return med((r) => r.bare.applyMs);
}

// ---- 2. ten Labs at once vs one ------------------------------------------------------------------------------------

/** Runs the tasks with at most `limit` at a time; wall time. */
async function pooled(tasks: Array<() => Promise<unknown>>, limit: number): Promise<number> {
  const started = performance.now();
  const queue = [...tasks];
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let task = queue.shift(); task; task = queue.shift()) await task();
  }));
  return performance.now() - started;
}

interface ParallelTrial {
  /** One Lab: written → Ready. */
  one: number;
  /** PARALLEL Labs in one file: written → all Ready, and each Lab's time. */
  all: number;
  times: number[];
  /** Deleting them (destroy, finalizers). */
  del: number;
  /** Bare: PARALLEL inits at once; PARALLEL applies at once; the applies `concurrency` at a time. */
  bareInits: number;
  bareAll: number;
  bareLimited: number;
}

/** One trial of part 2, with names of its own (a reused name would find its workspace initialized). */
async function parallelTrial(bed: LabBed, concurrency: number, trial: number): Promise<ParallelTrial> {
  const names = Array.from({ length: PARALLEL }, (_, i) => `par${trial}-${i}`);
  const orion = async (): Promise<Pick<ParallelTrial, 'one' | 'all' | 'times' | 'del'>> => {
    const solo = `solo-${trial}`;
    const startOne = performance.now();
    await bed.write(`${solo}.yaml`, [labDoc(bed, solo)]);
    const [one] = (await waitReady(bed, [solo], startOne)) as [number];
    await removeLabs(bed, `${solo}.yaml`, [solo]);
    const start = performance.now();
    await bed.write('par.yaml', names.map((n) => labDoc(bed, n)));
    const times = await waitReady(bed, names, start);
    const delStart = performance.now();
    await removeLabs(bed, 'par.yaml', names);
    return { one, all: Math.max(...times), times, del: performance.now() - delStart };
  };
  // The bare tools on the same machine: the same ten root modules, their ten `tofu init` at once (timed apart),
  // then `tofu apply` all at once, then `concurrency` at a time (what the controller allows).
  const bare = async (limit: number): Promise<{ initMs: number; applyMs: number }> => {
    const initStart = performance.now();
    const workspaces = await Promise.all(names.map((n) => bareWorkspace(bed, `bare-${n}`)));
    const initMs = performance.now() - initStart;
    const applyMs = await pooled(workspaces.map((ws) => () => bareApply(bed, ws)), limit);
    await pooled(workspaces.map((ws) => () => bareDestroy(bed, ws)), PARALLEL);
    await Promise.all(workspaces.map((ws) => rm(ws.dir, { recursive: true, force: true })));
    return { initMs, applyMs };
  };
  const bareBoth = async (): Promise<Pick<ParallelTrial, 'bareInits' | 'bareAll' | 'bareLimited'>> => {
    const { initMs: bareInits, applyMs: bareAll } = await bare(PARALLEL);
    const { applyMs: bareLimited } = await bare(concurrency);
    return { bareInits, bareAll, bareLimited };
  };
  // Alternate the order so that neither side always runs first.
  if (trial % 2 === 1) {
    const o = await orion();
    return { ...o, ...(await bareBoth()) };
  }
  const b = await bareBoth();
  return { ...(await orion()), ...b };
}

async function parallelLabs(bed: LabBed, concurrency: number, bareOne: number): Promise<void> {
  const rows: ParallelTrial[] = [];
  for (let trial = 1; trial <= TRIALS; trial++) {
    const r = await parallelTrial(bed, concurrency, trial);
    rows.push(r);
    progress(`part 2 trial ${trial}/${TRIALS} (load ${loadavg()[0]?.toFixed(2)}): one Lab ${fmt(r.one / 1000, 2)} s, ${PARALLEL} Labs ${fmt(r.all / 1000, 2)} s; ` +
      `bare ${PARALLEL} inits ${fmt(r.bareInits / 1000, 2)} s, applies at once ${fmt(r.bareAll / 1000, 2)} s, ${concurrency} at a time ${fmt(r.bareLimited / 1000, 2)} s`);
  }
  const med = (f: (r: ParallelTrial) => number): number => median(rows.map(f));
  const times = rows.flatMap((r) => r.times);
  line(`2. ${PARALLEL} Labs at once vs one`, `${TRIALS} trials, medians; controller concurrency ${concurrency}${CONCURRENCY ? ' (--concurrency)' : ' (labController default, not overridden)'}`);
  line('  one Lab: written → Ready', `${fmt(med((r) => r.one) / 1000, 2)} s`);
  line(`  ${PARALLEL} Labs in one file: written → all Ready`, `${fmt(med((r) => r.all) / 1000, 2)} s   (per Lab, all trials: p50 ${fmt(percentile(times, 50) / 1000, 2)} s, p95 ${fmt(percentile(times, 95) / 1000, 2)} s)`);
  line('  ratio Orion, ten / one', `${fmt(med((r) => r.all / r.one), 2)}×`);
  line('  bare: one tofu apply (part 1 median)', `${fmt(bareOne / 1000, 2)} s`);
  line(`  bare: ${PARALLEL} tofu init all at once (apart)`, `${fmt(med((r) => r.bareInits) / 1000, 2)} s`);
  line(`  bare: ${PARALLEL} tofu apply all at once`, `${fmt(med((r) => r.bareAll) / 1000, 2)} s   (${fmt(med((r) => r.bareAll) / bareOne, 2)}× one)`);
  line(`  bare: ${PARALLEL} tofu apply, ${concurrency} at a time`, `${fmt(med((r) => r.bareLimited) / 1000, 2)} s   (${fmt(med((r) => r.bareLimited) / bareOne, 2)}× one)`);
  line(`  ratio Orion / bare ${PARALLEL} applies at once`, `${fmt(med((r) => r.all / r.bareAll), 2)}×   (goal ≤ 1.2×; per trial ${rows.map((r) => fmt(r.all / r.bareAll, 2)).join(' ')})`);
  line(`  ratio Orion / bare ${PARALLEL} inits, then applies, at once`, `${fmt(med((r) => r.all / (r.bareInits + r.bareAll)), 2)}×`);
  line(`  deleting the ${PARALLEL} Labs (destroy, finalizers)`, `${fmt(med((r) => r.del) / 1000, 2)} s`);
}

// ---- 3. N unchanged Labs for M minutes -----------------------------------------------------------------------------

async function steadyLabs(bed: LabBed): Promise<void> {
  const names = Array.from({ length: LABS }, (_, i) => `steady-${i}`);
  const start = performance.now();
  await bed.write('steady.yaml', names.map((n) => labDoc(bed, n)));
  const times = await waitReady(bed, names, start);
  progress(`part 3: ${LABS} Labs Ready in ${fmt(Math.max(...times) / 1000, 1)} s; settling, then ${MINUTES} min unchanged`);
  await new Promise((r) => setTimeout(r, 3000)); // the status writes of the last reconciles come back as reconciles

  const lab = (l: Record<string, unknown>): boolean => l.controller === 'lab';
  const snap = async (): Promise<{ spawned: Record<string, number>; total: number; tfMetric: number; ansible: number; reconciles: number }> => ({
    spawned: { ...bed.runner.spawned },
    total: spawnedTotal(bed),
    tfMetric: await counterSum(terraformRunsTotal),
    ansible: await counterSum(ansibleRunsTotal),
    reconciles: await counterSum(reconcileTotal, lab),
  });
  const before = await snap();
  const controller = bed.manager.controller('lab');
  const windowMs = MINUTES * 60_000;
  const end = Date.now() + windowMs;
  let resyncs = 0;
  let nextResync = Date.now() + RESYNC_S * 1000;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(end, nextResync) - Date.now())));
    if (Date.now() >= nextResync && Date.now() < end) {
      for (const n of names) controller?.enqueue(refKey({ kind: 'Lab', namespace: NS, name: n }));
      resyncs += 1;
      nextResync += RESYNC_S * 1000;
    }
  }
  await new Promise((r) => setTimeout(r, 1000)); // let the last resync's reconciles finish
  const after = await snap();
  const notReady = names.filter((n) => !isReady(bed, n)).length;
  const delta = (op: string): number => (after.spawned[op] ?? 0) - (before.spawned[op] ?? 0);
  line(`3. ${LABS} unchanged Labs for ${MINUTES} min`, `all Ready in ${fmt(Math.max(...times) / 1000, 1)} s first (per Lab p50 ${fmt(percentile(times, 50) / 1000, 1)} s)`);
  line('  drift detection interval', `${DRIFT_S} s (longer than the ${MINUTES} min window: no drift check is due in it)`);
  line('  forced resyncs (every Lab enqueued)', `${resyncs} × ${LABS}, every ${RESYNC_S} s`);
  line('  Lab reconciles in the window', `${fmt(after.reconciles - before.reconciles, 0)}`);
  line('  Terraform processes spawned (runner)', `${after.total - before.total}   (init ${delta('init')}, plan ${delta('plan')}, apply ${delta('apply')}, destroy ${delta('destroy')}; drift-check plans: ${delta('plan')})   (goal 0)`);
  line('  orion_terraform_runs_total increase', `${fmt(after.tfMetric - before.tfMetric, 0)}   (goal 0)`);
  line('  orion_ansible_runs_total increase', `${fmt(after.ansible - before.ansible, 0)}   (goal 0; the Labs have no playbook)`);
  line('  Labs not Ready at the end', `${notReady}`);
}

// ---- main ----------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  progress('starting the bed (private libvirtd, tofu + providers from .tools/)');
  if (GUEST) guestImage = await ensureGuestImage();
  const bed = await LabBed.create({
    ...(CONCURRENCY ? { controller: { concurrency: CONCURRENCY } } : {}),
    ...(guestImage ? { sshInNetns: true, imageDirs: [guestImage.dir], classSpec: guestClass(guestImage) } : {}),
  });
  try {
    const runsDir = join(bed.root, 'unused-runs');
    const concurrency = CONCURRENCY ?? labController(bed.store, { terraform: bed.runner, ansible: new AnsibleRunner({ playbookDirs: [defaultPlaybookDir()], runsDir }) }).concurrency ?? 4;
    const version = (await execa(bed.tools.tofu, ['version'], { env: tofuEnv(bed), reject: false })).stdout.split('\n')[0];
    line('machine', `${cpus().length} cores; ${version}; dmacvicar/libvirt 0.8.3; libvirtd in netns ${bed.virt.netns}, domain type qemu (TCG)`);
    line('Orion', `in-process FolderStore + Manager + labController (lab-bed: pollMs 500, shutdownGraceMs 1500)`);
    line('parameters', `--trials ${TRIALS} --labs ${LABS} --minutes ${MINUTES} --resync-seconds ${RESYNC_S} --drift-seconds ${DRIFT_S} --parallel ${PARALLEL}${CONCURRENCY ? ` --concurrency ${CONCURRENCY}` : ''}${GUEST ? ' --guest' : ''} --parts ${[...PARTS].join(',')}`);
    if (guestImage) {
      await bed.write('secret.yaml', [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'lab-key' }, stringData: { privateKey: guestImage.privateKey } }]);
    }
    const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
    let bareOne = NaN;
    if (PARTS.has('1')) {
      line('load average before part 1', load());
      bareOne = await bareVersusOrion(bed);
    }
    if (PARTS.has('k')) {
      line('load average before part k', load());
      await kubeVersusBare(bed);
    }
    if (PARTS.has('2')) {
      line('load average before part 2', load());
      await parallelLabs(bed, concurrency, bareOne);
    }
    if (PARTS.has('3')) {
      line('load average before part 3', load());
      await steadyLabs(bed);
    }
    line('load average at the end', load());
  } finally {
    progress('tearing down (libvirtd, its domains and namespace)');
    await bed.destroy();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
