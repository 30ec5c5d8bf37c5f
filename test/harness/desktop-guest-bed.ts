// A test bed for real Desktops: the desktop guest image (harness/desktop-image.ts) as a template volume in the pool
// of a private libvirt daemon (harness/libvirt.ts: QEMU/TCG guests in a network namespace), optionally a Samba AD
// domain beside it (harness/samba-ad.ts: the guests' DNS server), OpenTofu with the libvirt provider from .tools/,
// and Orion itself as its own process *inside* that network namespace — `orion run` in folder mode with every
// controller as it registers them (harness/orion-run.ts → src/cli/run.ts). In there, the Desktop controller's
// ssh-keyscan, ansible-playbook and ssh2 session checks reach the guests' addresses with nothing wrapped.
//
// The test talks to Orion as a user would: manifests into its folder, the status, events and run logs read back
// from its state directory (what `orion get` and `orion logs` read), and Orion's own log output kept in a file.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DesktopResource } from '../../src/api/types.js';
import type { DesktopControllerOptions } from '../../controllers/desktop/controller.js';
import type { RunOptions } from '../../src/cli/run.js';
import { generateClientKeyPair, type ClientKeyPair } from '../../src/dataplane/workers.js';
import { TokenStore, tokensFile } from '../../src/server/auth/tokens.js';
import type { RecordedEvent } from '../../src/store/store.js';
import { ensureDesktopImage, type DesktopImage } from './desktop-image.js';
import { desktopClassManifests, desktopManifest, secretManifest, type DesktopCase, type DesktopPlace } from './desktop-manifest.js';
import { startLibvirt, type LibvirtEnv } from './libvirt.js';
import { removeManifestFile, writeManifestFile } from './manifest-files.js';
import { AD_DNS_SERVER, startSambaAd, type SambaAd, type SambaAdOptions } from './samba-ad.js';
import { RdpClient, type Screenshot } from './rdp-client.js';
import { ensureTofu, REPO_ROOT, type TofuTools } from './tofu.js';

const run = promisify(execFile);

/** The name of the desktop template in the pool (the MachineClass's image "xfce"). */
export const TEMPLATE_VOLUME = 'debian-12-xfce.qcow2';
export const SSH_KEY_SECRET = 'desktop-key';
/** The Secret with the AD join account, named by the bed's MachineClass (the test writes it). */
export const AD_JOIN_SECRET = 'ad-join';
/** How often a waiting RDP login prints what the machine is doing. */
const LOGIN_REPORT_MS = 60_000;

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** A desktop's machine as a client reaches it: its address, pinned host key and RDP port. */
export interface GuestMachine {
  address: string;
  hostKey: string;
  rdpPort?: number;
}

export interface RdpLogin {
  client: RdpClient;
  /** From starting the client to XFCE on its screen. */
  ms: number;
  shot: Screenshot;
}

/** Desktop controller settings that can cross a process boundary (JSON). */
export type DesktopSettings = Partial<Pick<DesktopControllerOptions, 'timeScale' | 'idleCheckMs' | 'pollMs' | 'concurrency' | 'maxDesktops' | 'maxDesktopsPerUser'>>;

export interface DesktopGuestBedOptions {
  /** A Samba AD domain beside the guests; its DC is their DNS server. */
  ad?: SambaAdOptions;
  controller?: DesktopSettings;
  /** Network namespace prefix (default orion-desk). */
  netnsPrefix?: string;
}

export class DesktopGuestBed {
  readonly manifests: string;
  readonly state: string;
  readonly orionLog: string;
  virt!: LibvirtEnv;
  ad?: SambaAd;
  image!: DesktopImage;
  tools!: TofuTools;
  key!: ClientKeyPair;
  private orion?: ChildProcess;

  private constructor(
    readonly root: string,
    private readonly options: DesktopGuestBedOptions,
  ) {
    this.manifests = join(root, 'manifests');
    this.state = join(root, 'state');
    this.orionLog = join(root, 'orion.log');
  }

  static async create(options: DesktopGuestBedOptions = {}): Promise<DesktopGuestBed> {
    const bed = new DesktopGuestBed(await mkdtemp(join('/var/tmp', 'orion-deskbed-')), options);
    try {
      await bed.setUp();
    } catch (err) {
      await bed.destroy();
      throw err;
    }
    return bed;
  }

