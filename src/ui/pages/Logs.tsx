// An object's runs (every Ansible and Terraform run is a job with a state and a log), and the chosen run's log,
// followed live while it runs.
import { useEffect, useState } from 'preact/hooks';
import { api, objectPath } from '../portal/http.js';
import { LogView } from '../components/LogView.js';
import { Phase } from '../components/Status.js';
import { NotFound } from '../components/Table.js';
import { ago } from '../lib/time.js';

interface Run { id: string; state: string; startedAt?: string; name?: string; operation?: string; log: string }

export function Logs({ plural, namespace, name }: { plural: string; namespace: string; name: string }) {
  const [runs, setRuns] = useState<Run[] | undefined>();
  const [missing, setMissing] = useState(false);
  const [chosen, setChosen] = useState<string | undefined>();
  useEffect(() => {
    const load = (): void =>
      void api<{ items: Run[] }>('GET', `${objectPath(plural, namespace, name)}/runs`).then(
        (r) => setRuns(r.items),
        () => setMissing(true),
      );
    load();
    const t = setInterval(load, 5000);
    return () => clearInterval(t);
  }, [plural, namespace, name]);
  if (missing) return <NotFound what={`${plural.replace(/s$/, '')} ${name}`} back={`/${plural}`} />;
  const selected = runs?.find((r) => r.id === chosen);
  const url = selected ? `${selected.log}?follow=true` : `${objectPath(plural, namespace, name)}/log?follow=true`;
  return (
    <>
      <h1>Runs of {name}</h1>
      {runs && runs.length > 0 && (
        <div class="field inline">
          <label for="run-pick">Run</label>
          <select id="run-pick" value={chosen ?? ''} onChange={(e) => setChosen(e.currentTarget.value || undefined)}>
            <option value="">The running or newest run</option>
            {runs.map((r) => <option key={r.id} value={r.id}>{r.id.split('.').slice(-1)[0]} — {r.state}, {ago(r.startedAt)}</option>)}
          </select>
          {selected && <Phase phase={selected.state} />}
        </div>
      )}
      <LogView url={url} label={`Log of ${name}`} />
    </>
  );
}
