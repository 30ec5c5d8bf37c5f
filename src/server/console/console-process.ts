// The console process: terminals bridged away from Orion's main event loop. Orion forks it on the first terminal and
// hands it each terminal's TCP connection once the upgrade request passed every check (transport, ticket, session)
// and the target was resolved: this process completes the websocket handshake and runs the SSH session (ssh2), so a
// keystroke's round trip never waits behind a reconcile, a status write or a burst of failovers in Orion itself.
// It holds no store and no credentials but the one login each hand-off carries, and exits when Orion goes.
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { HandOff } from './console-host.js';
import { pickConsoleProtocol } from './protocol.js';
import { bridgeSsh } from './ssh-bridge.js';

const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024, handleProtocols: pickConsoleProtocol });

process.on('message', (message: HandOff, socket?: Socket) => {
  if (message?.type !== 'ssh' || !socket) return void socket?.destroy();
  // The upgrade request as ws reads it: its method, URL and headers (the checks were Orion's, before the hand-off).
  const request = { method: 'GET', url: message.request.url, headers: message.request.headers } as never;
  wss.handleUpgrade(request, socket, Buffer.from(message.head, 'base64'), (ws) => {
    ws.pause(); // the bridge resumes it: the terminal's first size is never lost
    void bridgeSsh(ws, message.endpoint).finally(() => process.send?.({ type: 'closed', id: message.id }));
  });
});

// Orion stopped (or crashed): its terminals go with it.
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' });
