// A run's log, followed live as it is written: a server-sent event stream whose events are lines (each id is the
// run and byte offset, so EventSource resumes exactly where it was after a network drop) and whose `end` event
// carries the result. ANSI colours are kept; only the lines in view are in the page (a long log stays fast), and
// the view follows the end unless the reader scrolled up.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ansiPieces } from '../lib/ansi.js';

const LINE_PX = 18;
const OVERSCAN = 20;

export interface LogEnd {
  state: string;
  message?: string | null;
  result?: string | null;
}

export function LogView({ url, label }: { url: string; label: string }) {
  const lines = useRef<string[]>([]);
  const [count, setCount] = useState(0);
  const [state, setState] = useState<'connecting' | 'pending' | 'live' | 'reconnecting'>('connecting');
  const [end, setEnd] = useState<LogEnd | undefined>();
  useEffect(() => {
    lines.current = [];
    setCount(0);
    setEnd(undefined);
    const source = new EventSource(url);
    let frame = 0;
    const flush = (): void => {
      frame = 0;
      setCount(lines.current.length);
    };
    source.onopen = () => setState('live');
    source.onerror = () => setState('reconnecting');
    source.onmessage = (e) => {
      lines.current.push(e.data as string);
      frame ||= requestAnimationFrame(flush);
    };
    source.addEventListener('pending', () => setState('pending'));
    source.addEventListener('end', (e) => {
      source.close();
      setEnd(JSON.parse((e as MessageEvent<string>).data) as LogEnd);
      flush();
    });
    return () => {
      source.close();
      cancelAnimationFrame(frame);
    };
  }, [url]);
  return (
    <section class="log" aria-label={label}>
      <p class="log-state" role="status">{end ? `Finished: ${end.state}${end.message ? ` — ${end.message}` : ''}` : stateText(state)}</p>
      <VirtualLines lines={lines.current} count={count} label={label} />
    </section>
  );
}

function stateText(state: string): string {
  if (state === 'pending') return 'Waiting for the run to start (PENDING)…';
  if (state === 'reconnecting') return 'Connection lost; reconnecting and resuming where it stopped…';
  if (state === 'live') return 'Following live (RUNNING)…';
  return 'Connecting…';
}

function VirtualLines({ lines, count, label }: { lines: string[]; count: number; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [height, setHeight] = useState(400);
  const follow = useRef(true);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    setHeight(el.clientHeight);
    if (follow.current) el.scrollTop = el.scrollHeight;
  }, [count]);
  const first = Math.max(0, Math.floor(top / LINE_PX) - OVERSCAN);
  const last = Math.min(count, Math.ceil((top + height) / LINE_PX) + OVERSCAN);
  const shown = lines.slice(first, last);
  return (
    <div
      ref={box}
      class="log-lines"
      role="log"
      aria-live="off"
      aria-label={`${label}: ${count} lines`}
      tabIndex={0}
      onScroll={(e) => {
        const el = e.currentTarget;
        setTop(el.scrollTop);
        follow.current = el.scrollTop + el.clientHeight >= el.scrollHeight - LINE_PX * 2;
      }}
    >
      <div style={{ height: `${count * LINE_PX}px`, position: 'relative' }}>
        {shown.map((line, i) => (
          <div class="log-line" key={first + i} style={{ top: `${(first + i) * LINE_PX}px` }}>
            {ansiPieces(line).map((p, j) => (p.className ? <span key={j} class={p.className}>{p.text}</span> : p.text))}
          </div>
        ))}
      </div>
    </div>
  );
}
