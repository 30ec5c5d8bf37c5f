// Terminals run in the console process (src/server/console/console-host.ts): a keystroke's echo never waits for
// Orion's own event loop. A tenant's terminal on a real sshd, opened through the portal's ticket and websocket by a
// client in a process of its own, keeps echoing while this process — Orion's — is blocked.
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeResource, RentalResource } from '../../src/api/types.js';
import { packageRoot } from '../../src/base/package-root.js';
import { waitFor } from '../harness/cluster.js';
import { PortalBed } from '../harness/portal-bed.js';

const NS = '/api/v1/namespaces/default';
const CLIENT = join(packageRoot(), 'test', 'harness', 'terminal-client.ts');

interface Line {
  at: number;
  event: 'connected' | 'sent' | 'received' | 'closed' | 'error';
  text?: string;
}

describe('a terminal through the portal (real sshd)', () => {
  let bed: PortalBed;
  let alice: string;

  beforeAll(async () => {
    bed = await PortalBed.create({ workers: 1, basePort: 24300 });
    alice = await bed.token('alice');
    await waitFor('the node Alive', () => bed.list<NodeResource>('Node').some((n) => n.status?.health === 'Alive'), 60_000);
  }, 120_000);

  afterAll(async () => {
    await bed?.destroy();
  });

  it('keeps echoing keystrokes while Orion\'s own event loop is blocked', async () => {
    const rent = await bed.api<{ name: string }>(alice, 'POST', '/api/rent');
    expect(rent.status, rent.text).toBe(200);
    const issued = await bed.api<{ ticket: string; path: string }>(alice, 'POST', `${NS}/rentals/${rent.body.name}/console`);
    expect(issued.status, issued.text).toBe(200);

    const lines: Line[] = [];
    let pending = '';
    const client = execa('node', ['--import', 'tsx', CLIENT, bed.url.replace(/^http/, 'ws') + issued.body.path, issued.body.ticket, bed.url, '--keys', '60', '--every', '50'], {
      cwd: packageRoot(),
      timeout: 60_000,
    });
    client.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const complete = pending.split('\n');
      pending = complete.pop() ?? '';
      for (const text of complete) if (text) lines.push(JSON.parse(text) as Line);
    });
    await waitFor('the terminal connected', () => lines.some((l) => l.event === 'connected'), 30_000);
    await waitFor('the first keys typed', () => lines.filter((l) => l.event === 'sent').length >= 5, 10_000);

    // Orion's event loop (this process's) does nothing at all for 1.5 s: no timer, no socket, no reconcile.
    const blockedFrom = Date.now();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
    const blockedTo = Date.now();
    await client;

    const received = lines.filter((l) => l.event === 'received');
    const typed = lines.filter((l) => l.event === 'sent').map((l) => l.text).join('');
    expect(typed).toHaveLength(60);
    expect(received.map((l) => l.text).join('')).toContain(typed); // every key echoed, in order
    // Keys typed while Orion was blocked came back while it was still blocked.
    const echoedMeanwhile = received.filter((l) => l.at > blockedFrom + 100 && l.at < blockedTo && /[a-j]/.test(l.text ?? ''));
    const when = received.map((l) => l.at - blockedFrom).join(', ');
    expect(echoedMeanwhile.length, `echoes at these ms from the block's start (it lasted ${blockedTo - blockedFrom} ms): ${when}`).toBeGreaterThanOrEqual(5);

    const rental = bed.list<RentalResource>('Rental').find((r) => r.metadata.name === rent.body.name) as RentalResource;
    expect(bed.orion.store.eventsOf(rental).map((e) => e.reason)).toContain('ConsoleOpened');
    expect((await bed.api(alice, 'DELETE', `/api/rent/${rent.body.name}`)).status).toBe(202);
  }, 120_000);
});
