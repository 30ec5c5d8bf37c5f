// Power of a Lab's machines, outside Terraform: libvirt through `virsh -c URI` (an argument array, a timeout per
// command, output appended to the Lab's power log) and Proxmox through its HTTP API with the Lab's token
// (TLS verified unless the Lab says tlsInsecure; a CA from a Secret is honored).
//
// A driver observes machines (state, and where libvirt knows them the VNC port and the DHCP address) and asks
// for transitions; it never waits for one to finish: the controller observes again on its next reconcile.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { runProcess } from '../../src/exec/process.js';
import type { Logger } from '../../src/telemetry/logger.js';

/** running | stopped | other (paused, crashed, in transition ...) | missing (not found). */
export type PowerState = 'running' | 'stopped' | 'other' | 'missing';

export interface MachineObservation {
  state: PowerState;
  /** libvirt's own word for the state (`shut off`, `paused`), or Proxmox's. */
  detail: string;
  /** A runtime id that changes on every start (Proxmox: the pid; libvirt: the domain id, when `virsh list` was asked). */
  runId?: string;
  vncPort?: number;
  address?: string;
}

export type PowerAction = 'start' | 'shutdown' | 'poweroff' | 'restart';

export interface PowerDriver {
  observe(ids: string[], signal?: AbortSignal): Promise<Map<string, MachineObservation>>;
  act(id: string, action: PowerAction, signal?: AbortSignal): Promise<void>;
}

export class PowerError extends Error {
  override name = 'PowerError';
}

// ---- libvirt ----------------------------------------------------------------------------------------------------

export interface VirshOptions {
  uri: string;
  /** The virsh binary (default: virsh on PATH). */
  virsh?: string;
  timeoutMs?: number;
  /** Where every virsh command and its output are appended. */
  logFile: string;
  logger?: Logger;
}

const VIRSH_TIMEOUT_MS = 30_000;

/** `virsh list --all` rows: " Id   Name   State" then one line per domain ("-" as id when not running). */
export function parseVirshList(text: string): Map<string, { id?: string; state: string }> {
  const rows = new Map<string, { id?: string; state: string }>();
  for (const line of text.split('\n')) {
    const match = /^\s*(\d+|-)\s+(\S+)\s+(.+?)\s*$/.exec(line);
    if (!match) continue;
    const [, id, name, state] = match as unknown as [string, string, string, string];
    rows.set(name, { ...(id !== '-' ? { id } : {}), state });
  }
  return rows;
}

/** `virsh domifaddr --source lease`: the first IPv4 address ("vnet0  52:54:..  ipv4  10.0.0.5/24"). */
export function parseDomifaddr(text: string): string | undefined {
  const match = /\sipv4\s+(\d+\.\d+\.\d+\.\d+)\/\d+/.exec(text);
  return match?.[1];
}

/** `virsh domdisplay --type vnc`: "vnc://127.0.0.1:0" is display 0, port 5900. */
export function parseVncDisplay(text: string): number | undefined {
  const match = /^vnc:\/\/[^\s]*:(\d+)\s*$/m.exec(text.trim());
  return match ? 5900 + Number(match[1]) : undefined;
}

/** A domain as `virsh list --all` shows it. */
function listed(row: { id?: string; state: string } | undefined): MachineObservation {
  if (!row) return { state: 'missing', detail: 'not found' };
  return { state: libvirtState(row.state), detail: row.state, ...(row.id ? { runId: row.id } : {}) };
}

/** A domain name virsh's command-line parser takes as one plain word. */
const VIRSH_WORD = /^[A-Za-z0-9][A-Za-z0-9._+:-]*$/;
/** Echoed after each command of observeAll's script, to split its output (virsh -q prints it without a newline). */
const MARKER = '@@orion-observe@@';

/** One domain from its domstate, domdisplay and domifaddr output; undefined when virsh could not tell its state. */
function observedDomain(state: string, display: string, lease: string): MachineObservation | undefined {
  const detail = state.trim().split('\n')[0]?.trim();
  if (!detail) return undefined;
  const observation: MachineObservation = { state: libvirtState(detail), detail };
  if (observation.state !== 'running') return observation;
  const vncPort = parseVncDisplay(display);
  const address = parseDomifaddr(lease);
  return { ...observation, ...(vncPort !== undefined ? { vncPort } : {}), ...(address ? { address } : {}) };
}

