// Whether anyone uses a desktop, as the machine itself sees it: one fixed command over SSH lists the logins that
// hold a terminal (`who`: SSH sessions with a pty, consoles) and the established connections to xrdp on 3389
// (`ss`: RDP clients) and to the session's VNC server on the machine's loopback (5900: the desktop in the browser,
// which Orion tunnels through SSH). The controller's own check runs without a pty, so it never counts itself. A
// desktop whose RDP client disconnected keeps its xrdp session on the machine but has no connection: it counts as idle.
import { DESKTOP_VNC_PORT } from '../../src/api/desktop-ports.js';

export const RDP_PORT = 3389;
/** x11vnc's port on the machine's loopback: the desktop in the browser. */
export const VNC_PORT = DESKTOP_VNC_PORT;
const SEPARATOR = '--orion-rdp--';

/** The command run on the machine (by its login shell). Fixed: nothing from the spec is ever put in it. */
export const SESSIONS_COMMAND = `LC_ALL=C who; echo ${SEPARATOR}; LC_ALL=C ss -Htn state established '( sport = :${RDP_PORT} or sport = :${VNC_PORT} )'`;

export interface Login {
  user: string;
  line: string;
  from?: string;
}

export interface RdpConnection {
  local: string;
  peer: string;
}

export interface Sessions {
  logins: Login[];
  /** Connections to the screen: RDP clients, and browsers through Orion's VNC tunnel (local port VNC_PORT). */
  rdp: RdpConnection[];
  /** Logins plus RDP and browser (VNC) connections. */
  count: number;
}

export class SessionsOutputError extends Error {
  override name = 'SessionsOutputError';
}

// "root     pts/0        Nov 21 23:10 (127.0.0.1)" (C locale; "2025-11-21 23:10" in others): user, line, login
// time, and the origin in parentheses when there is one (not for local consoles).
const WHO_LINE = /^(\S+)\s+(\S+)\s+(\S.*?)(?:\s+\(([^()]*)\))?\s*$/;
// "0      0      10.0.0.150:3389     10.0.0.20:51234" — older ss versions print the state first.
const SS_LINE = /^(?:[A-Z][A-Z0-9-]*\s+)?\d+\s+\d+\s+(\S+)\s+(\S+)(?:\s.*)?$/;

/** Parses the output of SESSIONS_COMMAND; throws SessionsOutputError when it is not what the command prints. */
export function parseSessions(output: string): Sessions {
  const lines = output.split('\n').map((l) => l.trimEnd());
  const split = lines.indexOf(SEPARATOR);
  if (split < 0) throw new SessionsOutputError('the output has no separator line: the command did not run as expected');
  const logins = lines.slice(0, split).filter((l) => l.trim() !== '').map(parseWho);
  const rdp = lines.slice(split + 1).filter((l) => l.trim() !== '').map(parseSs);
  return { logins, rdp, count: logins.length + rdp.length };
}

function parseWho(line: string): Login {
  const m = WHO_LINE.exec(line);
  if (!m) throw new SessionsOutputError(`unexpected who line: ${JSON.stringify(line.slice(0, 120))}`);
  return { user: m[1] as string, line: m[2] as string, ...(m[4] ? { from: m[4] } : {}) };
}

function parseSs(line: string): RdpConnection {
  const m = SS_LINE.exec(line.trim());
  if (!m) throw new SessionsOutputError(`unexpected ss line: ${JSON.stringify(line.slice(0, 120))}`);
  return { local: m[1] as string, peer: m[2] as string };
}

/** A one-line description for status and logs: "2 session(s): root on pts/0, RDP from 10.0.0.20:51234". */
export function describeSessions(s: Sessions): string {
  if (s.count === 0) return 'no session';
  const screen = (c: RdpConnection): string => (c.local.endsWith(`:${VNC_PORT}`) ? 'the browser (VNC)' : `RDP from ${c.peer}`);
  const parts = [...s.logins.map((l) => `${l.user} on ${l.line}`), ...s.rdp.map(screen)];
  return `${s.count} session(s): ${parts.join(', ')}`;
}
