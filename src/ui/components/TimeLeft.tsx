// The time left before a TTL or an idle timeout ends something, ticking, with a visible warning when it is near.
import { useEffect, useState } from 'preact/hooks';
import { duration } from '../lib/time.js';

export function TimeLeft({ until, what, warnSeconds = 600 }: { until: number | undefined; what: string; warnSeconds?: number }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  if (until === undefined || Number.isNaN(until)) return <span class="muted">no time limit</span>;
  const left = until - now;
  if (left <= 0) return <span class="badge bad">{what} now</span>;
  const warn = left <= warnSeconds * 1000;
  return (
    <span class={warn ? 'warning' : ''}>
      {warn && <strong>Warning: </strong>}
      {duration(left)} left before {what}
    </span>
  );
}
