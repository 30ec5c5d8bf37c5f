// Pieces shared by the lists: an empty state, a not-found state, and the page heading with its main action.
import type { ComponentChildren } from 'preact';
import { Link } from './Link.js';

export function PageHead({ title, action }: { title: string; action?: { href: string; text: string } }) {
  return (
    <div class="page-head">
      <h1>{title}</h1>
      {action && <Link href={action.href} class="button primary">{action.text}</Link>}
    </div>
  );
}

export function Empty({ synced, children }: { synced: boolean; children: ComponentChildren }) {
  return <p class="empty">{synced ? children : 'Loading…'}</p>;
}

export function NotFound({ what, back }: { what: string; back: string }) {
  return (
    <>
      <h1>Not found</h1>
      <p>{what} does not exist, or is not yours to see.</p>
      <Link href={back}>Back</Link>
    </>
  );
}
