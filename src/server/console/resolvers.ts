// The consoles Orion offers today:
//   Rental, ssh   its node, as its tenant, with the rental's own console key (src/store/console-keys.ts) and the
//                 node's pinned host key
//   Lab, ssh      a machine, as the Lab's Ansible user, with the Lab's SSH key Secret and the machine's pinned key
//   Lab, vnc      a libvirt machine's VNC server, on the host of the admin's Hypervisor URI — the one the machines
//                 were made on (status.hypervisor), else the Lab's MachineClass's; never anything the tenant wrote
//                 (127.0.0.1 for a local libvirt); the connector decides how that address is reached (TCP by default)
//   Desktop, vnc  the XRDP session's screen: x11vnc on the machine's loopback (the desktop role starts it with the
//                 session), through an SSH tunnel with the Desktop's admin login — its key Secret and the machine's
//                 pinned host key, as the Desktop controller's session check — never over the network
import { connect as tcpConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { DESKTOP_VNC_PORT } from '../../api/desktop-ports.js';
import type { GeneratedPasswords } from '../../store/generated-passwords.js';
import { machineKeyOf } from '../../store/machine-keys.js';
import type { DesktopResource, HypervisorResource, LabResource, MachineClassResource, NodeResource, RentalResource } from '../../api/types.js';
import { labHypervisor } from '../../api/machine-terms.js';
import type { ConsoleKeys } from '../../store/console-keys.js';
import type { Store } from '../../store/store.js';
import { openSshTunnel, TunnelRefused } from './ssh-tunnel.js';
import { ConsoleTargets, ConsoleUnavailable, type SshEndpoint, type VncEndpoint } from './targets.js';
import type { ConsoleTarget } from './tickets.js';

/** Opens a byte stream to HOST:PORT as seen from where the machines live (a test bed: inside its network namespace). */
export type Connector = (host: string, port: number) => Promise<Duplex>;

export const tcpConnector: Connector = (host, port) =>
  new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });

export interface DefaultConsoleOptions {
  store: Store;
  consoleKeys?: ConsoleKeys;
  /** How lab machines and hypervisors are reached (default: TCP from this process). */
  connector?: Connector;
  /** The Desktop machines' administrative login (the Desktop controller's adminUser; default root). */
  desktopAdminUser?: string;
  /** Where generated credentials are: the key pair of a Desktop that names no key Secret (machine-keys.ts). */
  passwords?: GeneratedPasswords;
}

export function defaultConsoleTargets(options: DefaultConsoleOptions): ConsoleTargets {
  const { store, consoleKeys } = options;
  const connector = options.connector ?? tcpConnector;
  const targets = new ConsoleTargets(store);
  if (consoleKeys) targets.register('Rental', { ssh: (obj) => rentalSsh(store, consoleKeys, obj as RentalResource) });
  targets.register('Lab', {
    ssh: (obj, target) => labSsh(store, obj as LabResource, target, connector),
    vnc: async (obj, target) => labVnc(store, obj as LabResource, target, connector),
  });
  targets.register('Desktop', { vnc: (obj) => desktopVnc(store, obj as DesktopResource, { adminUser: options.desktopAdminUser ?? 'root', passwords: options.passwords }, connector) });
  return targets;
}

/** The Node a Ready rental is on, with its pinned host key. */
function rentalNode(store: Store, rental: RentalResource): { node: NodeResource; hostKey: string } {
  const nodeName = rental.status?.nodeName;
  if (rental.status?.phase !== 'Ready' || !rental.status.connection || !nodeName) {
    throw new ConsoleUnavailable(`rental ${rental.metadata.name} is not Ready (${rental.status?.phase ?? 'Pending'}): no terminal yet`);
  }
  const node = store.get<NodeResource>({ kind: 'Node', namespace: rental.metadata.namespace, name: nodeName });
  const hostKey = node?.status?.hostKey?.key;
  if (!node || !hostKey) throw new ConsoleUnavailable(`node ${nodeName} has no pinned host key yet`);
  return { node, hostKey };
}

async function rentalSsh(store: Store, keys: ConsoleKeys, rental: RentalResource): Promise<SshEndpoint> {
  const { node, hostKey } = rentalNode(store, rental);
  const connection = rental.status?.connection ?? {};
  const key = await keys.of(rental);
  return { host: connection.host ?? node.spec.address, port: connection.port ?? node.spec.port ?? 22, user: rental.spec.user, privateKey: key.privateKey, hostKey, label: `node ${node.metadata.name}` };
}

