// The console bridges when the browser has already left: a websocket that closed while Orion was opening the way to
// the machine (an SSH handshake takes seconds on a busy host). The connection opened for it must be closed at once,
// never kept: an open connection to a desktop's screen, or an SSH login with a terminal, keeps a desktop in use.
import { createServer, type AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { bridgeSsh } from '../../src/server/console/ssh-bridge.js';
import { bridgeVnc } from '../../src/server/console/vnc-bridge.js';

let wss: WebSocketServer;
let port = 0;

beforeAll(async () => {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  port = (wss.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => wss.close(resolve));
});

/** The server side of a websocket whose browser has gone (its close seen by the server). */
async function leftSocket(): Promise<WebSocket> {
  const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const browser = new WebSocket(`ws://127.0.0.1:${port}`);
  const server = await accepted;
  await new Promise((resolve) => (browser.readyState === browser.OPEN ? resolve(undefined) : browser.once('open', resolve)));
  const closed = new Promise((resolve) => server.once('close', resolve));
  browser.terminate();
  await closed;
  return server;
}

describe('a console whose browser left before the bridge was ready', () => {
  it('closes the connection to the screen at once', async () => {
    const ws = await leftSocket();
    const vnc = new PassThrough();
    await bridgeVnc(ws, vnc);
    expect(vnc.destroyed).toBe(true);
  });

  it('closes the way to the machine and logs in to nothing', async () => {
    const ws = await leftSocket();
    let connections = 0;
    const sshd = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => sshd.listen(0, '127.0.0.1', resolve));
    const way = new PassThrough();
    await bridgeSsh(ws, {
      host: '127.0.0.1', port: (sshd.address() as AddressInfo).port, user: 'root', privateKey: 'unused', hostKey: 'ssh-ed25519 AAAA', label: 'node gone',
      sock: async () => way,
    });
    expect(way.destroyed).toBe(true);
    await new Promise((resolve) => sshd.close(resolve));
    expect(connections).toBe(0);
  });
});
