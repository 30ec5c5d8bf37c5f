// The app: who is logged in decides what is shown (the login page, a tenant's pages, an admin's); the path decides
// which page. The live streams (objects, events) run while someone is logged in.
import { useEffect } from 'preact/hooks';
import { startFeed, stopFeed } from './portal/events.js';
import { loadSession, session, type SessionInfo } from './portal/session.js';
import type { Kind } from './portal/types.js';
import { startWatch, stopWatch } from './portal/watch.js';
import { Layout } from './components/Layout.js';
import { Login } from './components/Login.js';
import { useValue } from './lib/observable.js';
import { match, navigate, usePath } from './lib/router.js';
import { Console } from './pages/Console.js';
import { DesktopDetail, DesktopForm, DesktopList } from './pages/Desktops.js';
import { Events } from './pages/Events.js';
import { Fleet } from './pages/Fleet.js';
import { JobDetail, JobForm, JobList } from './pages/Jobs.js';
import { LabDetail, LabList } from './pages/Labs.js';
import { LabForm } from './pages/LabForm.js';
import { Logs } from './pages/Logs.js';
import { RentalDetail, RentalList } from './pages/Rentals.js';
import { RentForm } from './pages/RentForm.js';

/** The kinds a page shows: only those are listed and watched (the fleet of 1,000 Nodes does not wait for Rentals). */
function kindsFor(path: string): Kind[] {
  const first = path.split('/')[1] ?? '';
  if (first === 'fleet') return ['nodes'];
  if (first === 'jobs') return path === '/jobs/new' ? ['nodes', 'playbookruns'] : ['playbookruns'];
  if (first === 'console' || first === 'logs') return [(path.split('/')[2] ?? 'rentals') as Kind];
  if (['rentals', 'desktops', 'labs'].includes(first)) return [first as Kind];
  return [];
}

export function App() {
  const info = useValue(session);
  const path = usePath();
  const kinds = kindsFor(path).filter((k) => !info?.watchable || info.watchable.includes(k)).join(',');
  useEffect(() => {
    void loadSession().catch(() => session.set({ authenticated: false, mode: 'folder', oidc: false }));
  }, []);
  useEffect(() => {
    if (!info?.authenticated) return;
    startFeed();
    return () => stopFeed();
  }, [info?.authenticated, info?.name]);
  useEffect(() => {
    if (!info?.authenticated) return;
    startWatch(kinds ? (kinds.split(',') as Kind[]) : [], info.namespace);
    return () => stopWatch();
  }, [info?.authenticated, info?.name, info?.namespace, kinds]);
  if (!info) return <p class="loading">Loading…</p>;
  if (!info.authenticated) return <Login info={info} />;
  return (
    <Layout info={info}>
      <Page info={info} />
    </Layout>
  );
}

type Route = [string, (p: Record<string, string>, info: SessionInfo) => preact.JSX.Element];

const ROUTES: Route[] = [
  ['/rentals', (_p, i) => <RentalList admin={!!i.admin} />],
  ['/rentals/new', () => <RentForm />],
  ['/rentals/:ns/:name', (p) => <RentalDetail namespace={p.ns as string} name={p.name as string} />],
  ['/desktops', (_p, i) => <DesktopList admin={!!i.admin} />],
  ['/desktops/new', () => <DesktopForm />],
  ['/desktops/:ns/:name', (p) => <DesktopDetail namespace={p.ns as string} name={p.name as string} />],
  ['/labs', (_p, i) => <LabList admin={!!i.admin} />],
  ['/labs/new', () => <LabForm />],
  ['/labs/:ns/:name', (p) => <LabDetail namespace={p.ns as string} name={p.name as string} />],
  ['/fleet', () => <Fleet />],
  ['/jobs', () => <JobList />],
  ['/jobs/new', () => <JobForm />],
  ['/jobs/:ns/:name', (p) => <JobDetail namespace={p.ns as string} name={p.name as string} />],
  ['/events', () => <Events />],
  ['/logs/:plural/:ns/:name', (p) => <Logs plural={p.plural as string} namespace={p.ns as string} name={p.name as string} />],
  ['/console/rentals/:ns/:name', (p) => <Console target={{ kind: 'ssh', plural: 'rentals', namespace: p.ns as string, name: p.name as string }} />],
  ['/console/desktops/:ns/:name', (p) => <Console target={{ kind: 'vnc', plural: 'desktops', namespace: p.ns as string, name: p.name as string }} />],
  ['/console/labs/:ns/:name/:machine/:kind', (p) => (
    <Console target={{ kind: p.kind === 'vnc' ? 'vnc' : 'ssh', plural: 'labs', namespace: p.ns as string, name: p.name as string, machine: p.machine as string }} />
  )],
];

function Page({ info }: { info: SessionInfo }) {
  const path = usePath();
  useEffect(() => {
    if (path === '/' || path === '') navigate(info.admin ? '/fleet' : '/rentals', true);
  }, [path, info.admin]);
  for (const [pattern, render] of ROUTES) {
    const params = match(pattern, path);
    if (params) return render(params, info);
  }
  return path === '/' ? null : <p>There is no page at {path}.</p>;
}
