// The consoles' websockets (/console/ssh, /console/vnc). An upgrade must pass the transport rules (a host this server
// answers to, and an Origin of its own: no cross-site websocket hijacking), present a live ticket in its subprotocol
// list, and — when the browser sends a session cookie — belong to the person the ticket was issued to. The object is
// then read again and must still be the person's to see; the target is resolved as it is now, and bridged. Each
// opening is an Event on the object naming who opened it; tickets and keys are never logged.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { logger } from '../../telemetry/logger.js';
import type { Access } from '../auth/access.js';
import type { SessionBook } from '../auth/sessions.js';
import type { TransportRule } from '../transport.js';
import { bridgeSsh, status } from './ssh-bridge.js';
import { ConsoleUnavailable, type ConsoleTargets } from './targets.js';
import { CONSOLE_PATHS } from './routes.js';
import type { Ticket, TicketBook } from './tickets.js';
import { bridgeVnc } from './vnc-bridge.js';

export const CONSOLE_PROTOCOL = 'orion.console.v1';
const TICKET_PREFIX = 'ticket.';

export interface ConsoleGate {
  tickets: TicketBook;
  targets: ConsoleTargets;
  access: Access;
  sessions: SessionBook;
  transport: TransportRule;
}

export function attachConsoles(server: Server, gate: ConsoleGate): void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024, handleProtocols: (protocols) => (protocols.has(CONSOLE_PROTOCOL) ? CONSOLE_PROTOCOL : false) });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    const type = path === CONSOLE_PATHS.ssh ? 'ssh' : path === CONSOLE_PATHS.vnc ? 'vnc' : undefined;
    if (!type) return refuse(socket, 404, 'no websocket here');
    const refusal = gate.transport('POST', req.headers.host, req.headers.origin) ?? (!req.headers.origin ? { status: 403, detail: 'a console needs an Origin' } : undefined);
    if (refusal) return refuse(socket, refusal.status, refusal.detail);
    const ticket = redeem(gate, req);
    if (!ticket || ticket.target.type !== type) return refuse(socket, 401, 'no valid console ticket (they are single-use and live 30 s)');
    void sessionHolder(gate, req).then((holder) => {
      if (holder !== undefined && holder !== ticket.identity.name) return refuse(socket, 403, 'this ticket is not yours');
      wss.handleUpgrade(req, socket, head, (ws) => void serve(gate, ws, ticket));
    }, () => refuse(socket, 503, 'the session cannot be checked right now'));
  });
}

/** Who the browser's session cookie stands for, if it sends one (null: a cookie of an ended session). */
async function sessionHolder(gate: ConsoleGate, req: IncomingMessage): Promise<string | null | undefined> {
  const session = gate.sessions.of(req);
  if (!session) return undefined;
  const identity = session.identity ?? (session.token ? await gate.access.authenticate(session.token) : undefined);
  return identity?.name ?? null;
}

function redeem(gate: ConsoleGate, req: IncomingMessage): Ticket | undefined {
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  if (!offered.includes(CONSOLE_PROTOCOL)) return undefined;
  const ticket = offered.find((p) => p.startsWith(TICKET_PREFIX))?.slice(TICKET_PREFIX.length);
  return ticket ? gate.tickets.redeem(ticket) : undefined;
}

async function serve(gate: ConsoleGate, ws: WebSocket, ticket: Ticket): Promise<void> {
  // Nothing the browser sends (its terminal size first) may be lost while the target is resolved: the socket is
  // not read until a bridge listens (the bridges resume it).
  ws.pause();
  const { target, identity } = ticket;
  const obj = gate.targets.store.get({ kind: target.kind as never, namespace: target.namespace, name: target.name });
  const where = `${target.kind} ${target.namespace}/${target.name}${target.machine ? `/${target.machine}` : ''}`;
  if (!obj || !gate.access.sees(identity, obj)) {
    status(ws, 'closed', `${where} is gone`);
    ws.resume();
    return void ws.close(1008, 'not found');
  }
  const started = Date.now();
  const log = logger.child({ console: target.type, target: where, user: identity.name });
  try {
    await gate.targets.store.recordEvent(obj, { type: 'Normal', reason: 'ConsoleOpened', message: `${target.type === 'ssh' ? 'terminal' : 'screen'}${target.machine ? ` of ${target.machine}` : ''} opened by ${identity.name} through the portal` }).catch(() => undefined);
    log.info('console opened');
    if (target.type === 'ssh') await bridgeSsh(ws, await gate.targets.ssh(obj, target));
    else await bridgeVnc(ws, await (await gate.targets.vnc(obj, target)).connect());
  } catch (err) {
    const message = err instanceof ConsoleUnavailable ? err.message : `the console could not connect: ${(err as Error).message}`;
    status(ws, 'closed', message);
    ws.resume();
    ws.close(1011, message.slice(0, 120));
  } finally {
    log.info({ seconds: Math.round((Date.now() - started) / 1000) }, 'console closed');
  }
}

function refuse(socket: Duplex, code: number, message: string): void {
  socket.end(`HTTP/1.1 ${code} ${code === 404 ? 'Not Found' : code === 401 ? 'Unauthorized' : code === 421 ? 'Misdirected Request' : 'Forbidden'}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${message}\n`);
}
