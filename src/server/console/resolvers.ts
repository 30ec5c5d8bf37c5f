// The consoles Orion offers today:
//   Rental, ssh   its node, as its tenant, with the rental's own console key (src/store/console-keys.ts) and the
//                 node's pinned host key
//   Lab, ssh      a machine, as the Lab's Ansible user, with the Lab's SSH key Secret and the machine's pinned key
//   Lab, vnc      a libvirt machine's VNC server, on the hypervisor the Lab's URI names (127.0.0.1 for a local
//                 libvirt); the connector decides how that address is reached (a plain TCP connection by default)
import { connect as tcpConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { LabResource, NodeResource, RentalResource } from '../../api/types.js';
import type { ConsoleKeys } from '../../store/console-keys.js';
import type { Store } from '../../store/store.js';
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
}

export function defaultConsoleTargets(options: DefaultConsoleOptions): ConsoleTargets {
  const { store, consoleKeys } = options;
  const connector = options.connector ?? tcpConnector;
  const targets = new ConsoleTargets(store);
  if (consoleKeys) targets.register('Rental', { ssh: (obj) => rentalSsh(store, consoleKeys, obj as RentalResource) });
  targets.register('Lab', {
    ssh: (obj, target) => labSsh(store, obj as LabResource, target, connector),
    vnc: async (obj, target) => labVnc(obj as LabResource, target, connector),
  });
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

function labVnc(lab: LabResource, target: ConsoleTarget, connector: Connector): VncEndpoint {
  const machine = machineOf(lab, target);
  if (lab.spec.provider.type !== 'libvirt') throw new ConsoleUnavailable('the graphical console is offered for libvirt machines');
  if (machine.vncPort === undefined) throw new ConsoleUnavailable(`machine ${machine.name} shows no VNC display (is it running?)`);
  const host = hypervisorHost(lab.spec.provider.libvirt?.uri ?? 'qemu:///system');
  const port = machine.vncPort;
  return { label: `the screen of ${machine.name}`, connect: () => connector(host, port) };
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

