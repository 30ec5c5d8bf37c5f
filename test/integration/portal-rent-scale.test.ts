// Seed 004 under load: 40 tenants send POST /api/rent at once to 20 real sshd nodes. Exactly 20 get a node (200,
// with a login that works), 20 get 503 with Retry-After, no node is booked twice, and no refused Rental is left.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeResource, RentalResource } from '../../src/api/types.js';
import { waitFor } from '../harness/cluster.js';
import { PortalBed } from '../harness/portal-bed.js';
import { sshLogin } from '../harness/tenant.js';

const NODES = 20;
const TENANTS = 40;

describe('40 concurrent rents on 20 nodes (real sshd and Ansible)', () => {
  let bed: PortalBed;
  let tokens: string[];

  beforeAll(async () => {
    bed = await PortalBed.create({ workers: NODES, basePort: 24100 });
    tokens = [];
    for (let i = 0; i < TENANTS; i++) tokens.push(await bed.token(`tenant${String(i).padStart(2, '0')}`));
    await waitFor(`${NODES} Alive nodes`, () => bed.list<NodeResource>('Node').filter((n) => n.status?.health === 'Alive').length === NODES, 120_000);
  }, 300_000);

  afterAll(async () => {
    await bed?.destroy();
  });

  it('gives exactly 20 a node and 20 a 503, never one node twice, and leaves no refused Rental', async () => {
    const answers = await Promise.all(tokens.map((t) => bed.api<{ name: string; node: string; host: string; port: number; user: string }>(t, 'POST', '/api/rent')));
    const granted = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 503);
    expect(granted, answers.filter((a) => a.status !== 200 && a.status !== 503).map((a) => a.text).join('\n')).toHaveLength(NODES);
    expect(refused).toHaveLength(TENANTS - NODES);
    for (const answer of refused) expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);

    const nodes = granted.map((a) => a.body.node);
    expect(new Set(nodes).size).toBe(NODES);
    const allocations = bed.list<NodeResource>('Node').map((n) => n.status?.allocation?.rental).filter(Boolean);
    expect(new Set(allocations).size).toBe(NODES);
    expect(new Set(granted.map((a) => a.body.port)).size).toBe(NODES); // one sshd per node here
    const logins = await Promise.all(granted.slice(0, 3).map((a) => sshLogin(bed.tenantKey.privateKeyPath, a.body.host, a.body.port, a.body.user)));
    for (const login of logins) expect(login.ok, login.output).toBe(true);

    await waitFor('only the granted rentals exist', () => bed.list('Rental').length === NODES, 30_000);
    const owners = new Set(bed.list<RentalResource>('Rental').map((r) => r.metadata.annotations?.['orion.lab/owner']));
    expect(owners.size).toBe(NODES);
    expect(bed.list<RentalResource>('Rental').every((r) => r.status?.phase === 'Ready')).toBe(true);
  }, 600_000);
});
