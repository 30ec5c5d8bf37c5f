// The frame of every page: a skip link, the header with the places this person may go, who is logged in and the
// logout button, the notifications, and the page itself in <main>.
import type { ComponentChildren } from 'preact';
import { logout, type SessionInfo } from '../portal/session.js';
import { watched } from '../portal/watch.js';
import { useValue } from '../lib/observable.js';
import { navigate, usePath } from '../lib/router.js';
import { Link } from './Link.js';
import { Notifications } from './Notifications.js';

const TENANT_LINKS = [
  ['/rentals', 'My rentals'],
  ['/desktops', 'My desktops'],
  ['/labs', 'My labs'],
] as const;

const ADMIN_LINKS = [
  ['/fleet', 'Fleet'],
  ['/rentals', 'Rentals'],
  ['/desktops', 'Desktops'],
  ['/labs', 'Labs'],
  ['/jobs', 'Jobs'],
  ['/events', 'Events'],
] as const;

export function Layout({ info, children }: { info: SessionInfo; children: ComponentChildren }) {
  const path = usePath();
  const { connected, synced } = useValue(watched);
  const links = info.admin ? ADMIN_LINKS : TENANT_LINKS;
  return (
    <>
      <a class="skip" href="#main">Skip to the page</a>
      <header class="top">
        <span class="brand">Orion</span>
        <nav aria-label="Main">
          <ul>
            {links.map(([href, text]) => (
              <li key={href}>
                <Link href={href} current={path === href || path.startsWith(`${href}/`)}>{text}</Link>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          <span class={`dot ${connected ? 'good' : 'bad'}`} title={connected ? 'live' : 'reconnecting'} aria-hidden="true" />
          <span class="sr-only">{connected ? 'Live updates on' : 'Live updates reconnecting'}</span>
          {info.name}
          {info.admin ? ' (admin)' : ''}
          <button
            type="button"
            class="small"
            onClick={async () => {
              await logout();
              navigate('/', true);
            }}
          >
            Log out
          </button>
        </span>
      </header>
      <Notifications />
      <main id="main" tabIndex={-1} aria-busy={!synced}>
        {children}
      </main>
    </>
  );
}
