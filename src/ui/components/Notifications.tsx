// Notifications as they happen, in a polite live region (screen readers hear them without losing their place);
// each can be dismissed; news leaves by itself after a while, warnings stay until dismissed (the newest five show).
import { dismiss, notices } from '../portal/events.js';
import { useValue } from '../lib/observable.js';

export function Notifications() {
  const list = useValue(notices);
  return (
    <div class="notices" role="status" aria-live="polite" aria-label="Notifications">
      {list.map((n) => (
        <div key={n.id} class={`notice ${n.tone}`}>
          <span>{n.text}</span>
          <button type="button" class="small" aria-label="Dismiss notification" onClick={() => dismiss(n.id)}>×</button>
        </div>
      ))}
    </div>
  );
}