  private async setUp(): Promise<void> {
    await mkdir(this.manifests, { recursive: true });
    [this.image, this.tools, this.virt] = await Promise.all([
      ensureDesktopImage(),
      ensureTofu('all'),
      startLibvirt({ netnsPrefix: this.options.netnsPrefix ?? 'orion-desk', ...(this.options.ad ? { dhcpDnsServer: AD_DNS_SERVER } : {}) }),
    ]);
    if (this.options.ad) this.ad = await startSambaAd(this.virt, this.options.ad);
    // The admin's template: the image as a volume of the pool (a directory pool: a file in it, then a refresh).
    await copyFile(this.image.image, join(this.virt.poolDir, TEMPLATE_VOLUME));
    await this.virt.virsh('pool-refresh', this.virt.pool);
    this.key = await generateClientKeyPair(join(this.root, 'keys'));
    await this.write('key.yaml', [secretManifest(SSH_KEY_SECRET, { privateKey: this.key.privateKey, publicKey: this.key.publicKey })]);
    // The admin's Hypervisor and default MachineClass; with a domain, the class's AD join (the join account's Secret
    // "ad-join", written by the test) and the domain's share.
    const ad = this.ad ? { domain: this.ad.domain, credentialsSecret: AD_JOIN_SECRET, ...(this.options.ad ? { share: { server: this.ad.dcHost, share: this.options.ad.share.name, mountpoint: '~/share' } } : {}) } : undefined;
    await this.write('classes.yaml', desktopClassManifests(this.place, ad));
    await this.startOrion();
  }

  /** Where Desktops of this bed go: its libvirt (TCG), the template volume, the bed's key. */
  get place(): DesktopPlace {
    return {
      hypervisor: { type: 'libvirt', libvirt: { uri: this.virt.uri, pool: this.virt.pool, network: this.virt.network, domainType: 'qemu' } },
      templateVolume: TEMPLATE_VOLUME,
      sshKeySecret: SSH_KEY_SECRET,
    };
  }

  desktopManifest(name: string, c: DesktopCase): object {
    return desktopManifest(this.place, name, c);
  }

