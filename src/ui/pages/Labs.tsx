// Labs: the person's own (an admin's: everyone's), each with its phase, machines (state, address, a graphical
// console), power and restart, and delete — each confirmed.
import { actions, useObject, useObjects } from '../portal/objects.js';
import { ownerOf, type LabSpec, type LabStatus, type Resource } from '../portal/types.js';
import { ConfirmButton } from '../components/ConfirmButton.js';
import { CopyButton } from '../components/CopyButton.js';
import { Link } from '../components/Link.js';
import { Conditions, Phase } from '../components/Status.js';
import { Empty, NotFound, PageHead } from '../components/Table.js';
import { navigate } from '../lib/router.js';

type Lab = Resource<LabSpec, LabStatus>;

export function LabList({ admin }: { admin: boolean }) {
  const { items, synced } = useObjects<Lab>('labs');
  return (
    <>
      <PageHead title={admin ? 'Labs' : 'My labs'} action={{ href: '/labs/new', text: 'New lab' }} />
      {items.length === 0 ? (
        <Empty synced={synced}>No labs. A lab is a set of virtual machines, configured for you, that you can power and reach.</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Labs</caption>
            <thead><tr><th scope="col">Name</th>{admin && <th scope="col">Owner</th>}<th scope="col">Phase</th><th scope="col">Power</th><th scope="col">Machines</th></tr></thead>
            <tbody>
              {items.map((l) => (
                <tr key={l.metadata.uid}>
                  <th scope="row"><Link href={`/labs/${l.metadata.namespace}/${l.metadata.name}`}>{l.metadata.name}</Link></th>
                  {admin && <td>{ownerOf(l) || '—'}</td>}
                  <td><Phase phase={l.status?.phase} /></td>
                  <td>{l.spec.powerState ?? 'Running'}</td>
                  <td>{l.status?.machines?.length ?? 0}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

export function LabDetail({ namespace, name }: { namespace: string; name: string }) {
  const { obj: lab, synced } = useObject<Lab>('labs', namespace, name);
  if (!lab) return synced ? <NotFound what={`Lab ${name}`} back="/labs" /> : <p>Loading…</p>;
  const running = (lab.spec.powerState ?? 'Running') === 'Running';
  return (
    <>
      <h1>Lab {name} <Phase phase={lab.status?.phase} /></h1>
      <h2>Machines</h2>
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Machines of {name}</caption>
          <thead><tr><th scope="col">Machine</th><th scope="col">State</th><th scope="col">Address</th><th scope="col">Console</th></tr></thead>
          <tbody>
            {(lab.status?.machines ?? []).map((m) => (
              <tr key={m.name}>
                <th scope="row">{m.name}</th>
                <td>{m.state ?? '—'}</td>
                <td>{m.address ? <CopyButton value={m.address} label={`address of ${m.name}`} /> : '—'}</td>
                <td>
                  {m.vncPort !== undefined ? <Link class="button small" href={`/console/labs/${namespace}/${name}/${m.name}/vnc`}>Screen</Link> : null}{' '}
                  {m.address ? <Link class="button small" href={`/console/labs/${namespace}/${name}/${m.name}/ssh`}>Terminal</Link> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Conditions</h2>
      <Conditions conditions={lab.status?.conditions} />
      <div class="actions">
        <Link class="button" href={`/logs/labs/${namespace}/${name}`}>Runs and logs</Link>
        {running ? (
          <ConfirmButton label="Power off" question={`Power off every machine of ${name}? Unsaved work in them is lost.`} confirm="Power off" onConfirm={async () => void (await actions.power(lab, 'Stopped'))} />
        ) : (
          <ConfirmButton label="Power on" question={`Power on the machines of ${name}?`} confirm="Power on" onConfirm={async () => void (await actions.power(lab, 'Running'))} />
        )}
        <ConfirmButton label="Restart" question={`Restart every machine of ${name}?`} confirm="Restart" onConfirm={async () => void (await actions.restart(lab))} />
        <ConfirmButton label="Delete" danger question={`Delete lab ${name}? Its machines and their disks are destroyed.`} confirm="Delete it" onConfirm={async () => {
          await actions.remove('labs', lab);
          navigate('/labs');
        }} />
      </div>
    </>
  );
}