function libvirtState(state: string): PowerState {
  if (state === 'running' || state === 'idle') return 'running';
  if (state === 'shut off') return 'stopped';
  return 'other';
}

export class VirshPower implements PowerDriver {
  constructor(private readonly options: VirshOptions) {}

  /**
   * Every machine's state, display and lease in one `virsh` process (one connection to libvirtd, its commands
   * separated by markers), not three per machine. Only a machine whose state virsh could not tell (gone, or an
   * error) is looked up in one `virsh list --all`, which also says whether libvirt answers at all.
   */
  async observe(ids: string[], signal?: AbortSignal): Promise<Map<string, MachineObservation>> {
    const seen = await this.observeAll(ids, signal);
    const unknown = ids.filter((id) => !seen.has(id));
    const rows = unknown.length > 0 ? parseVirshList(await this.virsh(['list', '--all'], signal)) : new Map<string, { id?: string; state: string }>();
    return new Map(ids.map((id) => [id, seen.get(id) ?? listed(rows.get(id))] as const));
  }

  private async observeAll(ids: string[], signal?: AbortSignal): Promise<Map<string, MachineObservation>> {
    const seen = new Map<string, MachineObservation>();
    // The ids go into a virsh command line (one argument virsh itself splits): an id virsh would read as syntax is
    // refused here, and is then looked up by `list --all` like an unknown one.
    const safe = ids.filter((id) => VIRSH_WORD.test(id));
    if (safe.length === 0) return seen;
    const commands = safe.flatMap((id) => [`domstate ${id}`, `domdisplay --type vnc ${id}`, `domifaddr ${id} --source lease`]);
    const out = await this.virsh([commands.map((c) => `${c}; echo ${MARKER}`).join('; ')], signal, true);
    const parts = out.split(MARKER).map((part) => part.replace(/^\n/, ''));
    safe.forEach((id, i) => {
      const [state = '', display = '', lease = ''] = parts.slice(3 * i, 3 * i + 3);
      const observation = observedDomain(state, display, lease);
      if (observation) seen.set(id, observation);
    });
    return seen;
  }

  /** restart is a power cycle (destroy, then start): it works whether or not the guest handles ACPI. */
  async act(id: string, action: PowerAction, signal?: AbortSignal): Promise<void> {
    const commands: Record<PowerAction, string[][]> = {
      start: [['start', id]],
      shutdown: [['shutdown', id]],
      poweroff: [['destroy', id]],
      restart: [['destroy', id], ['start', id]],
    };
    for (const args of commands[action]) await this.virsh(args, signal);
  }

  /** Powers off (if running) and undefines a domain; its volumes stay. */
  async remove(id: string, signal?: AbortSignal): Promise<void> {
    await this.virsh(['destroy', id], signal, true);
    await this.virsh(['undefine', id], signal);
  }

  private async virsh(args: string[], signal?: AbortSignal, tolerant = false): Promise<string> {
    const run = await runProcess(this.options.virsh ?? 'virsh', ['-q', '-c', this.options.uri, ...args], {
      timeoutMs: this.options.timeoutMs ?? VIRSH_TIMEOUT_MS,
      signal,
      logFile: this.options.logFile,
      logger: this.options.logger,
      env: { LC_ALL: 'C' },
    });
    if (run.exitCode === 0) return run.stdout;
    if (tolerant) return '';
    const why = run.timedOut ? 'timed out' : run.cancelled ? 'was cancelled' : (run.stderr.trim().split('\n').pop() ?? `exit ${run.exitCode}`);
    throw new PowerError(`virsh ${args[0]} ${args[1] ?? ''}: ${why}`.trim());
  }
}

// ---- Proxmox ----------------------------------------------------------------------------------------------------

export interface ProxmoxPowerOptions {
  endpoint: string;
  node: string;
  tokenId: string;
  tokenSecret: string;
  tlsInsecure?: boolean;
  /** PEM CA bundle that signs the endpoint's certificate. */
  ca?: string;
  timeoutMs?: number;
}

