// A console page: the terminal of a rental's node or a lab machine, or the screen of a lab machine or a desktop's
// session (noVNC; Orion bridges both the same way). It asks for a
// ticket, connects, says how the connection is doing, and reconnects on request (a new ticket each time: tickets
// are single-use). xterm.js and noVNC are loaded only here.
import { useEffect, useRef, useState } from 'preact/hooks';
import { objectPath } from '../portal/http.js';
import { Link } from '../components/Link.js';

export interface ConsoleTarget {
  kind: 'ssh' | 'vnc';
  plural: 'rentals' | 'labs' | 'desktops';
  namespace: string;
  name: string;
  machine?: string;
}

function ticketPath(t: ConsoleTarget): string {
  const base = objectPath(t.plural, t.namespace, t.name);
  return t.machine ? `${base}/machines/${encodeURIComponent(t.machine)}/console` : `${base}/console`;
}

export function Console({ target }: { target: ConsoleTarget }) {
  const host = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState('connecting');
  const [message, setMessage] = useState('');
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let closed = false;
    let session: { close(): void } | undefined;
    const onStatus = (state: string, why?: string): void => {
      if (closed) return;
      setStatus(state);
      setMessage(why ?? '');
    };
    setStatus('connecting');
    setMessage('');
    (async () => {
      const { openConsoleSocket } = await import('../consoles/socket.js');
      const socket = await openConsoleSocket(ticketPath(target), { type: target.kind });
      if (closed || !host.current) return socket.close();
      if (target.kind === 'ssh') {
        const { attachTerminal } = await import('../consoles/terminal.js');
        session = attachTerminal(host.current, socket, onStatus);
      } else {
        const { attachVnc } = await import('../consoles/vnc.js');
        session = attachVnc(host.current, socket, onStatus);
      }
    })().catch((err: Error) => onStatus('closed', err.message));
    return () => {
      closed = true;
      session?.close();
      if (host.current) host.current.innerHTML = '';
    };
  }, [target.kind, target.plural, target.namespace, target.name, target.machine, attempt]);
  const what = target.machine ? `${target.name} / ${target.machine}` : target.plural === 'desktops' ? `desktop ${target.name}` : target.name;
  return (
    <>
      <h1>{target.kind === 'ssh' ? 'Terminal' : 'Screen'} of {what}</h1>
      <p class="console-state" role="status">
        {status === 'connected' ? 'Connected.' : status === 'closed' ? `Disconnected${message ? `: ${message}` : '.'}` : 'Connecting…'}{' '}
        {status === 'closed' && <button type="button" onClick={() => setAttempt(attempt + 1)}>Reconnect</button>}
      </p>
      <div ref={host} class={`console ${target.kind}`} role="application" aria-label={target.kind === 'ssh' ? `Terminal of ${what}` : `Screen of ${what}`} />
      <p><Link href={`/${target.plural}/${target.namespace}/${target.name}`}>Back to {target.name}</Link></p>
    </>
  );
}
