// Benchmark: a Desktop from its creation to the first successful RDP login, on a private libvirtd (QEMU/TCG) with
// the desktop guest image as the template (test/harness/desktop-guest-bed.ts: Orion as its own process, `orion run`
// in folder mode, inside the libvirt network namespace). Figures only, never assertions.
//
//   1. Orion vs the same steps by hand, one desktop. Orion: writing the manifest → Ready → XFCE on the screen of
//      a FreeRDP client logged in with the Desktop's password, split into
//        apply      manifest written → the last Terraform run done (file watch, init, apply)
//        boot       → the first ansible-playbook starts (DHCP lease, SSH up, host key pinned)
//        configure  → Ready (desktop.yml, status)
//        first login → XFCE on the client's screen (xfreerdp started, session seen over SSH, screenshot not blank)
//      By hand: `tofu init` + `tofu apply` + `tofu output` of the very root module Orion rendered for that desktop
//      (its workspace copied), waiting for the lease (virsh domifaddr) and for SSH (ssh-keyscan), a bare
//      `ansible-playbook desktop.yml` with the same vars and Ansible settings, then the same FreeRDP login.
//      One warm-up desktop through Orion first, then --trials pairs (bare, then Orion), medians.
//   2. --parallel desktops (default 3) requested at once versus one: wall time from writing the manifests until
//      every desktop is Ready and until every one has a user logged in over RDP (the logins run at once too).
//
// TCG is far slower than KVM (seed 001 reports 150 s per desktop on KVM, one at a time): compare the ratios.
//
//   npx tsx bench/desktop.ts [--trials 1] [--parallel 3] [--parts 1,2]
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { getCondition } from '../src/api/conditions.js';
import { refKey } from '../src/api/refs.js';
import type { DesktopResource } from '../src/api/types.js';
import { sshArgs } from '../src/exec/ansible/inventory.js';
import { defaultPlaybookDir } from '../src/exec/ansible/playbooks.js';
import { DesktopGuestBed, type GuestMachine } from '../test/harness/desktop-guest-bed.js';
import { secretManifest } from '../test/harness/desktop-manifest.js';
import { fmt, line, median } from './support.js';

const { values: args } = parseArgs({
  options: {
    trials: { type: 'string', default: '1' },
    parallel: { type: 'string', default: '3' },
    parts: { type: 'string', default: '1,2' },
  },
});
const TRIALS = Number(args.trials);
const PARALLEL = Number(args.parallel);
const PARTS = new Set((args.parts ?? '1,2').split(','));
const TIMEOUT_MS = 40 * 60_000;
const PASSWORD = 'Bench-rdp-6620-password';
const USER = 'alice';
const CASE = { user: USER, passwordSecret: 'bench-rdp', ttlSeconds: 28800, idleTimeoutSeconds: 3600 };

interface Steps {
  applyMs: number;
  bootMs: number;
  configureMs: number;
  loginMs: number;
  totalMs: number;
}

const progress = (text: string): void => {
  process.stderr.write(`[bench] ${text}\n`);
};
const s = (ms: number): string => fmt(ms / 1000, 1);
const med = median;

async function until<T>(what: string, check: () => Promise<T | undefined | false>, stepMs = 100): Promise<T> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

async function readyDesktop(bed: DesktopGuestBed, name: string): Promise<DesktopResource> {
  return until(`Desktop ${name} Ready`, async () => {
    const d = await bed.desktop(name);
    if (d?.status?.phase === 'Failed') throw new Error(`desktop ${name} failed: ${JSON.stringify(d.status.conditions)}`);
    return getCondition(d?.status?.conditions, 'Ready')?.status === 'True' && d;
  });
}

function machineOf(d: DesktopResource): GuestMachine {
  return { address: d.status?.rdp?.host ?? '', rdpPort: d.status?.rdp?.port, hostKey: d.status?.machine?.hostKey ?? '' };
}