const PROXMOX_TIMEOUT_MS = 30_000;
const PROXMOX_ACTIONS: Record<PowerAction, string> = { start: 'start', shutdown: 'shutdown', poweroff: 'stop', restart: 'reset' };

export class ProxmoxPower implements PowerDriver {
  constructor(private readonly options: ProxmoxPowerOptions) {}

  async observe(ids: string[], signal?: AbortSignal): Promise<Map<string, MachineObservation>> {
    const seen = new Map<string, MachineObservation>();
    for (const id of ids) {
      const reply = await this.call('GET', `${this.vmPath(id)}/status/current`, signal);
      if (reply.status === 404 || (reply.status === 500 && /does not exist/i.test(reply.body))) {
        seen.set(id, { state: 'missing', detail: 'not found' });
        continue;
      }
      if (reply.status !== 200) throw new PowerError(`proxmox status of VM ${id}: HTTP ${reply.status}`);
      const data = (JSON.parse(reply.body) as { data?: { status?: string; pid?: number } }).data ?? {};
      const status = data.status ?? 'unknown';
      const state: PowerState = status === 'running' ? 'running' : status === 'stopped' ? 'stopped' : 'other';
      seen.set(id, { state, detail: status, ...(state === 'running' && data.pid ? { runId: String(data.pid) } : {}) });
    }
    return seen;
  }

  async act(id: string, action: PowerAction, signal?: AbortSignal): Promise<void> {
    const reply = await this.call('POST', `${this.vmPath(id)}/status/${PROXMOX_ACTIONS[action]}`, signal);
    if (reply.status !== 200) throw new PowerError(`proxmox ${PROXMOX_ACTIONS[action]} of VM ${id}: HTTP ${reply.status}`);
  }

  private vmPath(id: string): string {
    if (!/^\d+$/.test(id)) throw new PowerError(`invalid Proxmox VM id ${JSON.stringify(id)}`);
    return `/api2/json/nodes/${encodeURIComponent(this.options.node)}/qemu/${id}`;
  }

  /** One API call; the token goes in the Authorization header only, and no error message repeats it. */
  private call(method: 'GET' | 'POST', path: string, signal?: AbortSignal): Promise<{ status: number; body: string }> {
    const url = new URL(path, this.options.endpoint.replace(/\/+$/, '') + '/');
    const secure = url.protocol === 'https:';
    const send = secure ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          headers: { Authorization: `PVEAPIToken=${this.options.tokenId}=${this.options.tokenSecret}`, Accept: 'application/json' },
          timeout: this.options.timeoutMs ?? PROXMOX_TIMEOUT_MS,
          signal,
          ...(secure ? { rejectUnauthorized: !this.options.tlsInsecure, ...(this.options.ca ? { ca: this.options.ca } : {}) } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new PowerError(`proxmox ${method} ${url.pathname}: timed out`)));
      req.on('error', (err) => reject(err instanceof PowerError ? err : new PowerError(`proxmox ${method} ${url.pathname}: ${err.message}`)));
      req.end();
    });
  }
}

// ---- which ------------------------------------------------------------------------------------------------------

/** The driver of a provider: the Proxmox API with the Lab's token, else virsh on the libvirt URI. */
export function powerDriverFor(
  provider: { type: string; libvirt?: { uri?: string }; proxmox?: { endpoint: string; node: string; tlsInsecure?: boolean } },
  secrets: { proxmoxToken?: { id: string; secret: string }; ca?: string },
  opts: { logFile: string; virsh?: string },
): PowerDriver {
  if (provider.type === 'proxmox' && provider.proxmox && secrets.proxmoxToken) {
    return new ProxmoxPower({
      endpoint: provider.proxmox.endpoint,
      node: provider.proxmox.node,
      tokenId: secrets.proxmoxToken.id,
      tokenSecret: secrets.proxmoxToken.secret,
      tlsInsecure: provider.proxmox.tlsInsecure ?? false,
      ...(secrets.ca ? { ca: secrets.ca } : {}),
    });
  }
  return new VirshPower({ uri: provider.libvirt?.uri ?? 'qemu:///system', virsh: opts.virsh, logFile: opts.logFile });
}
