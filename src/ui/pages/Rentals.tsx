// Rentals: the person's own (an admin's: everyone's, with their owners), each with its phase, node, connection and
// time left; and one rental in detail, with its conditions, connection details to copy, and its actions.
import { actions, useObject, useObjects } from '../portal/objects.js';
import { ownerOf, type Resource, type RentalSpec, type RentalStatus } from '../portal/types.js';
import { ConfirmButton } from '../components/ConfirmButton.js';
import { CopyButton } from '../components/CopyButton.js';
import { Link } from '../components/Link.js';
import { Conditions, Phase } from '../components/Status.js';
import { Empty, NotFound, PageHead } from '../components/Table.js';
import { TimeLeft } from '../components/TimeLeft.js';
import { navigate } from '../lib/router.js';

type Rental = Resource<RentalSpec, RentalStatus>;

function expiry(r: Rental): number | undefined {
  return r.spec.ttlSeconds === undefined ? undefined : Date.parse(r.metadata.creationTimestamp) + r.spec.ttlSeconds * 1000;
}

export function sshCommand(r: Rental): string | undefined {
  const c = r.status?.connection;
  return c ? `ssh -p ${c.port} ${c.user}@${c.host}` : undefined;
}

export function RentalList({ admin }: { admin: boolean }) {
  const { items, synced } = useObjects<Rental>('rentals');
  return (
    <>
      <PageHead title={admin ? 'Rentals' : 'My rentals'} action={{ href: '/rentals/new', text: 'Rent a machine' }} />
      {items.length === 0 ? (
        <Empty synced={synced}>No rentals yet. Rent a machine to get a login on one of the lab's nodes.</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">{admin ? 'All rentals' : 'Your rentals'}</caption>
            <thead>
              <tr><th scope="col">Name</th>{admin && <th scope="col">Owner</th>}<th scope="col">Phase</th><th scope="col">Node</th><th scope="col">Connect</th><th scope="col">Time left</th></tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={r.metadata.uid} data-name={r.metadata.name}>
                  <th scope="row"><Link href={`/rentals/${r.metadata.namespace}/${r.metadata.name}`}>{r.metadata.name}</Link></th>
                  {admin && <td>{ownerOf(r) || '—'}</td>}
                  <td><Phase phase={r.status?.phase} /></td>
                  <td class="node">{r.status?.nodeName ?? '—'}</td>
                  <td>{sshCommand(r) ? <code>{sshCommand(r)}</code> : '—'}</td>
                  <td><TimeLeft until={expiry(r)} what="release" /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

export function RentalDetail({ namespace, name }: { namespace: string; name: string }) {
  const { obj: r, synced } = useObject<Rental>('rentals', namespace, name);
  if (!r) return synced ? <NotFound what={`Rental ${name}`} back="/rentals" /> : <p>Loading…</p>;
  const c = r.status?.connection;
  const ready = r.status?.phase === 'Ready';
  return (
    <>
      <h1>Rental {r.metadata.name} <Phase phase={r.status?.phase} /></h1>
      <dl class="facts">
        <dt>Node</dt><dd class="node">{r.status?.nodeName ?? 'not placed yet'}</dd>
        <dt>Login</dt><dd>{r.spec.user}</dd>
        <dt>Time left</dt><dd><TimeLeft until={expiry(r)} what="the rental is released" /></dd>
        {c && (
          <>
            <dt>Host</dt><dd><CopyButton value={c.host} label="host" /></dd>
            <dt>Port</dt><dd><CopyButton value={String(c.port)} label="port" /></dd>
            <dt>SSH</dt><dd><CopyButton value={sshCommand(r) as string} label="SSH command" /></dd>
          </>
        )}
      </dl>
      <h2>Conditions</h2>
      <Conditions conditions={r.status?.conditions} />
      <div class="actions">
        {ready && <Link class="button primary" href={`/console/rentals/${namespace}/${name}`}>Open terminal</Link>}
        <Link class="button" href={`/logs/rentals/${namespace}/${name}`}>Runs and logs</Link>
        {r.spec.ttlSeconds !== undefined && (
          <ConfirmButton label="Extend by 1 hour" question={`Keep ${name} one hour longer?`} confirm="Extend" onConfirm={async () => void (await actions.extend('rentals', r, 3600))} />
        )}
        <ConfirmButton
          label="Release"
          danger
          question={`Release ${name}? Your login on ${r.status?.nodeName ?? 'its node'} and everything in its home are deleted.`}
          confirm="Release it"
          onConfirm={async () => {
            await actions.remove('rentals', r);
            navigate('/rentals');
          }}
        />
      </div>
    </>
  );
}
