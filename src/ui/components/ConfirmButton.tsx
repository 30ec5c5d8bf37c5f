// A button whose action needs a second, deliberate yes: a modal dialog (the native <dialog>: focus moves into it,
// Escape cancels) that names what will happen.
import type { ComponentChildren } from 'preact';
import { useRef, useState } from 'preact/hooks';

export interface ConfirmButtonProps {
  label: string;
  question: string;
  confirm: string;
  onConfirm: () => Promise<void> | void;
  danger?: boolean;
  disabled?: boolean;
  children?: ComponentChildren;
}

export function ConfirmButton(props: ConfirmButtonProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const go = async (): Promise<void> => {
    setBusy(true);
    setError('');
    try {
      await props.onConfirm();
      dialog.current?.close();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class={props.danger ? 'danger' : ''} disabled={props.disabled} onClick={() => dialog.current?.showModal()}>
        {props.label}
      </button>
      <dialog ref={dialog} aria-labelledby={`${props.label}-q`.replace(/\W/g, '-')}>
        <p id={`${props.label}-q`.replace(/\W/g, '-')}>{props.question}</p>
        {props.children}
        {error && <p class="error" role="alert">{error}</p>}
        <div class="actions">
          <button type="button" onClick={() => dialog.current?.close()}>Cancel</button>
          <button type="button" class={props.danger ? 'danger' : 'primary'} disabled={busy} onClick={go}>
            {props.confirm}
          </button>
        </div>
      </dialog>
    </>
  );
}
