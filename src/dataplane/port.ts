// Loopback port checks: is a port free, and does it answer with an SSH banner.
import net from 'node:net';

export const LOOPBACK = '127.0.0.1';

/** Throws when something already listens on 127.0.0.1:`port` (a stale worker, another test...). */
export async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new Error(`port ${LOOPBACK}:${port} is not free (${err.code ?? err.message})`));
    });
    server.listen({ host: LOOPBACK, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** True when 127.0.0.1:`port` sends an "SSH-" identification line within `timeoutMs`. */
export function answersWithSshBanner(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: LOOPBACK, port });
    let received = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(received.startsWith('SSH-')));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes('\n') || received.length >= 4) finish(received.startsWith('SSH-'));
    });
  });
}
