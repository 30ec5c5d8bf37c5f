// A console connector for test beds whose machines live in a network namespace (the libvirt harness): each
// connection is a small relay, `ip netns exec <ns> node`, that connects to HOST:PORT in there and pipes its bytes
// through its stdin and stdout. Production Orion connects over TCP; only where it reaches a machine changes.
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import type { Connector } from '../../src/server/console/resolvers.js';

const RELAY = `
const socket = require('net').connect(Number(process.env.RELAY_PORT), process.env.RELAY_HOST);
socket.on('connect', () => process.stderr.write('connected\\n'));
process.stdin.pipe(socket);
socket.pipe(process.stdout);
socket.on('close', () => process.exit(0));
socket.on('error', (err) => { process.stderr.write(err.message + '\\n'); process.exit(1); });
`;

export function netnsConnector(netns: string): Connector {
  return (host, port) =>
    new Promise((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', RELAY], {
        env: { ...process.env, RELAY_HOST: host, RELAY_PORT: String(port) },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let settled = false;
      child.stderr.setEncoding('utf8').on('data', (text: string) => {
        if (settled) return;
        settled = true;
        if (text.startsWith('connected')) {
          const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
          stream.on('close', () => child.kill());
          resolve(stream);
        } else {
          reject(new Error(text.trim()));
        }
      });
      child.once('exit', (code) => {
        if (!settled) reject(new Error(`relay to ${host}:${port} exited (${code})`));
      });
    });
}
