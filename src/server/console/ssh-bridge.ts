// A terminal over a websocket: the browser's xterm.js on one side, an SSH shell (ssh2) on the other, with the host
// key pinned (only the pinned key's algorithm is negotiated, and the key shown must be that one). Binary frames are
// the terminal's bytes both ways; text frames are control messages: {"type":"resize","cols","rows"} from the
// browser, {"type":"status","state","message"} to it.
import ssh2, { type ClientChannel, type ConnectConfig, type ServerHostKeyAlgorithm } from 'ssh2';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { SshEndpoint } from './targets.js';

const READY_TIMEOUT_MS = 15_000;
const KEEPALIVE_MS = 15_000;
const MAX_BUFFERED = 4 * 1024 * 1024;

interface Size {
  cols: number;
  rows: number;
}

export async function bridgeSsh(ws: WebSocket, endpoint: SshEndpoint): Promise<void> {
  const sock = endpoint.sock ? await endpoint.sock() : undefined;
  // The browser may have left while the way to the machine was being opened: no login for nobody (an SSH login
  // with a terminal counts as a session, and nothing would end it).
  if (ws.readyState !== ws.OPEN) {
    sock?.destroy();
    return;
  }
  return new Promise((resolve) => {
    const client = new ssh2.Client();
    let size: Size = { cols: 80, rows: 24 };
    let shell: ClientChannel | undefined;
    let done = false;
    const finish = (message?: string): void => {
      if (done) return;
      done = true;
      status(ws, 'closed', message);
      if (ws.readyState === ws.OPEN) ws.close(1000, (message ?? 'closed').slice(0, 120));
      client.end();
      resolve();
    };
    ws.on('message', (data, isBinary) => {
      if (isBinary) return void shell?.write(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer));
      const control = parseControl(data.toString());
      if (control) {
        size = control;
        shell?.setWindow(size.rows, size.cols, 0, 0);
      }
    });
    ws.on('close', () => finish());
    ws.on('error', () => finish());
    ws.resume();
    client.on('ready', () => {
      const asked = size;
      client.shell({ term: 'xterm-256color', cols: asked.cols, rows: asked.rows }, (err, stream) => {
        if (err) return finish(`the shell could not start: ${err.message}`);
        shell = stream;
        // A size that came while the shell was opening is the terminal's latest: the shell gets it now.
        if (size !== asked) stream.setWindow(size.rows, size.cols, 0, 0);
        status(ws, 'connected');
        const forward = (chunk: Buffer): void => {
          if (ws.readyState !== ws.OPEN) return;
          ws.send(chunk, { binary: true });
          if (ws.bufferedAmount > MAX_BUFFERED) {
            stream.pause();
            setTimeout(() => stream.resume(), 50);
          }
        };
        stream.on('data', forward);
        stream.stderr.on('data', forward);
        stream.on('close', () => finish('the shell ended'));
      });
    });
    // Keystrokes are tiny writes: no Nagle delay on the SSH connection (ssh2 leaves it on).
    client.on('connect', () => client.setNoDelay(true));
    client.on('error', (err) => finish(describe(err, endpoint)));
    client.on('close', () => finish());
    try {
      client.connect(connectConfig(endpoint, sock));
    } catch (err) {
      finish(describe(err as Error, endpoint));
    }
  });
}

/** How ssh2 logs in to an endpoint: its key only, and only the pinned host key (its algorithm, its bytes). */
export function connectConfig(endpoint: SshEndpoint, sock?: Duplex): ConnectConfig {
  const [type = '', pinned = ''] = endpoint.hostKey.trim().split(/\s+/);
  return {
    ...(sock ? { sock: sock as ConnectConfig['sock'] } : { host: endpoint.host, port: endpoint.port }),
    username: endpoint.user,
    privateKey: endpoint.privateKey,
    authHandler: ['publickey'],
    tryKeyboard: false,
    readyTimeout: READY_TIMEOUT_MS,
    keepaliveInterval: KEEPALIVE_MS,
    algorithms: { serverHostKey: (type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type]) as ServerHostKeyAlgorithm[] },
    hostVerifier: (key: Buffer) => key.toString('base64') === pinned,
  };
}

function parseControl(text: string): Size | undefined {
  try {
    const m = JSON.parse(text) as { type?: string; cols?: unknown; rows?: unknown };
    const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= 1000;
    return m.type === 'resize' && ok(m.cols) && ok(m.rows) ? { cols: m.cols, rows: m.rows } : undefined;
  } catch {
    return undefined;
  }
}

export function status(ws: WebSocket, state: string, message?: string): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'status', state, ...(message ? { message } : {}) }));
}

/** What went wrong, for the person: never the key. */
export function describe(err: Error, endpoint: SshEndpoint): string {
  const level = (err as Error & { level?: string }).level;
  if (/host key|hostVerifier|verification/i.test(err.message) || level === 'client-hostverify') return `the SSH host key of ${endpoint.label} is not the pinned one: refused`;
  if (level === 'client-authentication') return `${endpoint.label} refused the console's key for ${endpoint.user}`;
  if (level === 'client-timeout') return `${endpoint.label} did not answer in time`;
  return `cannot reach ${endpoint.label}: ${err.message}`;
}
