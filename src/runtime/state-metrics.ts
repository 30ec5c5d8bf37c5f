// State gauges computed from the store when Prometheus scrapes, so they can never drift from it. Kinds without a
// status (the admin's classes) have no phase to count.
import { KINDS } from '../api/kinds.js';
import type { Resource } from '../api/types.js';
import type { Store } from '../store/store.js';
import { provideSamples, type GaugeSample } from '../telemetry/metrics.js';

export function registerStateMetrics(store: Store, invalidCount: () => number): void {
  provideSamples('orion_resources', () =>
    KINDS.filter((def) => def.statusSchema).flatMap((def) => countBy(store.list(def.kind), (o) => phaseOf(o), (phase) => ({ kind: def.kind, phase }))),
  );
  provideSamples('orion_nodes', () => countBy(store.list('Node'), (o) => healthOf(o), (health) => ({ health })));
  provideSamples('orion_rentals', () => countBy(store.list('Rental'), (o) => phaseOf(o), (phase) => ({ phase })));
  provideSamples('orion_invalid_manifests', () => [{ labels: {}, value: invalidCount() }]);
}

function phaseOf(obj: Resource): string {
  return (obj.status as { phase?: string } | undefined)?.phase ?? 'Pending';
}

function healthOf(obj: Resource): string {
  return (obj.status as { health?: string } | undefined)?.health ?? 'Unknown';
}

function countBy(
  objects: Resource[],
  valueOf: (obj: Resource) => string,
  labelsOf: (value: string) => Record<string, string>,
): GaugeSample[] {
  const counts = new Map<string, number>();
  for (const obj of objects) counts.set(valueOf(obj), (counts.get(valueOf(obj)) ?? 0) + 1);
  return [...counts].map(([value, count]) => ({ labels: labelsOf(value), value: count }));
}
