// Where a console goes, resolved when it opens (never from the ticket alone: the object is read again, so a rental
// that moved or a machine that stopped is seen as it is now). Pluggable by kind: Rentals and Labs are registered
// here; a Desktop's graphical session can register its own VNC endpoint the same way.
//   ssh: host, port, login, the private key Orion holds for it and the pinned host key
//   vnc: a way to open a byte stream to the machine's VNC server, however the hypervisor exposes it
import type { Duplex } from 'node:stream';
import type { Resource } from '../../api/types.js';
import type { Store } from '../../store/store.js';
import type { ConsoleTarget } from './tickets.js';

export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
  privateKey: string;
  /** The pinned host key ("type base64"): the connection is refused if the server shows another. */
  hostKey: string;
  /** What to say when it fails, e.g. "node worker-3". */
  label: string;
  /** How to reach host:port when a plain TCP connection from here cannot (a network namespace, a tunnel). */
  sock?: () => Promise<Duplex>;
}

export interface VncEndpoint {
  connect(): Promise<Duplex>;
  label: string;
}

/** Thrown when a target cannot be reached now: the message is for the person (no secrets). */
export class ConsoleUnavailable extends Error {}

export interface ConsoleResolvers {
  ssh?: (obj: Resource, target: ConsoleTarget) => Promise<SshEndpoint>;
  vnc?: (obj: Resource, target: ConsoleTarget) => Promise<VncEndpoint>;
}

export class ConsoleTargets {
  private readonly byKind = new Map<string, ConsoleResolvers>();

  constructor(readonly store: Store) {}

  register(kind: string, resolvers: ConsoleResolvers): this {
    this.byKind.set(kind, { ...this.byKind.get(kind), ...resolvers });
    return this;
  }

  /** Whether the kind has a console of this type at all. */
  offers(kind: string, type: 'ssh' | 'vnc'): boolean {
    return this.byKind.get(kind)?.[type] !== undefined;
  }

  async ssh(obj: Resource, target: ConsoleTarget): Promise<SshEndpoint> {
    const resolve = this.byKind.get(obj.kind)?.ssh;
    if (!resolve) throw new ConsoleUnavailable(`a ${obj.kind} has no terminal`);
    return resolve(obj, target);
  }

  async vnc(obj: Resource, target: ConsoleTarget): Promise<VncEndpoint> {
    const resolve = this.byKind.get(obj.kind)?.vnc;
    if (!resolve) throw new ConsoleUnavailable(`a ${obj.kind} has no graphical console`);
    return resolve(obj, target);
  }
}