/** Orion's log lines about one desktop: when its last Terraform run ended and when its first playbook run began. */
async function orionTimes(bed: DesktopGuestBed, name: string): Promise<{ appliedAt: number; ansibleStartAt: number; ansibleRuns: number }> {
  const lines = (await bed.orionOutput()).split('\n').filter(Boolean).map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      return {};
    }
  });
  const applies = lines.filter((l) => l.workspace === `desktop/default/${name}` && /^terraform (apply|output)$/.test(String(l.msg))).map((l) => Number(l.time));
  const runs = lines.filter((l) => l.resource === refKey({ kind: 'Desktop', namespace: 'default', name }) && l.msg === 'ansible run done').map((l) => Number(l.time) - Number(l.durationMs));
  return { appliedAt: Math.max(...applies), ansibleStartAt: Math.min(...runs), ansibleRuns: runs.length };
}

async function deleteDesktop(bed: DesktopGuestBed, name: string): Promise<void> {
  await bed.remove(`${name}.yaml`);
  await until(`Desktop ${name} deleted`, async () => (await bed.desktop(name)) === undefined, 500);
}

/** One desktop through Orion, from the manifest to XFCE on the RDP client's screen. */
async function orionDesktop(bed: DesktopGuestBed, name: string, keepModule?: string): Promise<Steps & { ansibleRuns: number }> {
  const t0 = Date.now();
  await bed.write(`${name}.yaml`, [bed.desktopManifest(name, CASE)]);
  const desktop = await readyDesktop(bed, name);
  const login = await bed.rdpLogin(machineOf(desktop), USER, PASSWORD, join(bed.root, `${name}.png`));
  const t1 = Date.now();
  await login.client.disconnect();
  const readyAt = Date.parse(desktop.status?.readyAt ?? '');
  const { appliedAt, ansibleStartAt, ansibleRuns } = await orionTimes(bed, name);
  if (keepModule) {
    const ws = join(bed.state, 'terraform', 'workspaces', 'desktop', 'default', name);
    await mkdir(keepModule, { recursive: true });
    // The root module and its variable values (every value a user wrote reaches Terraform there, ADR 22).
    await cp(join(ws, 'main.tf.json'), join(keepModule, 'main.tf.json'));
    await cp(join(ws, 'terraform.tfvars.json'), join(keepModule, 'terraform.tfvars.json'));
    await cp(join(ws, 'modules'), join(keepModule, 'modules'), { recursive: true });
  }
  await deleteDesktop(bed, name);
  return { applyMs: appliedAt - t0, bootMs: ansibleStartAt - appliedAt, configureMs: readyAt - ansibleStartAt, loginMs: t1 - readyAt, totalMs: t1 - t0, ansibleRuns };
}

