// Console tickets: short-lived (30 s), single-use, random, bound to the person who asked and the target they may
// open. The browser presents one in the websocket's subprotocol list (never in a URL, which proxies and access
// logs keep); redeeming it removes it. Kept in memory by their SHA-256 only.
import { createHash, randomBytes } from 'node:crypto';
import type { Identity } from '../auth/identity.js';

const TTL_MS = 30_000;
const MAX_TICKETS = 10_000;

/** What a console connects to: an object's SSH or graphical console (a Lab machine, a Rental's node, a Desktop …). */
export interface ConsoleTarget {
  type: 'ssh' | 'vnc';
  kind: string;
  namespace: string;
  name: string;
  machine?: string;
}

export interface Ticket {
  identity: Identity;
  target: ConsoleTarget;
  until: number;
}

export class TicketBook {
  private readonly tickets = new Map<string, Ticket>();

  constructor(private readonly ttlMs = TTL_MS) {}

  issue(identity: Identity, target: ConsoleTarget): string {
    this.prune();
    const ticket = randomBytes(32).toString('base64url');
    this.tickets.set(hash(ticket), { identity, target, until: Date.now() + this.ttlMs });
    return ticket;
  }

  /** The ticket's holder and target, once: a second redeem, or one after its time, gets nothing. */
  redeem(ticket: string): Ticket | undefined {
    const key = hash(ticket);
    const found = this.tickets.get(key);
    this.tickets.delete(key);
    return found && found.until > Date.now() ? found : undefined;
  }

  private prune(): void {
    const now = Date.now();
    if (this.tickets.size < MAX_TICKETS) return;
    for (const [key, t] of this.tickets) if (t.until <= now) this.tickets.delete(key);
    if (this.tickets.size >= MAX_TICKETS) this.tickets.clear();
  }
}

function hash(ticket: string): string {
  return createHash('sha256').update(ticket).digest('hex');
}
