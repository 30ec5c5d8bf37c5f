// A graphical console over a websocket: noVNC in the browser speaks RFB; Orion relays its bytes to the machine's
// VNC server and back, unchanged (binary frames), with backpressure both ways.
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

const MAX_BUFFERED = 8 * 1024 * 1024;

export function bridgeVnc(ws: WebSocket, vnc: Duplex): Promise<void> {
  // The browser may have left while the connection was being opened: nothing would ever close it (an open
  // connection to the screen keeps a desktop in use).
  if (ws.readyState !== ws.OPEN) {
    vnc.destroy();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    let done = false;
    const finish = (reason?: string): void => {
      if (done) return;
      done = true;
      vnc.destroy();
      if (ws.readyState === ws.OPEN) ws.close(1000, (reason ?? 'closed').slice(0, 120));
      resolve();
    };
    vnc.on('data', (chunk: Buffer) => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(chunk, { binary: true });
      if (ws.bufferedAmount > MAX_BUFFERED) {
        vnc.pause();
        setTimeout(() => vnc.resume(), 20);
      }
    });
    vnc.on('end', () => finish('the VNC server closed the connection'));
    vnc.on('close', () => finish('the VNC server closed the connection'));
    vnc.on('error', (err) => finish(`VNC: ${err.message}`));
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return;
      const ok = vnc.write(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer));
      if (!ok) {
        ws.pause();
        vnc.once('drain', () => ws.resume());
      }
    });
    ws.on('close', () => finish());
    ws.on('error', () => finish());
    ws.resume();
  });
}