function machineOf(lab: LabResource, target: ConsoleTarget) {
  const machine = lab.status?.machines?.find((m) => m.name === target.machine);
  if (!machine) throw new ConsoleUnavailable(`lab ${lab.metadata.name} has no machine "${target.machine ?? ''}"`);
  return machine;
}

async function labSsh(store: Store, lab: LabResource, target: ConsoleTarget, connector: Connector): Promise<SshEndpoint> {
  const machine = machineOf(lab, target);
  if (!machine.address || !machine.hostKey) throw new ConsoleUnavailable(`machine ${machine.name} has no address or pinned host key yet`);
  const secretName = lab.spec.sshKeySecretRef?.name;
  const secret = secretName ? await store.readSecret(lab.metadata.namespace, secretName) : undefined;
  if (!secret?.privateKey) throw new ConsoleUnavailable(`lab ${lab.metadata.name} has no SSH key Secret for its machines`);
  const port = machine.sshPort ?? 22;
  const address = machine.address;
  return {
    host: address,
    port,
    user: lab.spec.ansible?.user ?? 'root',
    privateKey: secret.privateKey,
    hostKey: machine.hostKey,
    label: `machine ${machine.name}`,
    sock: () => connector(address, port),
  };
}

function labVnc(store: Store, lab: LabResource, target: ConsoleTarget, connector: Connector): VncEndpoint {
  const machine = machineOf(lab, target);
  const hypervisor = labHypervisor(lab, store.list<MachineClassResource>('MachineClass'), store.list<HypervisorResource>('Hypervisor'));
  if (!hypervisor) throw new ConsoleUnavailable(`lab ${lab.metadata.name}: its Hypervisor cannot be found`);
  const provider = hypervisor.spec;
  if (provider.type !== 'libvirt') throw new ConsoleUnavailable('the graphical console is offered for libvirt machines');
  if (machine.vncPort === undefined) throw new ConsoleUnavailable(`machine ${machine.name} shows no VNC display (is it running?)`);
  const host = hypervisorHost(provider.libvirt?.uri ?? 'qemu:///system');
  const port = machine.vncPort;
  return { label: `the screen of ${machine.name}`, connect: () => connector(host, port) };
}

/** A Ready Desktop's session screen, through SSH to its machine's loopback. */
async function desktopVnc(store: Store, desktop: DesktopResource, login: { adminUser: string; passwords: GeneratedPasswords | undefined }, connector: Connector): Promise<VncEndpoint> {
  const { adminUser } = login;
  const { name, namespace } = desktop.metadata;
  const machine = desktop.status?.machine;
  if (desktop.status?.phase !== 'Ready' || !machine?.address || !machine.hostKey) {
    throw new ConsoleUnavailable(`desktop ${name} is not Ready (${desktop.status?.phase ?? 'Pending'}): no screen yet`);
  }
  const secretName = desktop.spec.sshKeySecretRef?.name;
  // Its own key Secret, else the key pair Orion generated for it (the one the controller configured it with).
  const secret = secretName
    ? await store.readSecret(namespace, secretName)
    : login.passwords ? { privateKey: (await machineKeyOf(login.passwords, desktop)).privateKey } : undefined;
  if (!secret?.privateKey) throw new ConsoleUnavailable(`desktop ${name} has no SSH key Secret for its machine`);
  const { address, hostKey } = machine;
  const sshPort = machine.sshPort ?? 22;
  const ssh: SshEndpoint = {
    host: address,
    port: sshPort,
    user: adminUser,
    privateKey: secret.privateKey,
    hostKey,
    label: `desktop ${name}`,
    sock: () => connector(address, sshPort),
  };
  // x11vnc runs with the XRDP session: before the first RDP login (or after logging out) there is no screen to share.
  const connect = (): Promise<Duplex> => openSshTunnel(ssh, DESKTOP_VNC_PORT).catch((err: unknown) => {
    throw err instanceof TunnelRefused ? new ConsoleUnavailable(`desktop ${name} shares no screen now: its session's screen is shared while the session runs (log in over RDP first)`) : err;
  });
  return { label: `the screen of desktop ${name}`, connect };
}

/** The host of a libvirt URI (qemu+ssh://user@host/system → host); a local URI is this machine. */
export function hypervisorHost(uri: string): string {
  try {
    const host = new URL(uri).hostname;
    return host || '127.0.0.1';
  } catch {
    return '127.0.0.1';
  }
}

