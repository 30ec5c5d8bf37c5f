// Desktops: the person's own (an admin's: everyone's), with phase, the RDP endpoint to copy, the desktop in the
// browser once it is Ready (noVNC, the console page), and the time left before the TTL or the idle timeout destroys
// it (with a warning when near); extend and delete, confirmed.
import { useState } from 'preact/hooks';
import { useChoices } from '../portal/choices.js';
import { api } from '../portal/http.js';
import { actions, useObject, useObjects } from '../portal/objects.js';
import { ownerOf, type DesktopSpec, type DesktopStatus, type Resource } from '../portal/types.js';
import { ConfirmButton } from '../components/ConfirmButton.js';
import { CopyButton } from '../components/CopyButton.js';
import { Field } from '../components/Field.js';
import { Link } from '../components/Link.js';
import { Conditions, Phase } from '../components/Status.js';
import { Empty, NotFound, PageHead } from '../components/Table.js';
import { TimeLeft } from '../components/TimeLeft.js';
import { navigate } from '../lib/router.js';
import { duration } from '../lib/time.js';

type Desktop = Resource<DesktopSpec, DesktopStatus>;

function idleEnd(d: Desktop): number | undefined {
  return d.status?.idleSince && d.spec.idleTimeoutSeconds ? Date.parse(d.status.idleSince) + d.spec.idleTimeoutSeconds * 1000 : undefined;
}

function expires(d: Desktop): number | undefined {
  return d.status?.expiresAt ? Date.parse(d.status.expiresAt) : Date.parse(d.metadata.creationTimestamp) + d.spec.ttlSeconds * 1000;
}

export function DesktopList({ admin }: { admin: boolean }) {
  const { items, synced } = useObjects<Desktop>('desktops');
  return (
    <>
      <PageHead title={admin ? 'Desktops' : 'My desktops'} action={{ href: '/desktops/new', text: 'New desktop' }} />
      {items.length === 0 ? (
        <Empty synced={synced}>No desktops. A desktop is a fresh XFCE session reached by RDP, destroyed after its time.</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Desktops</caption>
            <thead><tr><th scope="col">Name</th>{admin && <th scope="col">Owner</th>}<th scope="col">Phase</th><th scope="col">RDP</th><th scope="col">Time left</th></tr></thead>
            <tbody>
              {items.map((d) => (
                <tr key={d.metadata.uid}>
                  <th scope="row"><Link href={`/desktops/${d.metadata.namespace}/${d.metadata.name}`}>{d.metadata.name}</Link></th>
                  {admin && <td>{ownerOf(d)}</td>}
                  <td><Phase phase={d.status?.phase} /></td>
                  <td>{d.status?.rdp ? <code>{d.status.rdp.host}:{d.status.rdp.port}</code> : '—'}</td>
                  <td><TimeLeft until={expires(d)} what="it is destroyed" warnSeconds={d.spec.warningSeconds ?? 600} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

export function DesktopDetail({ namespace, name }: { namespace: string; name: string }) {
  const { obj: d, synced } = useObject<Desktop>('desktops', namespace, name);
  const [extendBy, setExtendBy] = useState(3600);
  if (!d) return synced ? <NotFound what={`Desktop ${name}`} back="/desktops" /> : <p>Loading…</p>;
  const rdp = d.status?.rdp;
  return (
    <>
      <h1>Desktop {name} <Phase phase={d.status?.phase} /></h1>
      <dl class="facts">
        <dt>Login</dt><dd>{d.spec.user}</dd>
        <dt>Time left</dt><dd><TimeLeft until={expires(d)} what="it is destroyed (TTL)" warnSeconds={d.spec.warningSeconds ?? 600} /></dd>
        {idleEnd(d) !== undefined && (<><dt>Idle</dt><dd><TimeLeft until={idleEnd(d)} what="it is destroyed for being idle" warnSeconds={d.spec.warningSeconds ?? 600} /></dd></>)}
        {rdp && (<><dt>RDP</dt><dd><CopyButton value={`${rdp.host}:${rdp.port}`} label="RDP address" /></dd><dt>User</dt><dd><CopyButton value={rdp.user} label="RDP user" /></dd></>)}
      </dl>
      <h2>Conditions</h2>
      <Conditions conditions={d.status?.conditions} />
      <div class="actions">
        {d.status?.phase === 'Ready' && <Link class="button primary" href={`/console/desktops/${namespace}/${name}`}>Open desktop in browser</Link>}
        <Link class="button" href={`/logs/desktops/${namespace}/${name}`}>Runs and logs</Link>
        <ConfirmButton label="Extend" question={`Keep ${name} longer?`} confirm="Extend" onConfirm={async () => void (await actions.extend('desktops', d, extendBy))}>
          <Field id="extend-by" label="By">
            {(a11y) => (
              <select {...a11y} value={extendBy} onChange={(e) => setExtendBy(Number(e.currentTarget.value))}>
                {[1800, 3600, 14400].map((s) => <option key={s} value={s}>{duration(s * 1000)}</option>)}
              </select>
            )}
          </Field>
        </ConfirmButton>
        <ConfirmButton label="Delete" danger question={`Delete desktop ${name}? Its machine and everything on it are destroyed.`} confirm="Delete it" onConfirm={async () => {
          await actions.remove('desktops', d);
          navigate('/desktops');
        }} />
      </div>
    </>
  );
}

export function DesktopForm() {
  const { choices, error } = useChoices();
  const [hours, setHours] = useState(2);
  const [problem, setProblem] = useState('');
  if (error) return <p class="error">{error}</p>;
  if (!choices) return <p>Loading…</p>;
  if (!choices.desktop.offered) return <p>Desktops are not offered to you here.</p>;
  const maxHours = Math.max(1, Math.floor(choices.desktop.maxTtlSeconds / 3600));
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setProblem('');
    try {
      const created = await api<Resource>('POST', `/api/v1/namespaces/${choices.namespace}/desktops`, { metadata: { generateName: 'desktop' }, spec: { ttlSeconds: hours * 3600 } });
      navigate(`/desktops/${created.metadata.namespace}/${created.metadata.name}`);
    } catch (err) {
      setProblem((err as Error).message);
    }
  };
  return (
    <form class="card" onSubmit={submit}>
      <h1>New desktop</h1>
      <Field id="desktop-hours" label="For how many hours" hint={`At most ${maxHours} h (the admin's limit); you can extend it later.`} error={problem.includes('ttlSeconds') ? problem : undefined}>
        {(a11y) => <input {...a11y} type="number" min={1} max={maxHours} value={hours} onInput={(e) => setHours(Number(e.currentTarget.value))} />}
      </Field>
      {problem && !problem.includes('ttlSeconds') && <p class="error" role="alert">{problem}</p>}
      <button type="submit" class="primary">Create desktop</button>
    </form>
  );
}
