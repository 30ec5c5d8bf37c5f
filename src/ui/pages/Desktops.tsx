// Desktops: the person's own (an admin's: everyone's), with phase, the RDP endpoint to copy, the desktop in the
// browser once it is Ready (noVNC, the console page), and the time left before the TTL or the idle timeout destroys
// it (with a warning when near); extend and delete, confirmed.
import { useState } from 'preact/hooks';
import { useChoices, type Choices, type DesktopClassChoice } from '../portal/choices.js';
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

/** The longest desktop of a class, in whole hours (the schema's longest when the class sets none). */
function hoursOf(c: DesktopClassChoice | undefined, fallback: number): number {
  return Math.max(1, Math.floor((c?.maxTtlSeconds ?? fallback) / 3600));
}

export function DesktopForm() {
  const { choices, error } = useChoices();
  if (error) return <p class="error">{error}</p>;
  if (!choices) return <p>Loading…</p>;
  if (!choices.desktop.offered) return <p>Desktops are not offered to you here.</p>;
  return <DesktopFormFor choices={choices} />;
}

/**
 * "New desktop": a MachineClass of the admin's that offers desktops, one of its images, for how long (within the
 * class's longest), and the AD join and home share where the class has them (never where they are: the admin's).
 */
function DesktopFormFor({ choices }: { choices: Choices }) {
  const classes = choices.desktop.classes;
  const first = classes[0];
  const [className, setClassName] = useState(first?.name ?? '');
  const [image, setImage] = useState(first?.images[0] ?? '');
  const [hours, setHours] = useState(2);
  const [adJoin, setAdJoin] = useState(false);
  const [pamMount, setPamMount] = useState(false);
  const [problem, setProblem] = useState('');
  const chosen = classes.find((c) => c.name === className) ?? first;
  const maxHours = hoursOf(chosen, choices.desktop.maxTtlSeconds);
  const choose = (name: string): void => {
    const next = classes.find((c) => c.name === name);
    setClassName(name);
    setImage(next?.images[0] ?? '');
    setAdJoin(false);
    setPamMount(false);
  };
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setProblem('');
    const spec = { className, image, ttlSeconds: hours * 3600, ...(adJoin ? { adJoin } : {}), ...(pamMount ? { pamMount } : {}) };
    try {
      const created = await api<Resource>('POST', `/api/v1/namespaces/${choices.namespace}/desktops`, { metadata: { generateName: 'desktop' }, spec });
      navigate(`/desktops/${created.metadata.namespace}/${created.metadata.name}`);
    } catch (err) {
      setProblem((err as Error).message);
    }
  };
  return (
    <form class="card" onSubmit={submit}>
      <h1>New desktop</h1>
      <Field id="desktop-class" label="Class" hint="The admin's machine classes that offer desktops" error={problem.includes('className') ? problem : undefined}>
        {(a11y) => (
          <select {...a11y} value={className} onChange={(e) => choose(e.currentTarget.value)}>
            {classes.map((c) => <option key={c.name} value={c.name}>{c.name}{c.default ? ' (default)' : ''}</option>)}
          </select>
        )}
      </Field>
      <Field id="desktop-image" label="Image">
        {(a11y) => (
          <select {...a11y} value={image} onChange={(e) => setImage(e.currentTarget.value)}>
            {chosen?.images.map((i) => <option key={i} value={i}>{i}</option>)}
          </select>
        )}
      </Field>
      <Field id="desktop-hours" label="For how many hours" hint={`At most ${maxHours} h (the class's limit); you can extend it later.`} error={problem.includes('ttlSeconds') ? problem : undefined}>
        {(a11y) => <input {...a11y} type="number" min={1} max={maxHours} value={hours} onInput={(e) => setHours(Number(e.currentTarget.value))} />}
      </Field>
      {chosen?.adJoin && (
        <label class="check"><input id="desktop-ad" type="checkbox" checked={adJoin} onChange={(e) => setAdJoin(e.currentTarget.checked)} /> Join the domain (log in with your directory account)</label>
      )}
      {chosen?.pamMount && (
        <label class="check"><input id="desktop-share" type="checkbox" checked={pamMount} onChange={(e) => setPamMount(e.currentTarget.checked)} /> Mount my home share at login</label>
      )}
      {problem && !problem.includes('ttlSeconds') && !problem.includes('className') && <p class="error" role="alert">{problem}</p>}
      <button type="submit" class="primary">Create desktop</button>
    </form>
  );
}
