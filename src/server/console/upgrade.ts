// The consoles' websockets (/console/ssh, /console/vnc). An upgrade must pass the transport rules (a host this server
// answers to, and an Origin of its own: no cross-site websocket hijacking), present a live ticket in its subprotocol
// list, and — when the browser sends a session cookie — belong to the person the ticket was issued to. The object is
// then read again and must still be the person's to see; the target is resolved as it is now, and bridged: a
// terminal by the console process (console-host.ts) when its connection can go there, else here, as a screen is.
// Each opening is an Event on the object naming who opened it; tickets and keys are never logged.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Resource } from '../../api/types.js';
import { logger, type Logger } from '../../telemetry/logger.js';
import type { Access } from '../auth/access.js';
import type { SessionBook } from '../auth/sessions.js';
import type { TransportRule } from '../transport.js';
import { ConsoleProcessUnavailable, type ConsoleHost } from './console-host.js';
import { CONSOLE_PROTOCOL, TICKET_PREFIX, pickConsoleProtocol } from './protocol.js';
import { bridgeSsh, status } from './ssh-bridge.js';
import { ConsoleUnavailable, type ConsoleTargets, type SshEndpoint } from './targets.js';
import { CONSOLE_PATHS } from './routes.js';
import type { Ticket, TicketBook } from './tickets.js';
import { bridgeVnc } from './vnc-bridge.js';

export { CONSOLE_PROTOCOL } from './protocol.js';

export interface ConsoleGate {
  tickets: TicketBook;
  targets: ConsoleTargets;
  access: Access;
  sessions: SessionBook;
  transport: TransportRule;
  /** The console process terminals are handed to; without it, every console is bridged here. */
  host?: ConsoleHost;
}

/** An upgrade request that passed the checks, its connection not answered yet. */
interface Upgrade {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
}

/** Where a console goes, resolved before the handshake: a terminal's login, or why it cannot open. */
type Resolved = { obj: Resource; ssh?: SshEndpoint } | { failure: string; code: number };

export function attachConsoles(server: Server, gate: ConsoleGate): void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024, handleProtocols: pickConsoleProtocol });
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
      return open(gate, wss, { req, socket, head }, ticket);
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

/**
 * Opens the console: the object read again and the terminal's login resolved before the handshake, so that the
 * connection can go to the console process with it; a screen, a failure to tell, or a connection that cannot change
 * process is answered here.
 */
async function open(gate: ConsoleGate, wss: WebSocketServer, upgrade: Upgrade, ticket: Ticket): Promise<void> {
  const { target, identity } = ticket;
  const where = `${target.kind} ${target.namespace}/${target.name}${target.machine ? `/${target.machine}` : ''}`;
  const resolved = await resolve(gate, ticket, where);
  const log = logger.child({ console: target.type, target: where, user: identity.name });
  const started = Date.now();
  if ('obj' in resolved) await opened(gate, resolved.obj, ticket, log);
  try {
    if ('obj' in resolved && resolved.ssh && gate.host?.takes(upgrade.socket, resolved.ssh)) {
      try {
        return await gate.host.handOff(upgrade.socket, upgrade.req, upgrade.head, resolved.ssh);
      } catch (err) {
        if (!(err instanceof ConsoleProcessUnavailable)) throw err;
        log.warn({ err: err.message }, 'the terminal is bridged in Orion itself');
      }
    }
    // Nothing the browser sends (its terminal size first) may be lost while the way to the machine opens: the socket
    // is not read until a bridge listens (the bridges resume it).
    const ws = await new Promise<WebSocket>((done) => wss.handleUpgrade(upgrade.req, upgrade.socket, upgrade.head, (ws) => {
      ws.pause();
      done(ws);
    }));
    await serve(gate, ws, ticket, resolved);
  } finally {
    if ('obj' in resolved) log.info({ seconds: Math.round((Date.now() - started) / 1000) }, 'console closed');
  }
}

async function resolve(gate: ConsoleGate, ticket: Ticket, where: string): Promise<Resolved> {
  const { target, identity } = ticket;
  const obj = gate.targets.store.get({ kind: target.kind as never, namespace: target.namespace, name: target.name });
  if (!obj || !gate.access.sees(identity, obj)) return { failure: `${where} is gone`, code: 1008 };
  if (target.type !== 'ssh') return { obj };
  try {
    return { obj, ssh: await gate.targets.ssh(obj, target) };
  } catch (err) {
    return { failure: failureMessage(err), code: 1011 };
  }
}

/** The Event on the object naming who opened its console, and the log line. */
async function opened(gate: ConsoleGate, obj: Resource, { target, identity }: Ticket, log: Logger): Promise<void> {
  const what = `${target.type === 'ssh' ? 'terminal' : 'screen'}${target.machine ? ` of ${target.machine}` : ''}`;
  await gate.targets.store.recordEvent(obj, { type: 'Normal', reason: 'ConsoleOpened', message: `${what} opened by ${identity.name} through the portal` }).catch(() => undefined);
  log.info('console opened');
}

/** Bridges the console here: a terminal, a screen, or the reason it cannot open. */
async function serve(gate: ConsoleGate, ws: WebSocket, ticket: Ticket, resolved: Resolved): Promise<void> {
  try {
    if ('failure' in resolved) return closeWith(ws, resolved.failure, resolved.code);
    if (resolved.ssh) return await bridgeSsh(ws, resolved.ssh);
    await bridgeVnc(ws, await (await gate.targets.vnc(resolved.obj, ticket.target)).connect());
  } catch (err) {
    closeWith(ws, failureMessage(err), 1011);
  }
}

function closeWith(ws: WebSocket, message: string, code: number): void {
  status(ws, 'closed', message);
  ws.resume(); // the closing handshake reads the browser's answer
  ws.close(code, message.slice(0, 120));
}

function failureMessage(err: unknown): string {
  return err instanceof ConsoleUnavailable ? err.message : `the console could not connect: ${(err as Error).message}`;
}

function refuse(socket: Duplex, code: number, message: string): void {
  socket.end(`HTTP/1.1 ${code} ${code === 404 ? 'Not Found' : code === 401 ? 'Unauthorized' : code === 421 ? 'Misdirected Request' : 'Forbidden'}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${message}\n`);
}
