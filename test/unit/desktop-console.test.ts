// The desktop in the browser, without a machine: a Desktop's console ticket (its owner or an admin gets one for the
// screen; another tenant gets a 404, a terminal is not offered), and the way to its screen — an SSH tunnel (ssh2,
// direct-tcpip) to port 5900 on the machine's loopback, logged in as the admin user with the Desktop's key Secret
// and only the pinned host key. The machine is an in-process ssh2 server whose forwarded connections reach a stand-in
// VNC server on this machine's loopback (it greets as RFB 3.8 and echoes).
import express from 'express';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import ssh2, { type Connection } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesktopResource, Resource } from '../../src/api/types.js';
import { FolderAccess } from '../../src/server/auth/access.js';
import type { Identity } from '../../src/server/auth/identity.js';
import type { TokenStore } from '../../src/server/auth/tokens.js';
import type { Portal } from '../../src/server/api/context.js';
import { problemHandler } from '../../src/server/problem.js';
import { defaultConsoleTargets, tcpConnector } from '../../src/server/console/resolvers.js';
import { consoleTicketRoutes } from '../../src/server/console/routes.js';
import { openSshTunnel, TunnelRefused } from '../../src/server/console/ssh-tunnel.js';
import { ConsoleUnavailable } from '../../src/server/console/targets.js';
import { TicketBook } from '../../src/server/console/tickets.js';
import type { Store } from '../../src/store/store.js';

const { generateKeyPairSync } = ssh2.utils;
const hostKey = generateKeyPairSync('ed25519');
const otherHostKey = generateKeyPairSync('ed25519');
const adminKey = generateKeyPairSync('ed25519');
const RFB_GREETING = 'RFB 003.008\n';

/** The machine: sshd for root with the admin key; what it forwards to reaches the stand-in VNC server. */
class Machine {
  readonly forwarded: Array<{ destIP: string; destPort: number }> = [];
  /** Ports where nothing listens (a desktop with no session has no x11vnc). */
  readonly closedPorts = new Set<number>([1]);
  ssh!: ssh2.Server;
  vnc!: NetServer;
  sshPort = 0;
  private readonly sockets = new Set<Socket>();

  async start(): Promise<void> {
    this.vnc = createServer((socket) => {
      this.sockets.add(socket);
      socket.write(RFB_GREETING);
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => this.vnc.listen(0, '127.0.0.1', resolve));
    const vncPort = (this.vnc.address() as AddressInfo).port;
    this.ssh = new ssh2.Server({ hostKeys: [hostKey.private] }, (client: Connection) => {
      client.on('authentication', (ctx) => {
        const allowed = ssh2.utils.parseKey(adminKey.public);
        if (ctx.method === 'publickey' && ctx.username === 'root' && !(allowed instanceof Error) && ctx.key.data.equals(allowed.getPublicSSH())) return ctx.accept();
        ctx.reject(['publickey']);
      });
      client.on('ready', () => {
        client.on('tcpip', (accept, reject, info) => {
          this.forwarded.push({ destIP: info.destIP, destPort: info.destPort });
          if (info.destIP !== '127.0.0.1' || this.closedPorts.has(info.destPort)) return reject();
          const channel = accept();
          const upstream = tcpConnector('127.0.0.1', vncPort);
          void upstream.then((sock) => {
            channel.pipe(sock).pipe(channel);
          }, () => channel.close());
        });
      });
      client.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => this.ssh.listen(0, '127.0.0.1', resolve));
    this.sshPort = (this.ssh.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.ssh.close(resolve));
    await new Promise((resolve) => this.vnc.close(resolve));
  }
}

/** Reads from the stream until it has `length` bytes. */
function read(stream: Duplex, length: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      if (got.length < length) return;
      stream.off('data', onData);
      resolve(got.toString('utf8'));
    };
    stream.on('data', onData);
    stream.once('error', reject);
  });
}

const hostKeyLine = (key: { public: string }): string => key.public.trim().split(/\s+/).slice(0, 2).join(' ');

