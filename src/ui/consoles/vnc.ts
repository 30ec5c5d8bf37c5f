// The graphical console: noVNC's RFB client on a websocket that Orion bridges to the machine's VNC server
// (wherever the hypervisor exposes it). The socket is opened with its ticket first and handed to RFB.
import RFB from '@novnc/novnc';

export interface VncSession {
  close(): void;
}

export function attachVnc(host: HTMLElement, socket: WebSocket, onStatus: (state: string, message?: string) => void): VncSession {
  const rfb = new RFB(host, socket, { shared: true });
  rfb.scaleViewport = true;
  rfb.background = '#111';
  rfb.addEventListener('connect', () => onStatus('connected'));
  rfb.addEventListener('disconnect', (e: Event) => onStatus('closed', (e as CustomEvent<{ clean: boolean }>).detail.clean ? undefined : 'the connection was lost'));
  rfb.addEventListener('securityfailure', (e: Event) => onStatus('closed', `VNC security: ${(e as CustomEvent<{ reason?: string }>).detail.reason ?? 'refused'}`));
  return { close: () => rfb.disconnect() };
}
