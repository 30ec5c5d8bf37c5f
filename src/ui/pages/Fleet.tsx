// The fleet, for admins: a live capacity summary (alive, dead, free, rented), small charts of health and failovers
// over the last hour, and every Node with its health, last probe, allocation and host-key problems. A table of a
// thousand rows is filtered as one types, and only the rows near the screen are in the page (lib/row-window.ts).
import { useEffect, useRef, useState } from 'preact/hooks';
import { useRowWindow } from '../lib/row-window.js';
import { api } from '../portal/http.js';
import { useObjects } from '../portal/objects.js';
import type { NodeSpec, NodeStatus, Resource } from '../portal/types.js';
import { Phase } from '../components/Status.js';
import { Sparkline } from '../components/Sparkline.js';
import { Empty } from '../components/Table.js';
import { ago } from '../lib/time.js';

type Node = Resource<NodeSpec, NodeStatus>;

interface Sample { at: string; nodes: Record<string, number>; failovers: Record<string, number> }

export function capacityOf(nodes: Node[]): { alive: number; dead: number; unknown: number; rented: number; free: number } {
  const c = { alive: 0, dead: 0, unknown: 0, rented: 0, free: 0 };
  for (const n of nodes) {
    const health = n.status?.health ?? 'Unknown';
    if (health === 'Alive') c.alive++;
    else if (health === 'Dead') c.dead++;
    else c.unknown++;
    if (n.status?.allocation?.rental) c.rented++;
    else if (health === 'Alive' && !n.spec.unschedulable && !n.status?.cleanup?.length) c.free++;
  }
  return c;
}

function hostKeyProblem(n: Node): string | undefined {
  const c = n.status?.conditions?.find((x) => x.reason === 'HostKeyChanged');
  return c ? c.message ?? 'host key changed' : undefined;
}

export function Fleet() {
  const { items, synced } = useObjects<Node>('nodes');
  const [filter, setFilter] = useState('');
  const capacity = capacityOf(items);
  const shown = filter ? items.filter((n) => `${n.metadata.name} ${n.status?.health ?? ''} ${n.status?.allocation?.rental ?? ''}`.toLowerCase().includes(filter.toLowerCase())) : items;
  return (
    <>
      <h1>Fleet</h1>
      <section aria-label="Capacity" class="capacity">
        {(['alive', 'dead', 'unknown', 'rented', 'free'] as const).map((k) => (
          <div key={k} class={`stat ${k}`} data-stat={k}><span class="value">{capacity[k]}</span> <span class="label">{k}</span></div>
        ))}
      </section>
      <History />
      <div class="field inline">
        <label for="node-filter">Filter nodes</label>
        <input id="node-filter" type="search" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} placeholder="name, health, rental" />
      </div>
      {items.length === 0 ? <Empty synced={synced}>No nodes are declared.</Empty> : <NodeTable nodes={shown} total={items.length} />}
    </>
  );
}

const ROW_PX = 38;

function NodeTable({ nodes, total }: { nodes: Node[]; total: number }) {
  const body = useRef<HTMLTableSectionElement>(null);
  const { first, last, rowPx } = useRowWindow(body, nodes.length, ROW_PX);
  return (
    <div class="table-wrap">
      <table class="fleet" aria-rowcount={nodes.length + 1}>
        <caption class="sr-only">Nodes ({nodes.length} of {total})</caption>
        <thead><tr aria-rowindex={1}><th scope="col">Node</th><th scope="col">Health</th><th scope="col">Last probe</th><th scope="col">Address</th><th scope="col">Allocation</th><th scope="col">Problems</th></tr></thead>
        <tbody ref={body}>
          {first > 0 && <tr aria-hidden="true" class="spacer" style={{ height: `${first * rowPx}px` }} />}
          {nodes.slice(first, last).map((n, i) => (
            <tr key={n.metadata.uid} data-node={n.metadata.name} aria-rowindex={first + i + 2}>
              <th scope="row">{n.metadata.name}</th>
              <td class="health"><Phase phase={n.status?.health ?? 'Unknown'} /></td>
              <td>{ago(n.status?.lastProbeTime)}</td>
              <td>{n.spec.address}:{n.spec.port}</td>
              <td>{n.status?.allocation?.rental ?? (n.spec.unschedulable ? 'cordoned' : 'free')}</td>
              <td class="problem">{hostKeyProblem(n) ?? (n.status?.health === 'Dead' ? n.status?.lastError ?? '' : '')}</td>
            </tr>
          ))}
          {last < nodes.length && <tr aria-hidden="true" class="spacer" style={{ height: `${(nodes.length - last) * rowPx}px` }} />}
        </tbody>
      </table>
    </div>
  );
}

function History() {
  const [samples, setSamples] = useState<Sample[]>([]);
  useEffect(() => {
    const load = (): void => void api<{ samples: Sample[] }>('GET', '/api/v1/history').then((h) => setSamples(h.samples), () => undefined);
    load();
    const t = setInterval(load, 10_000);
    return () => clearInterval(t);
  }, []);
  if (samples.length === 0) return null;
  const of = (pick: (s: Sample) => number): number[] => samples.map(pick);
  return (
    <section class="charts" aria-label="The last hour">
      <Sparkline title="Node health" series={[
        { label: 'Alive', values: of((s) => s.nodes.Alive ?? 0), tone: 'good' },
        { label: 'Dead', values: of((s) => s.nodes.Dead ?? 0), tone: 'bad' },
      ]} />
      <Sparkline title="Rental failovers" series={[
        { label: 'Moved', values: of((s) => s.failovers.success ?? 0), tone: 'good' },
        { label: 'No node free', values: of((s) => s.failovers.no_healthy_node ?? 0), tone: 'bad' },
      ]} />
    </section>
  );
}