function desktop(name: string, owner: string, status: DesktopResource['status']): DesktopResource {
  return {
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'Desktop',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, generation: 1, creationTimestamp: new Date().toISOString(), annotations: { 'orion.lab/owner': owner } },
    spec: { user: 'alice', template: 'debian-12-xfce.qcow2', ttlSeconds: 3600, sshKeySecretRef: { name: 'desktop-key' }, provider: { type: 'libvirt' } },
    status,
  } as unknown as DesktopResource;
}

/** A store of these objects and Secrets: all the console's resolvers and routes read. */
function storeOf(objects: Resource[], secrets: Record<string, Record<string, string>>): Store {
  return {
    get: (ref: { kind: string; namespace?: string; name: string }) => objects.find((o) => o.kind === ref.kind && o.metadata.name === ref.name && o.metadata.namespace === ref.namespace),
    readSecret: async (_namespace: string, name: string) => secrets[name],
  } as unknown as Store;
}

describe('the desktop\'s screen through an SSH tunnel', () => {
  const machine = new Machine();
  beforeAll(() => machine.start());
  afterAll(() => machine.stop());

  const endpoint = () => ({ host: '127.0.0.1', port: machine.sshPort, user: 'root', privateKey: adminKey.private, hostKey: hostKeyLine(hostKey), label: 'desktop desk' });

  it('reaches a port on the machine\'s loopback, with the pinned host key and the admin key', async () => {
    const port = (machine.vnc.address() as AddressInfo).port;
    const stream = await openSshTunnel(endpoint(), port);
    expect(await read(stream, RFB_GREETING.length)).toBe(RFB_GREETING);
    stream.write('ping');
    expect(await read(stream, 4)).toBe('ping');
    stream.end();
    expect(machine.forwarded.at(-1)).toEqual({ destIP: '127.0.0.1', destPort: port });
  });

  it('refuses a machine that shows another host key, and says so without the key', async () => {
    const err = await openSshTunnel({ ...endpoint(), hostKey: hostKeyLine(otherHostKey) }, 5900).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ConsoleUnavailable);
    expect((err as Error).message).toMatch(/host key of desktop desk is not the pinned one/);
    expect((err as Error).message).not.toContain('PRIVATE KEY');
  });

  it('refuses when the machine refuses the key', async () => {
    const stranger = generateKeyPairSync('ed25519');
    const err = await openSshTunnel({ ...endpoint(), privateKey: stranger.private }, 5900).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ConsoleUnavailable);
    expect((err as Error).message).toBe('desktop desk refused the console\'s key for root');
  });

  it('says when nothing listens on the port', async () => {
    const err = await openSshTunnel(endpoint(), 1).catch((e: Error) => e);
    expect(err).toBeInstanceOf(TunnelRefused);
    expect((err as Error).message).toMatch(/^desktop desk accepts no connection on its port 1 /);
  });

  describe('a Desktop\'s VNC target', () => {
    const ready = () => desktop('desk', 'alice', { phase: 'Ready', machine: { name: 'desktop-0', address: '127.0.0.1', hostKey: hostKeyLine(hostKey), sshPort: machine.sshPort } } as DesktopResource['status']);
    const target = { type: 'vnc' as const, kind: 'Desktop', namespace: 'default', name: 'desk' };

    it('goes to 127.0.0.1:5900 on the machine, as its admin user, with the Desktop\'s key Secret', async () => {
      const d = ready();
      const targets = defaultConsoleTargets({ store: storeOf([d], { 'desktop-key': { privateKey: adminKey.private } }) });
      expect(targets.offers('Desktop', 'vnc')).toBe(true);
      expect(targets.offers('Desktop', 'ssh')).toBe(false);
      const vnc = await targets.vnc(d, target);
      expect(vnc.label).toBe('the screen of desktop desk');
      // The stand-in machine forwards every port to its VNC stand-in; what was asked for is recorded.
      const stream = await vnc.connect();
      expect(await read(stream, RFB_GREETING.length)).toBe(RFB_GREETING);
      stream.destroy();
      expect(machine.forwarded.at(-1)).toEqual({ destIP: '127.0.0.1', destPort: 5900 });
    });

    it('logs in as the Desktop controller\'s admin user', async () => {
      const d = ready();
      const targets = defaultConsoleTargets({ store: storeOf([d], { 'desktop-key': { privateKey: adminKey.private } }), desktopAdminUser: 'debian' });
      const err = await (await targets.vnc(d, target)).connect().catch((e: Error) => e);
      expect((err as Error).message).toBe('desktop desk refused the console\'s key for debian');
    });

    it('says when the desktop shares no screen (no XRDP session, so no x11vnc)', async () => {
      const d = ready();
      const targets = defaultConsoleTargets({ store: storeOf([d], { 'desktop-key': { privateKey: adminKey.private } }) });
      machine.closedPorts.add(5900);
      try {
        await expect((await targets.vnc(d, target)).connect()).rejects.toThrow(new ConsoleUnavailable('desktop desk shares no screen now: its session\'s screen is shared while the session runs (log in over RDP first)'));
      } finally {
        machine.closedPorts.delete(5900);
      }
    });

    it('is not offered before the Desktop is Ready, nor without its key Secret', async () => {
      const pending = desktop('desk', 'alice', { phase: 'Provisioning' } as DesktopResource['status']);
      const targets = defaultConsoleTargets({ store: storeOf([pending], {}) });
      await expect(targets.vnc(pending, target)).rejects.toThrow(new ConsoleUnavailable('desktop desk is not Ready (Provisioning): no screen yet'));
      const keyless = defaultConsoleTargets({ store: storeOf([ready()], {}) });
      await expect(keyless.vnc(ready(), target)).rejects.toThrow(/has no SSH key Secret/);
    });
  });
});