/** The same steps by hand: tofu on the copied root module, the lease, SSH, ansible-playbook, FreeRDP. */
async function bareDesktop(bed: DesktopGuestBed, name: string, module: string): Promise<Steps> {
  const dir = await mkdtemp(join(tmpdir(), 'orion-bench-bare-'));
  await cp(module, dir, { recursive: true });
  const tofu = async (...a: string[]): Promise<string> => {
    const r = await execa(bed.tools.tofu, a, { cwd: dir, env: { ...bed.tools.env, TF_IN_AUTOMATION: '1' }, reject: false, timeout: TIMEOUT_MS });
    if (r.exitCode !== 0) throw new Error(`tofu ${a[0]} failed:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
  try {
    const t0 = Date.now();
    await tofu('init', '-input=false', '-no-color');
    await tofu('apply', '-input=false', '-no-color', '-auto-approve');
    const outputs = JSON.parse(await tofu('output', '-json')) as { machines: { value: Array<{ id: string }> } };
    const id = outputs.machines.value[0]?.id ?? '';
    const appliedAt = Date.now();
    const address = await until('a DHCP lease', async () => /(\d+\.\d+\.\d+\.\d+)\//.exec(await bed.virt.virsh('domifaddr', id, '--source', 'lease').catch(() => ''))?.[1], 200);
    const hostKey = await until('SSH', async () => {
      const out = await bed.virt.inNetns('ssh-keyscan', ['-T', '2', '-t', 'ed25519', address]).catch(() => '');
      return out.split('\n').find((l) => l.includes('ssh-ed25519'))?.split(/\s+/).slice(1).join(' ');
    }, 200);
    const sshAt = Date.now();
    await writeFile(join(dir, 'known_hosts'), `${address} ${hostKey}\n`);
    await writeFile(join(dir, 'inventory.yml'), `all:\n  hosts:\n    desktop:\n      ansible_host: ${address}\n      ansible_user: root\n      ansible_ssh_private_key_file: ${bed.key.privateKeyPath}\n`);
    await writeFile(join(dir, 'vars.json'), JSON.stringify({ desktop_user: USER, orion_desktop: name, desktop_password: PASSWORD }), { mode: 0o600 });
    // The Ansible settings Orion uses (pinned host key, pipelining, one SSH connection), without Orion.
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8',
      ANSIBLE_HOST_KEY_CHECKING: 'true', ANSIBLE_SSH_ARGS: sshArgs(join(dir, 'known_hosts')), ANSIBLE_SSH_CONTROL_PATH_DIR: join(dir, 'cp'),
      ANSIBLE_PIPELINING: 'true', ANSIBLE_GATHERING: 'explicit', ANSIBLE_RETRY_FILES_ENABLED: 'false', ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'),
    };
    const run = await execa('ip', ['netns', 'exec', bed.virt.netns, 'ansible-playbook', '-i', join(dir, 'inventory.yml'), '-e', `@${join(dir, 'vars.json')}`,
      join(defaultPlaybookDir(), 'desktop.yml')], { env, extendEnv: false, reject: false, timeout: TIMEOUT_MS });
    if (run.exitCode !== 0) throw new Error(`bare ansible-playbook failed:\n${run.stdout.slice(-3000)}`);
    const configuredAt = Date.now();
    const login = await bed.rdpLogin({ address, hostKey }, USER, PASSWORD, join(bed.root, `${name}.png`));
    const t1 = Date.now();
    await login.client.disconnect();
    await tofu('destroy', '-input=false', '-no-color', '-auto-approve');
    return { applyMs: appliedAt - t0, bootMs: sshAt - appliedAt, configureMs: configuredAt - sshAt, loginMs: t1 - configuredAt, totalMs: t1 - t0 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function stepsLine(label: string, r: Steps): void {
  line(label, `apply ${s(r.applyMs)} + boot ${s(r.bootMs)} + configure ${s(r.configureMs)} + first login ${s(r.loginMs)} = ${s(r.totalMs)} s`);
}

function medianSteps(rows: Steps[]): Steps {
  const m = (k: keyof Steps): number => med(rows.map((r) => r[k]));
  return { applyMs: m('applyMs'), bootMs: m('bootMs'), configureMs: m('configureMs'), loginMs: m('loginMs'), totalMs: m('totalMs') };
}

async function partOne(bed: DesktopGuestBed): Promise<Steps> {
  const module = join(bed.root, 'bench-module');
  progress('warm-up desktop through Orion …');
  const warm = await orionDesktop(bed, 'warm', module);
  stepsLine('  warm-up (Orion, not counted)', warm);
  const bare: Steps[] = [];
  const orion: Steps[] = [];
  for (let i = 1; i <= TRIALS; i++) {
    progress(`trial ${i}/${TRIALS}: by hand …`);
    bare.push(await bareDesktop(bed, 'warm', module));
    progress(`trial ${i}/${TRIALS}: Orion …`);
    const o = await orionDesktop(bed, `one-${i}`);
    orion.push(o);
    progress(`trial ${i}: bare ${s(bare.at(-1)?.totalMs ?? NaN)} s, Orion ${s(o.totalMs)} s (${o.ansibleRuns} playbook run(s))`);
  }
  const b = medianSteps(bare);
  const o = medianSteps(orion);
  line('1. one desktop, creation → first RDP login', `${TRIALS} trial(s), medians; 1 vCPU, 1536 MiB, TCG`);
  stepsLine('  by hand (tofu, lease, ssh, ansible, FreeRDP)', b);
  stepsLine('  Orion (orion run, folder mode)', o);
  line('  Orion overhead beyond the bare steps', `${fmt(((o.totalMs - b.totalMs) / b.totalMs) * 100, 1)} %  (${s(o.totalMs - b.totalMs)} s; goal ≤ 5 %)`);
  line('  per step, Orion − bare', `apply ${s(o.applyMs - b.applyMs)}, boot ${s(o.bootMs - b.bootMs)}, configure ${s(o.configureMs - b.configureMs)}, login ${s(o.loginMs - b.loginMs)} s`);
  return o;
}

/**
 * A login that starts the client again when it exits while connecting: three desktops starting XFCE at once on two
 * cores can drop a connection that is being set up (FreeRDP: "Broken pipe" in post-connect); a person clicks again.
 */
async function loginRetrying(bed: DesktopGuestBed, machine: GuestMachine, screenshot: string): Promise<{ login: Awaited<ReturnType<DesktopGuestBed['rdpLogin']>>; retries: number }> {
  for (let retries = 0; ; retries++) {
    try {
      return { login: await bed.rdpLogin(machine, USER, PASSWORD, screenshot), retries };
    } catch (err) {
      if (retries >= 2 || !/^xfreerdp exited/.test((err as Error).message)) throw err;
      progress(`${machine.address}: the RDP client dropped while connecting; starting it again`);
    }
  }
}

async function partTwo(bed: DesktopGuestBed, one: Steps | undefined): Promise<void> {
  let single = one;
  if (!single) {
    progress('one desktop through Orion (reference for part 2) …');
    single = await orionDesktop(bed, 'single');
  }
  progress(`${PARALLEL} desktops at once …`);
  const names = Array.from({ length: PARALLEL }, (_, i) => `many-${i}`);
  const t0 = Date.now();
  for (const name of names) await bed.write(`${name}.yaml`, [bed.desktopManifest(name, CASE)]);
  const results = await Promise.all(names.map(async (name) => {
    const desktop = await readyDesktop(bed, name);
    const readyMs = Date.now() - t0;
    const { login, retries } = await loginRetrying(bed, machineOf(desktop), join(bed.root, `${name}.png`));
    const loggedInMs = Date.now() - t0;
    return { name, readyMs, loggedInMs, retries, client: login.client };
  }));
  for (const r of results) await r.client.disconnect();
  const allReady = Math.max(...results.map((r) => r.readyMs));
  const allIn = Math.max(...results.map((r) => r.loggedInMs));
  const singleReady = single.totalMs - single.loginMs;
  line(`2. ${PARALLEL} desktops at once vs one`, 'wall time from writing the manifests');
  line('  one desktop: Ready | first login', `${s(singleReady)} s | ${s(single.totalMs)} s`);
  line(`  ${PARALLEL} at once: all Ready | all logged in`, `${s(allReady)} s | ${s(allIn)} s   (each: ${results.map((r) => `${s(r.readyMs)}/${s(r.loggedInMs)}`).join(', ')})`);
  line(`  ratio ${PARALLEL} at once / one`, `Ready ×${fmt(allReady / singleReady, 2)}, logged in ×${fmt(allIn / single.totalMs, 2)}  (×${PARALLEL} would be one after the other)`);
  line('  RDP clients that dropped while connecting', `${results.reduce((n, r) => n + r.retries, 0)} (each started again, as a person would)`);
  line('  per desktop (all logged in / n)', `${s(allIn / PARALLEL)} s  (seed 001: 150 s per desktop on KVM, one at a time)`);
  for (const name of names) await bed.remove(`${name}.yaml`);
  await Promise.all(names.map((name) => until(`Desktop ${name} deleted`, async () => (await bed.desktop(name)) === undefined, 500)));
}

async function main(): Promise<void> {
  const bed = await DesktopGuestBed.create({ netnsPrefix: 'orion-deskbench', controller: { pollMs: 3000 } });
  try {
    await bed.write('secrets.yaml', [secretManifest('bench-rdp', { password: PASSWORD })]);
    line('machine', `${cpus().length} CPUs, load ${loadavg().map((l) => fmt(l, 1)).join(' ')}; Orion's controller defaults (pollMs 3000)`);
    line('parameters', `--trials ${TRIALS} --parallel ${PARALLEL} --parts ${[...PARTS].join(',')}`);
    const one = PARTS.has('1') ? await partOne(bed) : undefined;
    if (PARTS.has('2')) await partTwo(bed, one);
    const log = await readFile(bed.orionLog, 'utf8');
    line('Orion log', `${log.split('\n').length} lines; password in it: ${log.includes(PASSWORD) ? 'YES' : 'no'}`);
  } finally {
    await bed.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
