// Which rows of a long table are near the screen: the rest are left out of the page (one spacer row stands for
// them), so a table of a thousand Nodes costs what a screenful costs. Rows have one fixed height (CSS), and the
// page itself scrolls: the window follows the table's position in the viewport.
import type { RefObject } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export interface RowWindow {
  first: number;
  last: number;
  /** The rows' height as drawn (measured; the CSS height until a row exists): the spacers use it. */
  rowPx: number;
}

export function useRowWindow(body: RefObject<HTMLElement | null>, count: number, cssRowPx: number, overscan = 15): RowWindow {
  const screenful = Math.ceil((typeof innerHeight === 'number' ? innerHeight : 800) / cssRowPx);
  const [range, setRange] = useState<RowWindow>({ first: 0, last: Math.min(count, screenful + overscan), rowPx: cssRowPx });
  useEffect(() => {
    const update = (): void => {
      const top = body.current?.getBoundingClientRect().top ?? 0;
      const row = body.current?.querySelector('tr:not(.spacer)')?.getBoundingClientRect().height;
      const rowPx = row && row > 0 ? row : cssRowPx;
      const first = Math.max(0, Math.floor(-top / rowPx) - overscan);
      const last = Math.min(count, Math.max(0, Math.ceil((innerHeight - top) / rowPx)) + overscan);
      setRange((r) => (r.first === first && r.last === last && r.rowPx === rowPx ? r : { first, last, rowPx }));
    };
    update();
    addEventListener('scroll', update, { passive: true });
    addEventListener('resize', update);
    return () => {
      removeEventListener('scroll', update);
      removeEventListener('resize', update);
    };
  }, [body, count, cssRowPx, overscan]);
  return { first: Math.min(range.first, count), last: Math.min(range.last, count), rowPx: range.rowPx };
}
