// Opening a console: a single-use ticket for this person and this target (POST …/console), then a websocket that
// presents it as a subprotocol — never in the URL, which proxies and logs keep.
import { api } from '../portal/http.js';

export interface Ticket {
  ticket: string;
  path: string;
}

export const CONSOLE_PROTOCOL = 'orion.console.v1';

export async function openConsoleSocket(ticketPath: string, body: unknown = {}): Promise<WebSocket> {
  const { ticket, path } = await api<Ticket>('POST', ticketPath, body);
  const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
  const socket = new WebSocket(url, [CONSOLE_PROTOCOL, `ticket.${ticket}`]);
  socket.binaryType = 'arraybuffer';
  return socket;
}
