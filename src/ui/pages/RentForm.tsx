// "Rent a machine": which kind (the admin's RentalClasses, when there is a choice), how long (or until released, when
// the class has no longest lease) and which public keys may log in (the ones registered with the person's token when
// left empty). The portal answers at once: placed (the rental page follows it to Ready), or
// no node free, or a quota reached — said beside the form, nothing left behind.
import { useState } from 'preact/hooks';
import { useChoices, type RentalClassChoice } from '../portal/choices.js';
import { api, ApiError, type FieldError } from '../portal/http.js';
import { errorFor, Field } from '../components/Field.js';
import { navigate } from '../lib/router.js';

const TTLS: Array<[string, number | undefined]> = [['Until I release it', undefined], ['1 hour', 3600], ['4 hours', 14400], ['1 day', 86400], ['1 week', 604800]];

export function RentForm() {
  const { choices, error: loadError } = useChoices();
  const [ttl, setTtl] = useState('');
  const [className, setClassName] = useState('');
  const [keys, setKeys] = useState('');
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);
  if (loadError) return <p class="error">{loadError}</p>;
  if (!choices) return <p>Loading…</p>;
  if (!choices.rental.offered) return <p>Renting machines is not offered to you here.</p>;
  const full = choices.rental.limit !== null && choices.rental.held >= choices.rental.limit;
  const classes = choices.rental.classes ?? [];
  const chosen = chosenClass(classes, className);
  const ttls = ttlsWithin(classes, chosen);
  const lease = ttl || String(ttls[0]?.[1] ?? ''); // the select shows its first option until one is picked
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setErrors([]);
    setProblem('');
    const lines = keys.split('\n').map((k) => k.trim()).filter(Boolean);
    try {
      const answer = await api<{ name: string }>('POST', '/api/rent?wait=false', {
        ...(lease ? { ttlSeconds: Number(lease) } : {}),
        ...(chosen ? { className: chosen } : {}),
        ...(lines.length ? { sshPublicKeys: lines } : {}),
      });
      navigate(`/rentals/${choices.namespace}/${answer.name}`);
    } catch (err) {
      const fields = err instanceof ApiError ? err.fields : [];
      setErrors(fields);
      if (!errorFor(fields, 'spec.ttlSeconds', 'spec.sshPublicKeys', 'spec.className')) setProblem(rentProblem(err as Error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-describedby={problem ? 'rent-problem' : undefined}>
      <h1>Rent a machine</h1>
      {full && <p class="warning">You hold {choices.rental.held} of your {choices.rental.limit} rental(s): release one first.</p>}
      <ClassField classes={classes} value={chosen ?? ''} error={errorFor(errors, 'spec.className')} onChange={(name) => { setClassName(name); setTtl(''); }} />
      <Field id="rent-ttl" label="For how long" error={errorFor(errors, 'spec.ttlSeconds')}>
        {(a11y) => (
          <select {...a11y} value={ttl} onChange={(e) => setTtl(e.currentTarget.value)}>
            {ttls.map(([text, seconds]) => <option key={text} value={seconds ?? ''}>{text}</option>)}
          </select>
        )}
      </Field>
      <Field
        id="rent-keys"
        label="SSH public keys (one per line)"
        hint={choices.rental.registeredKeys > 0 ? `Leave empty to use the ${choices.rental.registeredKeys} key(s) registered with your token.` : 'Paste your public key (ssh-ed25519 AAAA… you@laptop).'}
        error={errorFor(errors, 'spec.sshPublicKeys')}
      >
        {(a11y) => <textarea {...a11y} rows={3} value={keys} onInput={(e) => setKeys(e.currentTarget.value)} required={choices.rental.registeredKeys === 0} />}
      </Field>
      {problem && <p id="rent-problem" class="error" role="alert">{problem}</p>}
      <button type="submit" class="primary" disabled={busy || full}>Rent</button>
    </form>
  );
}

/** The admin's RentalClasses to choose from, when there is a choice (the default one is sent as no className). */
function ClassField(props: { classes: RentalClassChoice[]; value: string; error: string | undefined; onChange: (name: string) => void }) {
  if (props.classes.length < 2) return null;
  return (
    <Field id="rent-class" label="Kind of machine" error={props.error}>
      {(a11y) => (
        <select {...a11y} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
          {props.classes.map((c) => <option key={c.name} value={c.default ? '' : c.name}>{c.name}{c.default ? ' (default)' : ''}</option>)}
        </select>
      )}
    </Field>
  );
}

/** The class to name: the one picked, else none when there is a default (it applies), else the first. */
function chosenClass(classes: RentalClassChoice[], picked: string): string | undefined {
  if (picked) return picked;
  return classes.some((c) => c.default) ? undefined : classes[0]?.name;
}

/** The lease lengths the class allows: none longer than its longest, and "until released" only without one. */
function ttlsWithin(classes: RentalClassChoice[], name: string | undefined): Array<[string, number | undefined]> {
  const max = (classes.find((c) => c.name === name) ?? classes.find((c) => c.default))?.maxTtlSeconds;
  return max === undefined ? TTLS : TTLS.filter(([, seconds]) => seconds !== undefined && seconds <= max);
}

function rentProblem(err: Error): string {
  if (err instanceof ApiError && err.status === 503) return 'No machine is free right now. Try again in a little while.';
  return err.message;
}
