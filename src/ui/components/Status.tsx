// How an object is doing: its phase as a badge, its conditions as sentences.
import type { Condition } from '../portal/types.js';
import { conditionSentence } from '../lib/conditions.js';

const TONES: Record<string, string> = {
  Ready: 'good', Alive: 'good', Running: 'good', Succeeded: 'good', SUCCESS: 'good',
  Failed: 'bad', Dead: 'bad', Expired: 'bad', ERROR: 'bad', Unschedulable: 'warn',
  Migrating: 'warn', Releasing: 'warn', Deleting: 'warn', Stopped: 'muted', Unknown: 'muted',
};

export function Phase({ phase }: { phase: string | undefined }) {
  const text = phase ?? 'Pending';
  return <span class={`badge ${TONES[text] ?? 'busy'}`}>{text}</span>;
}

export function Conditions({ conditions }: { conditions: Condition[] | undefined }) {
  if (!conditions?.length) return <p class="muted">No conditions reported yet.</p>;
  return (
    <ul class="conditions">
      {conditions.map((c) => (
        <li key={c.type} class={c.status === 'True' ? 'ok' : c.status === 'False' ? 'not' : ''}>{conditionSentence(c)}</li>
      ))}
    </ul>
  );
}
