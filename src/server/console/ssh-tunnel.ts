// A byte stream to a port on a machine's loopback, through SSH: what reaches a service that listens on the machine
// only (a Desktop's VNC server), as `ssh -L` would, with the same login as the SSH console — the endpoint's key and
// nothing but its pinned host key. The stream is a direct-tcpip channel of its own SSH connection: closing it logs
// out. Errors say what failed, never the key.
import ssh2, { type ClientChannel } from 'ssh2';
import type { Duplex } from 'node:stream';
import { connectConfig, describe } from './ssh-bridge.js';
import { ConsoleUnavailable, type SshEndpoint } from './targets.js';

const LOOPBACK = '127.0.0.1';

/** The machine was reached, but nothing accepted the connection to the port (nothing listens there now). */
export class TunnelRefused extends ConsoleUnavailable {}

export async function openSshTunnel(endpoint: SshEndpoint, port: number): Promise<Duplex> {
  const sock = endpoint.sock ? await endpoint.sock() : undefined;
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let settled = false;
    const fail = (err: ConsoleUnavailable): void => {
      if (settled) return;
      settled = true;
      client.end();
      sock?.destroy();
      reject(err);
    };
    const unavailable = (message: string): void => fail(new ConsoleUnavailable(message));
    client.on('ready', () => {
      client.forwardOut(LOOPBACK, 0, LOOPBACK, port, (err, channel: ClientChannel) => {
        if (err) return fail(new TunnelRefused(`${endpoint.label} accepts no connection on its port ${port} (${err.message})`));
        settled = true;
        channel.on('close', () => client.end());
        resolve(channel);
      });
    });
    client.on('connect', () => client.setNoDelay(true));
    client.on('error', (err) => unavailable(describe(err, endpoint)));
    client.on('close', () => unavailable(`${endpoint.label} closed the SSH connection`));
    try {
      client.connect(connectConfig(endpoint, sock));
    } catch (err) {
      unavailable(describe(err as Error, endpoint));
    }
  });
}
