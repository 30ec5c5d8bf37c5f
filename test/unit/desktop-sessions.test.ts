// Parsing the session check's output. The fixtures are real output of SESSIONS_COMMAND (Debian 12: coreutils who,
// iproute2 6.1 ss): an SSH login with a pty on a loopback sshd worker, and two RDP-port connections on 127.0.0.1.
import { describe, expect, it } from 'vitest';
import { SESSIONS_COMMAND, SessionsOutputError, describeSessions, parseSessions } from '../../controllers/desktop/sessions.js';

const NOBODY = '--orion-rdp--\n';
const SSH_LOGIN = 'root     pts/0        Nov 21 23:12 (127.0.0.1)\n--orion-rdp--\n';
const RDP_TWO = '--orion-rdp--\n0      0      127.0.0.1:3389 127.0.0.1:49528\n0      0      127.0.0.1:3389 127.0.0.1:49530\n';
// who in a non-C locale prints ISO dates; a local console has no origin.
const ISO_CONSOLE = 'tom      tty7         2025-11-21 09:00\nroot     pts/1        2025-11-21 09:05 (10.0.0.20)\n--orion-rdp--\n';

describe('parseSessions', () => {
  it('finds no session on an idle machine', () => {
    expect(parseSessions(NOBODY)).toEqual({ logins: [], rdp: [], count: 0 });
  });

  it('counts an SSH login with a terminal', () => {
    const s = parseSessions(SSH_LOGIN);
    expect(s.count).toBe(1);
    expect(s.logins).toEqual([{ user: 'root', line: 'pts/0', from: '127.0.0.1' }]);
  });

  it('counts established RDP connections', () => {
    const s = parseSessions(RDP_TWO);
    expect(s.count).toBe(2);
    expect(s.rdp[0]).toEqual({ local: '127.0.0.1:3389', peer: '127.0.0.1:49528' });
    expect(describeSessions(s)).toBe('2 session(s): RDP from 127.0.0.1:49528, RDP from 127.0.0.1:49530');
  });

  it('reads ISO dates and consoles without an origin', () => {
    const s = parseSessions(ISO_CONSOLE);
    expect(s.logins).toEqual([{ user: 'tom', line: 'tty7' }, { user: 'root', line: 'pts/1', from: '10.0.0.20' }]);
  });

  it('counts the desktop in the browser: a connection to the VNC server on the loopback', () => {
    const s = parseSessions('--orion-rdp--\n0      0      127.0.0.1:5900 127.0.0.1:40112\n');
    expect(s.count).toBe(1);
    expect(describeSessions(s)).toBe('1 session(s): the browser (VNC)');
  });

  it('accepts ss output that starts with the state column (older iproute2)', () => {
    expect(parseSessions('--orion-rdp--\nESTAB 0 0 10.0.0.150:3389 10.0.0.20:51234\n').rdp).toEqual([{ local: '10.0.0.150:3389', peer: '10.0.0.20:51234' }]);
  });

  it('refuses output the command does not print (no separator, or a shell error)', () => {
    expect(() => parseSessions('')).toThrow(SessionsOutputError);
    expect(() => parseSessions('--orion-rdp--\nsh: 1: ss: not found\n')).toThrow(SessionsOutputError);
  });

  it('is one fixed command', () => {
    expect(SESSIONS_COMMAND).toBe("LC_ALL=C who; echo --orion-rdp--; LC_ALL=C ss -Htn state established '( sport = :3389 or sport = :5900 )'");
  });
});