describe('a Desktop\'s console ticket', () => {
  const people: Record<string, Identity> = {
    alice: { name: 'alice', groups: [], admin: false, via: 'token' },
    bob: { name: 'bob', groups: [], admin: false, via: 'token' },
    admin: { name: 'admin', groups: [], admin: true, via: 'token' },
  };
  const tickets = new TicketBook();
  let server: HttpServer;
  let url = '';

  beforeAll(async () => {
    const store = storeOf([desktop('desk', 'alice', { phase: 'Ready' } as DesktopResource['status'])], {});
    const portal = { store, access: new FolderAccess({} as TokenStore) } as unknown as Portal;
    const app = express();
    app.use(express.json());
    app.use((req, res, next) => {
      res.locals.identity = people[String(req.headers['x-test-user'])];
      next();
    });
    app.use(consoleTicketRoutes(portal, tickets, defaultConsoleTargets({ store })));
    app.use(problemHandler);
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const ask = async (who: string, path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${url}/api/v1/namespaces/default/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-test-user': who }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('is given to its owner for the screen, bound to desktop/default/desk', async () => {
    const answer = await ask('alice', 'desktops/desk/console', { type: 'vnc' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ path: '/console/vnc', expiresInSeconds: 30 });
    expect(tickets.redeem(answer.body.ticket as string)).toMatchObject({ identity: { name: 'alice' }, target: { type: 'vnc', kind: 'Desktop', namespace: 'default', name: 'desk' } });
  });

  it('is given to an admin', async () => {
    expect((await ask('admin', 'desktops/desk/console', { type: 'vnc' })).status).toBe(200);
  });

  it('is refused to another tenant as if the Desktop did not exist, whatever the URL', async () => {
    for (const path of ['desktops/desk/console', 'desktops/desk/machines/desktop-0/console', 'desktops/nothing/console']) {
      const answer = await ask('bob', path, { type: 'vnc' });
      expect(answer.status, path).toBe(404);
      expect(answer.body.ticket).toBeUndefined();
    }
  });

  it('offers no terminal and no other type', async () => {
    expect((await ask('alice', 'desktops/desk/console', {})).status).toBe(404);
    expect((await ask('alice', 'desktops/desk/console', { type: 'rdp' })).status).toBe(400);
  });
});
