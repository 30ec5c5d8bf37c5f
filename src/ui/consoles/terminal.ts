// The SSH console: xterm.js over a websocket to Orion, which holds the SSH session (ssh2, host key pinned) to the
// rental's node as its tenant or to a lab machine as its Ansible user. Binary frames carry the terminal's bytes
// both ways; text frames carry control messages (resize from here, status from there).
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';

export interface TerminalSession {
  close(): void;
}

export function attachTerminal(host: HTMLElement, socket: WebSocket, onStatus: (state: string, message?: string) => void): TerminalSession {
  const term = new Terminal({ cursorBlink: true, fontSize: 14, scrollback: 5000, convertEol: false });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(host);
  fit.fit();
  const encoder = new TextEncoder();
  const sendSize = (): void => {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'resize', cols: term.cols, rows: term.rows }));
  };
  // The socket may have opened while this module loaded: send the size now, or as soon as it opens.
  if (socket.readyState === WebSocket.OPEN) sendSize();
  else socket.addEventListener('open', sendSize, { once: true });
  socket.onmessage = (e) => {
    if (typeof e.data === 'string') {
      const control = JSON.parse(e.data) as { type: string; state?: string; message?: string };
      if (control.type === 'status') onStatus(control.state ?? '', control.message);
      return;
    }
    term.write(new Uint8Array(e.data as ArrayBuffer));
  };
  socket.onclose = (e) => onStatus('closed', e.reason || undefined);
  const input = term.onData((data) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
  });
  const resize = term.onResize(() => sendSize());
  const observer = new ResizeObserver(() => fit.fit());
  observer.observe(host);
  term.focus();
  return {
    close() {
      observer.disconnect();
      input.dispose();
      resize.dispose();
      socket.close();
      term.dispose();
    },
  };
}