  /** `orion run --dir` in the libvirt network namespace; its output goes to orion.log. */
  async startOrion(): Promise<void> {
    const options: RunOptions = {
      dir: this.manifests,
      state: this.state,
      listen: '127.0.0.1:0',
      nodeConcurrency: 4,
      rentalConcurrency: 4,
      terraform: this.tools.tofu,
      terraformEnv: this.tools.env,
      imageDirs: [this.virt.poolDir],
      desktop: { pollMs: 1000, ...this.options.controller },
    };
    const file = join(this.root, 'orion-options.json');
    await writeFile(file, JSON.stringify(options, null, 2));
    const log = createWriteStream(this.orionLog, { flags: 'a' });
    const child = spawn('ip', ['netns', 'exec', this.virt.netns, process.execPath, '--import', 'tsx', join(REPO_ROOT, 'test/harness/orion-run.ts'), file], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ORION_LOG_LEVEL: 'info', ORION_LOG_FORMAT: 'json' },
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    this.orion = child;
    const deadline = Date.now() + 60_000;
    while (!(await this.orionOutput()).includes('orion is running')) {
      if (child.exitCode !== null) throw new Error(`orion exited (code ${child.exitCode}): ${(await this.orionOutput()).slice(-2000)}`);
      if (Date.now() > deadline) throw new Error('orion did not start within 60 s');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stopOrion(): Promise<void> {
    const child = this.orion;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }

  /** The portal of the Orion in the namespace (http://127.0.0.1:PORT there: a browser must run in the namespace too). */
  async portalUrl(): Promise<string> {
    for (const line of (await this.orionOutput()).split('\n')) {
      if (!line.includes('orion is running')) continue;
      const listen = (JSON.parse(line) as { listen?: string }).listen;
      if (listen) return `http://${listen}`;
    }
    throw new Error('orion has not said where it listens');
  }

  /** A portal bearer token for this person, as `orion token create NAME` makes it. */
  async token(name: string, admin = false): Promise<string> {
    return (await new TokenStore(tokensFile(this.state)).create(name, { admin })).token;
  }

  /** Everything Orion printed (its pino log). */
  orionOutput(): Promise<string> {
    return readFile(this.orionLog, 'utf8').catch(() => '');
  }

  async write(file: string, docs: object[]): Promise<void> {
    await writeManifestFile(this.manifests, file, docs);
  }

  async remove(file: string): Promise<void> {
    await removeManifestFile(this.manifests, file);
  }

  /** The Desktop as Orion's state directory has it (what `orion get desktop NAME -o json` prints). */
  async desktop(name: string): Promise<DesktopResource | undefined> {
    return readJson<DesktopResource>(join(this.state, 'objects', 'Desktop', 'default', `${name}.json`));
  }

  async events(name: string): Promise<RecordedEvent[]> {
    return (await readJson<RecordedEvent[]>(join(this.state, 'events', 'Desktop', 'default', `${name}.json`))) ?? [];
  }

  /**
   * Every file Orion keeps in its state directory — the objects with their status, the events, every Terraform and
   * Ansible run log, the Terraform state — but the generated passwords (credentials/, secrets by design) and the
   * provider plugins (.terraform/).
   */
  async stateFiles(): Promise<Array<{ file: string; text: string }>> {
    const files = (await listFiles(this.state)).filter((f) => !f.includes('/credentials/') && !f.includes('/.terraform/'));
    return Promise.all(files.map(async (file) => ({ file, text: await readFile(file, 'utf8') })));
  }

  /** A command on a desktop's machine over SSH, from inside the namespace, as root, with the pinned host key. */
  async ssh(desktop: DesktopResource, command: string, timeoutMs = 60_000): Promise<CommandResult> {
    const machine = desktop.status?.machine;
    if (!machine?.address || !machine.hostKey) throw new Error(`desktop ${desktop.metadata.name} has no address or host key yet`);
    return this.sshMachine({ address: machine.address, hostKey: machine.hostKey }, command, timeoutMs);
  }

  async sshMachine(machine: GuestMachine, command: string, timeoutMs = 60_000): Promise<CommandResult> {
    const knownHosts = join(this.root, `known_hosts-${machine.address}`);
    await writeFile(knownHosts, `${machine.address} ${machine.hostKey}\n`);
    return run('ip', ['netns', 'exec', this.virt.netns, 'ssh', '-F', '/dev/null', '-i', this.key.privateKeyPath, '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'ConnectTimeout=10', `root@${machine.address}`, command], { timeout: timeoutMs })
      .then((r) => ({ stdout: r.stdout, stderr: r.stderr, code: 0 }), (err: { stdout?: string; stderr?: string; code?: number }) => ({
        stdout: err.stdout ?? '', stderr: err.stderr ?? '', code: typeof err.code === 'number' ? err.code : -1,
      }));
  }

  /**
   * Logs in over RDP (FreeRDP in the namespace) and waits until an XFCE desktop is on the client's screen (a
   * screenshot that is not blank) and the user's XFCE session runs on the machine (xfce4-session and xfce4-panel,
   * seen over SSH). Returns the connected client and how long the login took.
   *
   * The screen is looked at every second (Xvfb's frame buffer, a file on this machine); the machine is asked over
   * SSH only once the screen shows something, and for a progress line every minute. A first XFCE start on a 1-vCPU
   * TCG guest has no CPU to spare: an SSH login every second (a logind session each) slowed it down several times.
   * On timeout the error carries what the machine shows (the user's processes with their CPU time, the xrdp logs,
   * the session's errors) and the client's screen is kept as the artifact.
   */
  async rdpLogin(machine: GuestMachine, user: string, password: string, screenshot: string, timeoutMs = 15 * 60_000): Promise<RdpLogin> {
    const started = Date.now();
    const client = await RdpClient.connect({ netns: this.virt.netns, host: machine.address, port: machine.rdpPort ?? 3389, user, password, dir: join(this.root, `rdp-${machine.address}-${started}`) });
    let nextReport = started + LOGIN_REPORT_MS;
    try {
      for (;;) {
        if (!client.running) throw new Error(`xfreerdp exited: ${(await client.log()).slice(-2000)}`);
        const shot = await client.screenshot();
        if (painted(shot) && (await this.xfceRuns(machine, user))) {
          return { client, ms: Date.now() - started, shot: await client.screenshot(screenshot) };
        }
        const now = Date.now();
        if (now > started + timeoutMs) {
          await client.screenshot(screenshot);
          throw new Error(`no XFCE session of ${user} on the RDP client's screen within ${timeoutMs / 1000} s (the client shows ${shot.colours} colour(s), ` +
            `${screenshot}). The machine:\n${await this.sessionReport(machine, user)}\nxfreerdp: ${(await client.log()).trim().split('\n').slice(-5).join(' | ')}`);
        }
        if (now >= nextReport) {
          nextReport = now + LOGIN_REPORT_MS;
          console.error(`[rdp ${user}@${machine.address}] ${Math.round((now - started) / 1000)} s: the client shows ${shot.colours} colour(s); ${await this.sessionSummary(machine, user)}`);
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    } catch (err) {
      await client.disconnect().catch(() => undefined);
      throw err;
    }
  }

  /** Whether the user's XFCE session runs on the machine. */
  private async xfceRuns(machine: GuestMachine, user: string): Promise<boolean> {
    return (await this.sshMachine(machine, `pgrep -u ${user} -x xfce4-session >/dev/null && pgrep -u ${user} -x xfce4-panel >/dev/null`)).code === 0;
  }

  /** One line: the machine's load and the user's processes with their age and CPU time ("xfwm4 40s/3s"). */
  private async sessionSummary(machine: GuestMachine, user: string): Promise<string> {
    const r = await this.sshMachine(machine, `cut -d' ' -f1-3 /proc/loadavg; ps -u ${user} -o etimes=,times=,comm= | awk '{printf "%s %ss/%ss, ", $3, $1, $2}'`);
    if (r.code !== 0) return `ssh exit ${r.code}: ${r.stderr.trim().slice(-200)}`;
    const [load, procs] = r.stdout.split('\n');
    return `load ${load}; ${procs?.replace(/, $/, '') || `no process of ${user}`}`;
  }

  /** What the machine shows about a login, for a failure message. */
  async sessionReport(machine: GuestMachine, user: string): Promise<string> {
    const home = `$(getent passwd ${user} | cut -d: -f6)`;
    const r = await this.sshMachine(machine, [
      'echo "load: $(cat /proc/loadavg)"',
      `ps -u ${user} -o pid=,etimes=,times=,stat=,wchan:22=,args= | cut -c1-160`,
      'echo "--- xrdp-sesman.log"; tail -n 15 /var/log/xrdp-sesman.log',
      'echo "--- xrdp.log"; tail -n 15 /var/log/xrdp.log',
      `echo "--- ~/.xsession-errors"; tail -n 30 ${home}/.xsession-errors`,
      `echo "--- ~/.xorgxrdp.*.log"; tail -n 10 ${home}/.xorgxrdp.*.log`,
      'echo "--- journal"; journalctl -b -n 30 --no-pager -o short-monotonic',
    ].join('; '), 120_000);
    return `${r.stdout.trim()}${r.code !== 0 ? `\n(ssh exit ${r.code}: ${r.stderr.trim().slice(-300)})` : ''}`;
  }

  /**
   * Why a Desktop is not where a test waits for it, for a failure message: its phase and conditions as Orion wrote
   * them, its machine, what libvirt says of the domain and the network's leases, the domain's QEMU log, its newest
   * Terraform or Ansible run log, and the last lines of Orion's own log that name it.
   */
  async diagnose(name: string): Promise<string> {
    const desktop = await this.desktop(name).catch((err: Error) => err);
    const lines: string[] = [];
    if (!desktop || desktop instanceof Error) lines.push(`Desktop ${name}: ${desktop ? desktop.message : 'not in the state directory'}`);
    else {
      const s = desktop.status;
      lines.push(`Desktop ${name}: phase ${s?.phase}; machine ${JSON.stringify(s?.machine)}`);
      for (const c of s?.conditions ?? []) lines.push(`  ${c.type}=${c.status} ${c.reason}: ${c.message ?? ''}`);
    }
    const ask = async (label: string, what: () => Promise<string>): Promise<void> => {
      const out = await what().catch((err: Error) => `(${err.message.trim().slice(-300)})`);
      lines.push(`--- ${label}`, out.trim().split('\n').slice(-15).join('\n'));
    };
    const domains = (await this.domains().catch(() => [])).filter((d) => d.startsWith(`default.${name}.`));
    for (const domain of domains) {
      await ask(`virsh domstate ${domain}`, () => this.virt.virsh('domstate', '--reason', domain));
      await ask(`virsh domifaddr ${domain}`, () => this.virt.virsh('domifaddr', domain, '--source', 'lease'));
      await ask(`qemu log of ${domain}`, () => readFile(join(this.virt.root, 'log', 'qemu', `${domain}.log`), 'utf8'));
    }
    await ask(`network ${this.virt.network} leases`, () => this.virt.virsh('net-dhcp-leases', this.virt.network));
    const runLogs = join(this.state, 'logs', 'desktop', 'default', name);
    const newest = (await readdir(runLogs).catch(() => [])).filter((f) => f.endsWith('.log')).sort().at(-1);
    if (newest) await ask(`the newest run log, ${newest}`, () => readFile(join(runLogs, newest), 'utf8'));
    await ask('orion.log', async () => (await this.orionOutput()).split('\n').filter((l) => l.includes(name)).slice(-25).map((l) => l.slice(0, 400)).join('\n'));
    return lines.join('\n');
  }

  /** `virsh list --all` names. */
  async domains(): Promise<string[]> {
    return (await this.virt.virsh('list', '--all', '--name')).split('\n').map((l) => l.trim()).filter(Boolean);
  }

  async volumes(): Promise<string[]> {
    await this.virt.virsh('pool-refresh', this.virt.pool);
    const out = await this.virt.virsh('vol-list', this.virt.pool);
    return out.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter(Boolean);
  }

  async destroy(): Promise<void> {
    await this.stopOrion().catch(() => undefined);
    await this.ad?.stop().catch(() => undefined);
    await this.virt?.stop().catch(() => undefined);
    await rm(this.root, { recursive: true, force: true });
  }
}

/** An XFCE desktop, not a blank screen (a black root window shows the pointer only). */
function painted(shot: Screenshot): boolean {
  return shot.colours >= 64 && shot.dominantShare < 0.99;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(path)));
    else if (e.isFile() && (await stat(path)).size < 64 << 20) out.push(path);
  }
  return out;
}
