// The consoles' websocket subprotocol: a browser offers it with its ticket ("ticket.<ticket>"), and the server picks
// it (the web app has its own copy: src/ui/consoles/socket.ts).
export const CONSOLE_PROTOCOL = 'orion.console.v1';
export const TICKET_PREFIX = 'ticket.';

/** The protocol a server answers with: the console's, or none (the handshake is refused). */
export function pickConsoleProtocol(offered: Set<string>): string | false {
  return offered.has(CONSOLE_PROTOCOL) ? CONSOLE_PROTOCOL : false;
}
