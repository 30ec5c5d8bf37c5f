// Copies a value (a command, a host) to the clipboard and says so where screen readers hear it.
import { useState } from 'preact/hooks';

export function CopyButton({ value, label }: { value: string; label: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(value);
    } catch {
      // no clipboard permission (plain HTTP on another host): select-and-copy by hand still works
      return;
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <span class="copy">
      <code>{value}</code>
      <button type="button" class="small" onClick={copy} aria-label={`Copy ${label}`}>
        {copied ? 'Copied' : 'Copy'}
      </button>
      <span class="sr-only" role="status">{copied ? `${label} copied` : ''}</span>
    </span>
  );
}
