// The live feed of Events, newest first: what Orion did and what went wrong, as it happens.
import { feed } from '../portal/events.js';
import { useValue } from '../lib/observable.js';
import { clock } from '../lib/time.js';

export function Events() {
  const events = useValue(feed);
  return (
    <>
      <h1>Events</h1>
      {events.length === 0 ? <p class="empty">Nothing has happened since Orion started.</p> : (
        <ol class="feed" aria-label="Events, newest first">
          {events.map((e) => (
            <li key={e.seq} class={e.type === 'Warning' ? 'warn' : ''}>
              <time dateTime={e.at}>{clock(e.at)}</time> <strong>{e.reason}</strong> {e.object.kind} {e.object.namespace}/{e.object.name}: {e.message}
            </li>
          ))}
        </ol>
      )}
    </>
  );
}
